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


class PurchaseOrder(models.Model):
    _inherit = "purchase.order"

    construction_change_order_count = fields.Integer(
        string="Change Orders",
        compute="_compute_construction_change_order_count",
        groups="construction_connector_base.group_construction_user",
    )

    def _compute_construction_change_order_count(self):
        counts = dict(
            self.env["construction.change.order"]._read_group(
                [("purchase_order_id", "in", self.ids)],
                ["purchase_order_id"],
                ["__count"],
            )
        )
        for order in self:
            order.construction_change_order_count = counts.get(order, 0)

    def action_view_construction_change_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_change_order.construction_change_order_action"
        )
        action["domain"] = [("purchase_order_id", "=", self.id)]
        action["context"] = {
            "default_side": "commitment",
            "default_project_id": self.project_id.id,
            "default_partner_id": self.partner_id.id,
            "default_purchase_order_id": self.id,
        }
        return action

    def action_view_construction_budget(self):
        self.ensure_one()
        return self.project_id.action_view_construction_budget()


class ConstructionChangeOrder(models.Model):
    _inherit = "construction.change.order"

    def action_view_purchase_order(self):
        self.ensure_one()
        return self.purchase_order_id.get_formview_action()
