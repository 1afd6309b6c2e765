from odoo import api, fields, models

CONSTRUCTION_ROLES = [("cost_code", "Cost Codes"), ("cost_type", "Cost Types")]


class AccountAnalyticPlan(models.Model):
    _inherit = "account.analytic.plan"

    construction_role = fields.Selection(
        selection=CONSTRUCTION_ROLES,
        copy=False,
        help="Marks the root plans whose accounts are the construction cost codes "
        "(sub-plans are CSI divisions) and the cost types.",
    )

    _sql_constraints = [
        (
            "construction_role_unique",
            "UNIQUE(construction_role)",
            "Only one analytic plan can hold the cost codes, and one the cost types.",
        ),
    ]

    @api.model
    def _construction_plan(self, role):
        """The root plan of a construction dimension ("cost_code" or "cost_type")."""
        return self.sudo().search([("construction_role", "=", role)], limit=1)

    @api.model
    def _construction_column(self, role):
        """Name of the account.analytic.line column that carries this dimension."""
        plan = self._construction_plan(role)
        return plan._column_name() if plan else False
