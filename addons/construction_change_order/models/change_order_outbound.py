from odoo import api, models

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


class ConstructionOutboxMessage(models.Model):
    _inherit = "construction.outbox.message"

    @api.model
    def _outbound_event_types(self):
        return {
            **super()._outbound_event_types(),
            STATUS_EVENT: "A change order's status changed (submitted, "
            "approved, rejected, void, no charge, back to draft): automation "
            "rule Send change order status changes.",
        }
