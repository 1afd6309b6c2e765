from odoo import api, models


class ConstructionChangeOrder(models.Model):
    """Amounts, lines and terms of a change order bound to an external system
    come from that system: locked in Odoo (see construction.synced.mixin)."""

    _name = "construction.change.order"
    _inherit = ["construction.change.order", "construction.synced.mixin"]

    @api.model
    def _construction_locked_fields(self):
        return super()._construction_locked_fields() + [
            "title",
            "project_id",
            "partner_id",
            "side",
            "tier_level",
            "reason_id",
            "line_ids",
            "schedule_impact_days",
            "is_backcharge",
            "due_date",
        ]


class ConstructionChangeOrderLine(models.Model):
    _name = "construction.change.order.line"
    _inherit = ["construction.change.order.line", "construction.synced.mixin"]

    @api.model
    def _construction_locked_fields(self):
        return super()._construction_locked_fields() + [
            "change_order_id",
            "cost_code_id",
            "cost_type_id",
            "name",
            "quantity",
            "uom_id",
            "unit_cost",
            "markup_percent",
            "price_amount",
        ]

    def _construction_synced_source(self):
        return self.change_order_id
