from odoo import _, fields, models
from odoo.exceptions import UserError


class ConstructionBudgetOverrideWizard(models.TransientModel):
    _name = "construction.budget.override.wizard"
    _description = "Override a Purchase Budget Overrun"

    order_id = fields.Many2one("purchase.order", required=True, ondelete="cascade")
    overrun_text = fields.Text(string="Overruns", readonly=True)
    reason = fields.Text()

    def action_confirm(self):
        self.ensure_one()
        if not (self.reason or "").strip():
            raise UserError(_("Give the reason for confirming over budget."))
        return self.order_id.with_context(
            construction_budget_override_reason=self.reason
        ).button_confirm()
