from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

COST_TYPE_KINDS = [
    ("labor", "Labor"),
    ("material", "Material"),
    ("equipment", "Equipment"),
    ("subcontract", "Subcontract"),
    ("other", "Other"),
]


class AccountAnalyticAccount(models.Model):
    """Cost codes and cost types are analytic accounts of dedicated plans.

    So a purchase line, a vendor bill line or a timesheet carries project, cost code
    and cost type at once in its analytic distribution, and actual cost is read from
    posted analytic lines like any other analytic report.
    """

    _inherit = "account.analytic.account"

    construction_role = fields.Selection(
        related="root_plan_id.construction_role",
        store=True,
        index=True,
    )
    cost_type_kind = fields.Selection(
        selection=COST_TYPE_KINDS,
        help="For cost-type accounts: which of the standard cost types this is.",
    )

    @api.constrains("construction_role", "code", "company_id", "active")
    def _check_cost_code(self):
        cost_codes = self.filtered(lambda a: a.construction_role == "cost_code")
        for account in cost_codes:
            if not account.code:
                raise ValidationError(
                    _("Cost code %(name)s needs a code.", name=account.name)
                )
            if not account.company_id:
                raise ValidationError(
                    _(
                        "Cost code %(code)s must belong to a company.",
                        code=account.code,
                    )
                )
        if not cost_codes:
            return
        duplicates = self.with_context(active_test=False)._read_group(
            [
                ("construction_role", "=", "cost_code"),
                ("company_id", "in", cost_codes.company_id.ids),
                ("code", "in", cost_codes.mapped("code")),
            ],
            groupby=["company_id", "code"],
            aggregates=["__count"],
            having=[("__count", ">", 1)],
        )
        if duplicates:
            company, code, _count = duplicates[0]
            raise ValidationError(
                _(
                    "Cost code %(code)s already exists in %(company)s.",
                    code=code,
                    company=company.name,
                )
            )
