from odoo import fields, models


class ConstructionBudget(models.Model):
    _inherit = "construction.budget"

    purchase_order_count = fields.Integer(
        compute="_compute_purchase_order_count", groups="purchase.group_purchase_user"
    )

    def _compute_purchase_order_count(self):
        counts = self._project_counts("purchase.order", [("state", "!=", "cancel")])
        for budget in self:
            budget.purchase_order_count = counts.get(budget.project_id, 0)

    def action_view_purchase_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_procurement_sync.purchase_order_construction_action"
        )
        action["domain"] = [
            ("project_id", "=", self.project_id.id),
            ("state", "!=", "cancel"),
        ]
        action["context"] = {"default_project_id": self.project_id.id}
        return action
