"""Billing events through the real outbox: pay application certified, invoice
posted (default automation rules), invoice paid, retainage released, and
"Send to External System" for pay applications and invoices."""

from odoo import Command
from odoo.tests import new_test_user, tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    message_data,
    open_send_wizard,
    outbox_messages,
)

from .common_billing import BillingCommon

EVENTS = (
    "billing.pay_application_certified, billing.pay_application_reopened, "
    "billing.invoice_posted, "
    "billing.invoice_paid, billing.retainage_released, pay_application.sync, "
    "invoice.sync"
)


@tagged("post_install", "-at_install")
class TestBillingOutbound(BillingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env,
            name="Billing PM",
            outbound_url="http://127.0.0.1:9/billing",
            outbound_event_types=EVENTS,
        )
        cls.manager = new_test_user(
            cls.env,
            login="billing_outbound_manager",
            groups="base.group_user,construction_connector_base."
            "group_construction_manager,account.group_account_invoice",
        )

    def _messages(self, event_type=None):
        return outbox_messages(self.backend, event_type)

    def _certified_invoice(self):
        app = self._new_application("2026-01-31")
        self._enter(app, {self.sov1: (10000.00, 0.0)})
        return app, self._certify(app)

    def test_events_documented_as_webhooks(self):
        documented = self.env["construction.outbox.message"]._outbound_event_types()
        for event_type in (
            "billing.pay_application_certified",
            "billing.pay_application_reopened",
            "billing.invoice_posted",
            "billing.invoice_paid",
            "billing.retainage_released",
            "pay_application.sync",
        ):
            self.assertIn(event_type, documented)
            self.assertTrue(documented[event_type])

    def test_certified_posted_and_paid(self):
        app, invoice = self._certified_invoice()
        self._pay(invoice)
        self.assertEqual(
            [(m.event_type, m.res_model, m.res_id) for m in self._messages()],
            [
                ("billing.pay_application_certified", app._name, app.id),
                ("billing.invoice_posted", "account.move", invoice.id),
                ("billing.invoice_paid", "account.move", invoice.id),
            ],
        )
        certified, posted, paid = (message_data(m) for m in self._messages())
        self.assertEqual(certified["pay_application"], 1)
        self.assertEqual(certified["completed_and_stored_to_date"], 10000.0)
        self.assertEqual(certified["retainage_this_period"], 1000.0)
        self.assertEqual(certified["current_payment_due"], 9000.0)
        self.assertEqual(certified["contract_sum_to_date"], 100000.0)
        self.assertEqual(posted["invoice"], invoice.name)
        self.assertEqual(posted["amount_total"], 9000.0)
        self.assertEqual(posted["amount_residual"], 9000.0)
        self.assertEqual(posted["period_to"], "2026-01-31")
        self.assertEqual(paid["amount_residual"], 0.0)
        self.assertIn(paid["payment_state"], ("paid", "in_payment"))

    def test_reopened_and_certified_again(self):
        app, invoice = self._certified_invoice()
        app.with_user(self.manager)._reopen("Wrong period")
        credit_note = invoice.reversal_move_ids
        self._certify(app)
        self.assertEqual(
            [(m.event_type, m.res_model, m.res_id) for m in self._messages()],
            [
                ("billing.pay_application_certified", app._name, app.id),
                ("billing.invoice_posted", "account.move", invoice.id),
                ("billing.invoice_posted", "account.move", credit_note.id),
                ("billing.pay_application_reopened", app._name, app.id),
                ("billing.pay_application_certified", app._name, app.id),
                ("billing.invoice_posted", "account.move", app.invoice_id.id),
            ],
        )
        reopened = message_data(self._messages("billing.pay_application_reopened"))
        self.assertEqual(reopened["reason"], "Wrong period")
        self.assertEqual(reopened["state"], "draft")
        self.assertEqual(reopened["reversed_invoice"], invoice.name)
        self.assertEqual(reopened["credit_note"], credit_note.name)
        refund = message_data(
            self._messages("billing.invoice_posted").filtered(
                lambda m: m.res_id == credit_note.id
            )
        )
        self.assertEqual(refund["move_type"], "out_refund")
        self.assertEqual(refund["amount_untaxed"], invoice.amount_untaxed)

    def test_retainage_released(self):
        self._certified_invoice()
        release = self.env["construction.retainage.release"].create(
            {
                "contract_id": self.contract.id,
                "date": "2026-03-15",
                "line_ids": [
                    Command.create({"sov_line_id": self.sov1.id, "amount": 400.0})
                ],
            }
        )
        invoice = release.action_create_invoice()
        self.assertFalse(self._messages("billing.retainage_released"))
        invoice.action_post()
        message = self._messages("billing.retainage_released")
        self.assertEqual(len(message), 1)
        self.assertEqual(
            (message.res_model, message.res_id), (release._name, release.id)
        )
        data = message_data(message)
        self.assertEqual(data["release"], release.name)
        self.assertEqual(data["contract"], self.contract.name)
        self.assertEqual(data["amount_released"], 400.0)
        self.assertEqual(data["invoice"], invoice.name)
        self.assertEqual(data["lines"][0]["amount"], 400.0)
        # the release invoice is a contract invoice: posted is sent too
        posted = self._messages("billing.invoice_posted").filtered(
            lambda m: m.res_id == invoice.id
        )
        self.assertEqual(message_data(posted)["retainage_release"], release.name)
        self.assertEqual(message_data(posted)["amount_total"], 400.0)

    def test_switching_rules_off_stops_sending(self):
        for xmlid in (
            "automation_invoice_posted_outbound",
            "automation_pay_application_certified_outbound",
        ):
            self.env.ref(f"construction_billing.{xmlid}").active = False
        _app, invoice = self._certified_invoice()
        self.assertEqual(invoice.state, "posted")
        self.assertFalse(self._messages())

    def test_send_pay_application_and_invoice(self):
        app, invoice = self._certified_invoice()
        before = self._messages()
        for record, xmlid in (
            (app, "construction_billing.action_pay_application_send_outbound"),
            (invoice, "construction_connector_base.action_account_move_send_outbound"),
        ):
            wizard = open_send_wizard(self.manager, xmlid, record)
            self.assertEqual(wizard.backend_ids, self.backend)
            wizard.action_send()
        sent = self._messages() - before
        self.assertEqual(
            sent.mapped("event_type"), ["pay_application.sync", "invoice.sync"]
        )
        app_data, invoice_data = (message_data(m) for m in sent)
        self.assertEqual(app_data["current_payment_due"], 9000.0)
        self.assertEqual(app_data["invoice"], invoice.name)
        self.assertEqual(invoice_data["amount_total"], 9000.0)
        self.assertEqual(invoice_data["contract"], self.contract.name)
        self.assertEqual(invoice_data["pay_application"], 1)
        self.assertEqual(invoice_data["move_type"], "out_invoice")
