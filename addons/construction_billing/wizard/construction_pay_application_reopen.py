from odoo import fields, models


class ConstructionPayApplicationReopen(models.TransientModel):
    _name = "construction.pay.application.reopen"
    _description = "Reopen a Certified Pay Application"

    application_id = fields.Many2one(
        "construction.pay.application", required=True, ondelete="cascade"
    )
    invoice_id = fields.Many2one(related="application_id.invoice_id")
    reason = fields.Text(
        required=True, help="Kept on the application and in its chatter."
    )

    def action_reopen(self):
        self.ensure_one()
        self.application_id._reopen(self.reason)
        return {"type": "ir.actions.act_window_close"}
