from odoo import fields, models


class ConstructionMatchAcceptWizard(models.TransientModel):
    _name = "construction.match.accept.wizard"
    _description = "Accept a Three-Way Match Exception"

    move_ids = fields.Many2many("account.move", string="Bills", required=True)
    reason = fields.Text(required=True)

    def action_accept(self):
        self.ensure_one()
        self.move_ids._construction_accept_match(self.reason)
        return {"type": "ir.actions.act_window_close"}
