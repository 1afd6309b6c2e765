from odoo import api, fields, models

from .account_move import PAID_EVENT, POSTED_EVENT

CERTIFIED_EVENT = "billing.pay_application_certified"
REOPENED_EVENT = "billing.pay_application_reopened"
RETAINAGE_EVENT = "billing.retainage_released"


class ConstructionPayApplication(models.Model):
    """Outbound: certification (automation rule) and "Send to External System"."""

    _name = "construction.pay.application"
    _inherit = ["construction.pay.application", "construction.outbound.mixin"]

    def _construction_outbound_event_type(self):
        return "pay_application.sync"

    def _construction_outbound_payload(self):
        self.ensure_one()
        return {
            "pay_application": self.number,
            "name": self.name,
            "contract": self.contract_id.name,
            "project": self.project_id.display_name,
            "owner": self.partner_id.name,
            "period_to": fields.Date.to_string(self.period_to),
            "state": self.state,
            "currency": self.currency_id.name,
            "original_contract_sum": self.original_contract_sum,
            "net_change_orders": self.net_change_orders,
            "contract_sum_to_date": self.contract_sum_to_date,
            "completed_and_stored_to_date": self.total_completed_stored,
            "retainage_total": self.retainage_total,
            "retainage_this_period": self.retainage_this_period,
            "earned_less_retainage": self.earned_less_retainage,
            "previous_certificates": self.previous_certificates,
            "current_payment_due": self.current_payment_due,
            "balance_to_finish": self.balance_to_finish,
            "invoice": self.invoice_id.name or None,
        }

    def _construction_publish_reopened(self, reason, invoice, credit_note):
        """``billing.pay_application_reopened``: back to draft for correction."""
        Event = self.env["construction.event"]
        for app in self:
            payload = dict(
                app._construction_outbound_payload(),
                reason=reason,
                reversed_invoice=invoice.name or None,
                credit_note=credit_note.name or None,
            )
            Event._publish(False, REOPENED_EVENT, app, payload)

    def _construction_publish_certified(self):
        """Automation rule "Send certified pay applications"."""
        Event = self.env["construction.event"]
        for app in self:
            Event._publish(
                False, CERTIFIED_EVENT, app, app._construction_outbound_payload()
            )


class ConstructionRetainageRelease(models.Model):
    _inherit = "construction.retainage.release"

    def _construction_publish_released(self):
        """``billing.retainage_released``: the release's invoice was posted."""
        Event = self.env["construction.event"]
        for release in self:
            contract = release.contract_id
            currency = release.currency_id
            Event._publish(
                False,
                RETAINAGE_EVENT,
                release,
                {
                    "release": release.name,
                    "contract": contract.name,
                    "project": release.project_id.display_name,
                    "owner": release.partner_id.name,
                    "date": fields.Date.to_string(release.date),
                    "currency": currency.name,
                    "amount_released": currency.round(release.amount_total),
                    "invoice": release.invoice_id.name or None,
                    "lines": [
                        {
                            "item": line.display_name,
                            "amount": currency.round(line.amount),
                        }
                        for line in release.line_ids
                        if not currency.is_zero(line.amount)
                    ],
                },
            )


class ConstructionOutboxMessage(models.Model):
    _inherit = "construction.outbox.message"

    @api.model
    def _outbound_event_types(self):
        return {
            **super()._outbound_event_types(),
            CERTIFIED_EVENT: "An owner pay application is certified (G702 "
            "figures): automation rule Send certified pay applications.",
            REOPENED_EVENT: "The latest certified pay application is reopened "
            "for correction (reason, reversed invoice and credit note); it is "
            "certified again later.",
            POSTED_EVENT: "An invoice of a prime contract is posted: "
            "automation rule Send posted contract invoices.",
            PAID_EVENT: "An invoice of a prime contract becomes paid.",
            RETAINAGE_EVENT: "A retainage release invoice is posted (amount per item).",
        }
