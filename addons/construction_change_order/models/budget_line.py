from odoo import api, fields, models


class ConstructionBudgetLine(models.Model):
    _inherit = "construction.budget.line"

    change_order_line_ids = fields.One2many(
        comodel_name="construction.change.order.line",
        inverse_name="budget_line_id",
        string="Change Order Lines",
    )

    @api.depends(
        "change_order_line_ids.cost_amount",
        "change_order_line_ids.budget_effect",
        "change_order_line_ids.side",
    )
    def _compute_change_amounts(self):
        """Cost of owner change orders by budget effect of their status.

        The budget is a cost budget: an owner (prime) change order changes it by
        its cost; commitment change orders change committed cost instead.
        """
        ids = [line_id for line_id in self._origin.ids if line_id]
        # sudo: the figures are sums over the caller's own budget lines; budget
        # readers need not read every change order behind them.
        groups = (
            self.env["construction.change.order.line"]
            .sudo()
            ._read_group(
                [
                    ("budget_line_id", "in", ids),
                    ("side", "=", "prime"),
                    ("budget_effect", "in", ("pending", "approved")),
                ],
                ["budget_line_id", "budget_effect"],
                ["cost_amount:sum"],
            )
        )
        amounts = {
            (budget_line.id, effect): amount for budget_line, effect, amount in groups
        }
        for line in self:
            currency = line.currency_id or self.env.company.currency_id
            key = line._origin.id
            line.approved_change_amount = currency.round(
                amounts.get((key, "approved"), 0.0)
            )
            line.pending_change_amount = currency.round(
                amounts.get((key, "pending"), 0.0)
            )

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        if self.env.context.get("construction_change_order_internal"):
            return lines
        # Change orders entered before this line existed now count in it.
        orphans = (
            self.env["construction.change.order.line"]
            .sudo()
            .search(
                [
                    ("budget_line_id", "=", False),
                    ("project_id", "in", lines.project_id.ids),
                    ("cost_code_id", "in", lines.cost_code_id.ids),
                ]
            )
        )
        # sudo (above): linking change order lines of these projects to the new
        # budget lines is bookkeeping the budget's author may not have rights for.
        orphans._sync_budget_lines()
        return lines


class ConstructionBudget(models.Model):
    _inherit = "construction.budget"

    def action_view_change_orders(self):
        self.ensure_one()
        return self.project_id.action_view_change_orders()

    change_order_count = fields.Integer(compute="_compute_change_order_count")

    def _compute_change_order_count(self):
        counts = self._project_counts("construction.change.order")
        for budget in self:
            budget.change_order_count = counts.get(budget.project_id, 0)
