from odoo import fields, models


class ConstructionBudget(models.Model):
    _inherit = "construction.budget"

    change_order_count = fields.Integer(compute="_compute_change_order_count")

    def _compute_change_order_count(self):
        counts = self._project_counts("construction.change.order")
        for budget in self:
            budget.change_order_count = counts.get(budget.project_id, 0)

    def action_view_change_orders(self):
        self.ensure_one()
        return self.project_id.action_view_change_orders()


class ConstructionChangeOrder(models.Model):
    _inherit = "construction.change.order"

    def action_view_construction_budget(self):
        self.ensure_one()
        return self.project_id.action_view_construction_budget()
