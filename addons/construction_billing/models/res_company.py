from odoo import _, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    construction_retention_receivable_account_id = fields.Many2one(
        "account.account",
        string="Retention Receivable Account",
        check_company=True,
        domain="[('reconcile', '=', True),"
        " ('account_type', 'not in', ('asset_receivable', 'liability_payable'))]",
        help="Balance-sheet account holding the retainage withheld on customer"
        " pay applications until it is released. It must allow reconciliation and"
        " must not be a receivable account, so the customer's receivable shows only"
        " what is due now.",
    )

    def _construction_retention_receivable_account(self):
        """Return the company's Retention Receivable account, creating it when
        missing (current asset, reconcilable)."""
        self.ensure_one()
        if self.construction_retention_receivable_account_id:
            return self.construction_retention_receivable_account_id
        Account = self.env["account.account"].with_company(self)
        # Look for one created before (e.g. the company setting was cleared).
        account = Account.search(
            [
                *Account._check_company_domain(self),
                ("name", "=", "Retention Receivable"),
                ("account_type", "=", "asset_current"),
                ("reconcile", "=", True),
            ],
            limit=1,
        )
        if not account:
            account = Account.create(
                {
                    "name": _("Retention Receivable"),
                    "code": Account._search_new_account_code("1215", cache=set()),
                    "account_type": "asset_current",
                    "reconcile": True,
                    "company_ids": [fields.Command.set(self.ids)],
                }
            )
        self.construction_retention_receivable_account_id = account
        return account
