from odoo import api, fields, models


class ConstructionRetainageReleaseWizard(models.TransientModel):
    _name = "construction.retainage.release.wizard"
    _description = "Release Subcontract Retainage"

    order_id = fields.Many2one("purchase.order", required=True, ondelete="cascade")
    currency_id = fields.Many2one(related="order_id.company_currency_id")
    retainage_balance = fields.Monetary(
        related="order_id.construction_retainage_balance"
    )
    amount = fields.Monetary(
        compute="_compute_amount",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    date = fields.Date(required=True, default=fields.Date.context_today)

    @api.depends("order_id")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = wizard.order_id.construction_retainage_balance

    def action_release(self):
        self.ensure_one()
        bill = self.order_id._construction_release_retainage(self.amount, self.date)
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": bill.id,
            "view_mode": "form",
        }
