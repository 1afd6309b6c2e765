from odoo import models

STATUS_EVENT = "change_order.status"


class ConstructionChangeOrder(models.Model):
    """Outbound: status changes (automation rule) and "Send to External System"."""

    _name = "construction.change.order"
    _inherit = ["construction.change.order", "construction.outbound.mixin"]

    def _construction_outbound_event_type(self):
        return "change_order.sync"

    def _construction_outbound_payload(self):
        return self._prepare_event_payload()

    def _construction_publish_status(self):
        """Automation rule "Send change order status changes": one
        ``change_order.status`` event per change order whose status changed."""
        self._publish_event(STATUS_EVENT)
