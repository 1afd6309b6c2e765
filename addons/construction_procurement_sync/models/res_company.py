from odoo import _, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    construction_match_qty_tolerance = fields.Float(
        string="Match Quantity Tolerance (%)",
        digits=(5, 2),
        default=0.0,
        help="Billed quantity may exceed the received quantity by this percentage "
        "before the vendor bill is a three-way match exception.",
    )
    construction_match_price_tolerance = fields.Float(
        string="Match Price Tolerance (%)",
        digits=(5, 2),
        default=0.0,
        help="Billed unit price may differ from the ordered unit price by this "
        "percentage before the vendor bill is a three-way match exception.",
    )
    construction_receipt_tolerance = fields.Float(
        string="Over-Receipt Tolerance (%)",
        digits=(5, 2),
        default=0.0,
        help="Receipts of a construction purchase order may exceed the ordered "
        "quantity by this percentage; more is refused.",
    )
    construction_retention_payable_account_id = fields.Many2one(
        comodel_name="account.account",
        string="Retention Payable Account",
        check_company=True,
        help="Liability account crediting the retainage withheld on subcontract "
        "bills and debited when it is released.",
    )

    construction_compliance_policy = fields.Selection(
        selection=[("block", "Block approval"), ("warn", "Warn")],
        string="Subcontract Compliance Policy",
        default="block",
        required=True,
        help="A missing or expired required compliance document blocks the "
        "approval of a subcontractor pay application, or only adds a warning.",
    )
    construction_lien_waiver_policy = fields.Selection(
        selection=[("none", "Not required"), ("warn", "Warn"), ("block", "Block")],
        string="Lien Waiver Policy",
        default="none",
        required=True,
        help="Approving a subcontractor pay application needs a received "
        "unconditional waiver matching the previous approved application (amount "
        "and through date): block, warn, or not required.",
    )
    construction_subcontract_check_stage = fields.Selection(
        selection=[
            ("approval", "At approval"),
            ("payment", "At payment"),
            ("both", "At approval and at payment"),
        ],
        string="Check Compliance and Lien Waivers",
        default="approval",
        required=True,
        help="When the compliance and lien waiver policies apply to subcontractor "
        "pay applications: at approval (compliance, and the previous "
        "application's unconditional waiver), at payment of the bill (compliance "
        "on the payment day, and a waiver matching this payment), or both.",
    )
    construction_compliance_warning_days = fields.Integer(
        string="Compliance Expiry Warning (days)",
        default=30,
        help="Compliance documents expiring within this many days are 'expiring' "
        "and raise an activity.",
    )

    _sql_constraints = [
        (
            "construction_tolerances_positive",
            "CHECK(construction_match_qty_tolerance >= 0 "
            "AND construction_match_price_tolerance >= 0 "
            "AND construction_receipt_tolerance >= 0)",
            "Match and receipt tolerances cannot be negative.",
        ),
    ]

    def _construction_retention_payable_account(self):
        """The Retention Payable account, created on first use if none is set."""
        self.ensure_one()
        if self.construction_retention_payable_account_id:
            return self.construction_retention_payable_account_id
        Account = self.env["account.account"].with_company(self)
        code_number = 219500
        while Account.search_count(
            [("code", "=", str(code_number)), ("company_ids", "in", self.ids)], limit=1
        ):
            code_number += 1
        # sudo: a purchase user posting a subcontract bill may not create accounts;
        # the account created is the company's configured liability, nothing more.
        account = (
            Account.sudo().create(
                {
                    "name": _("Retention Payable"),
                    "code": str(code_number),
                    "account_type": "liability_current",
                    "company_ids": [(6, 0, self.ids)],
                }
            )
        ).sudo(False)
        self.sudo().construction_retention_payable_account_id = account
        return account
