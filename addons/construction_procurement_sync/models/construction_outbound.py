from odoo import api, fields, models

from .account_move import SUB_RETAINAGE_EVENT
from .purchase_order import CANCELLED_EVENT, CHANGED_EVENT

CONFIRMED_EVENT = "purchase_order.confirmed"
SUB_APPROVED_EVENT = "subcontract_invoice.approved"


class PurchaseOrder(models.Model):
    """Outbound: confirmation (automation rule), retainage released and
    "Send to External System"."""

    _name = "purchase.order"
    _inherit = ["purchase.order", "construction.outbound.mixin"]

    def _construction_outbound_event_type(self):
        return "purchase_order.sync"

    def _construction_outbound_payload(self):
        return self._construction_portal_payload()

    def _construction_publish_confirmed(self):
        """Automation rule "Send confirmed purchase orders"."""
        self._construction_publish(CONFIRMED_EVENT)


class ConstructionSubcontractPayApplication(models.Model):
    _name = "construction.subcontract.pay.application"
    _inherit = [
        "construction.subcontract.pay.application",
        "construction.outbound.mixin",
    ]

    def _construction_outbound_event_type(self):
        return "subcontract_pay_application.sync"

    def _construction_outbound_payload(self):
        self.ensure_one()
        return {
            "application": self.name,
            "order": self.order_id.name,
            "vendor": self.order_id.partner_id.name,
            "state": self.state,
            "period_start": fields.Date.to_string(self.period_start),
            "period_end": fields.Date.to_string(self.period_end),
            "amount_this_period": self.amount_this_period,
            "retainage_withheld": self.retainage_this_period,
            "retainage_released": self.retainage_release_amount,
            "amount_due": self.amount_due,
            "bill": self.bill_id.name or None,
        }

    def _construction_publish_approved(self):
        """Automation rule "Send approved subcontractor pay applications"."""
        Event = self.env["construction.event"]
        for app in self:
            Event._publish(
                False, SUB_APPROVED_EVENT, app, app._construction_outbound_payload()
            )


class ConstructionOutboxMessage(models.Model):
    _inherit = "construction.outbox.message"

    @api.model
    def _outbound_event_types(self):
        return {
            **super()._outbound_event_types(),
            CONFIRMED_EVENT: "A purchase order or subcontract is confirmed: "
            "automation rule Send confirmed purchase orders.",
            CHANGED_EVENT: "A confirmed order's lines, quantities, prices or "
            "dates change.",
            CANCELLED_EVENT: "A confirmed order is cancelled.",
            SUB_RETAINAGE_EVENT: "A vendor bill releasing subcontract "
            "retainage is posted (amount released, retainage held after).",
            SUB_APPROVED_EVENT: "A subcontractor pay application is approved "
            "(or approved as noted): automation rule Send approved "
            "subcontractor pay applications.",
        }
