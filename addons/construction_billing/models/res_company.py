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

    construction_wip_asset_account_id = fields.Many2one(
        "account.account",
        string="Costs in Excess of Billings Account",
        check_company=True,
        help="Current asset booked by the work in progress adjustment for projects"
        " billed behind their earned revenue (under billing).",
    )
    construction_wip_liability_account_id = fields.Many2one(
        "account.account",
        string="Billings in Excess of Costs Account",
        check_company=True,
        help="Current liability booked by the work in progress adjustment for"
        " projects billed ahead of their earned revenue (over billing).",
    )

    def _construction_retention_receivable_account(self):
        """Return the company's Retention Receivable account, creating it when
        missing (current asset, reconcilable)."""
        return self._construction_account(
            "construction_retention_receivable_account_id",
            _("Retention Receivable"),
            "asset_current",
            "1215",
            reconcile=True,
        )

    def _construction_wip_accounts(self):
        """(under billing asset, over billing liability) accounts of the work in
        progress adjustment, created when missing."""
        return (
            self._construction_account(
                "construction_wip_asset_account_id",
                _("Costs and Estimated Earnings in Excess of Billings"),
                "asset_current",
                "1216",
            ),
            self._construction_account(
                "construction_wip_liability_account_id",
                _("Billings in Excess of Costs and Estimated Earnings"),
                "liability_current",
                "2216",
            ),
        )

    def _construction_account(self, field, name, account_type, code, reconcile=False):
        """The company's account in ``field``; when unset, one found by name and
        type (e.g. the setting was cleared) or created from ``code`` on."""
        self.ensure_one()
        if self[field]:
            return self[field]
        Account = self.env["account.account"].with_company(self)
        account = Account.search(
            [
                *Account._check_company_domain(self),
                ("name", "=", name),
                ("account_type", "=", account_type),
                ("reconcile", "=", reconcile),
            ],
            limit=1,
        )
        if not account:
            account = Account.create(
                {
                    "name": name,
                    "code": Account._search_new_account_code(code, cache=set()),
                    "account_type": account_type,
                    "reconcile": reconcile,
                    "company_ids": [fields.Command.set(self.ids)],
                }
            )
        self[field] = account
        return account
