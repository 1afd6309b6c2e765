"""Procurement events through the real outbox: purchase order confirmed
(default automation rule), changed and cancelled, subcontractor pay application
approved (default rule), subcontract retainage released, and "Send to
External System" for purchase orders, pay applications and vendor bills."""

from odoo.tests import new_test_user, tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    message_data,
    open_send_wizard,
    outbox_messages,
)

from .common import ProcurementCommon

EVENTS = (
    "purchase_order.confirmed, purchase_order.changed, purchase_order.cancelled, "
    "subcontract_invoice.approved, purchase_order.retainage_released, "
    "purchase_order.sync, subcontract_pay_application.sync, invoice.sync"
)


@tagged("post_install", "-at_install")
class TestProcurementOutbound(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env,
            name="Supplier Portal",
            outbound_url="http://127.0.0.1:9/portal",
            outbound_event_types=EVENTS,
        )
        cls.retention_account = cls.env["account.account"].create(
            {
                "name": "Test Retention Payable",
                "code": "219902",
                "account_type": "liability_current",
            }
        )
        cls.company.construction_retention_payable_account_id = cls.retention_account
        cls.manager = new_test_user(
            cls.env,
            login="procurement_outbound_manager",
            groups="base.group_user,construction_connector_base."
            "group_construction_manager,purchase.group_purchase_user,"
            "account.group_account_invoice",
        )

    def _messages(self, event_type=None, record=None):
        return outbox_messages(self.backend, event_type, record)

    def _subcontract(self):
        order = self._create_order(
            [(self.erection, 1.0, 20000.0, self.cc_steel, self.subcontract)],
            partner=self.steel_vendor,
            construction_is_subcontract=True,
            construction_retainage_percent=10.0,
        )
        order.button_confirm()
        return order

    def _approved_app(self, order, work=10000.0):
        app = self.env["construction.subcontract.pay.application"].create(
            {
                "order_id": order.id,
                "period_start": "2026-03-01",
                "period_end": "2026-03-31",
            }
        )
        app.line_ids.write({"work_this_period": work})
        app.action_submit()
        app.with_context(compliance_date="2026-03-31").action_approve()
        return app

    def test_events_documented_as_webhooks(self):
        documented = self.env["construction.outbox.message"]._outbound_event_types()
        for event_type in (
            "purchase_order.confirmed",
            "purchase_order.changed",
            "purchase_order.cancelled",
            "purchase_order.retainage_released",
            "subcontract_invoice.approved",
            "purchase_order.sync",
            "subcontract_pay_application.sync",
        ):
            self.assertIn(event_type, documented)
            self.assertTrue(documented[event_type])

    def test_purchase_order_confirmed_changed_cancelled(self):
        order = self._create_order(
            [(self.cement, 3.0, 50.0, self.cc_concrete, self.material)]
        )
        self.assertFalse(self._messages(record=order))
        order.button_confirm()
        order.order_line.product_qty = 4.0
        order.button_cancel()
        messages = self._messages(record=order)
        self.assertEqual(
            messages.mapped("event_type"),
            [
                "purchase_order.confirmed",
                "purchase_order.changed",
                "purchase_order.cancelled",
            ],
        )
        confirmed, changed, cancelled = (message_data(m) for m in messages)
        self.assertEqual(confirmed["order"], order.name)
        self.assertEqual(confirmed["state"], "purchase")
        self.assertEqual(confirmed["lines"][0]["quantity"], 3.0)
        self.assertEqual(confirmed["lines"][0]["price_unit"], 50.0)
        self.assertEqual(confirmed["lines"][0]["cost_code"], "T03-300")
        self.assertEqual(changed["lines"][0]["quantity"], 4.0)
        self.assertEqual(cancelled["state"], "cancel")
        self.assertEqual(messages.backend_id, self.backend)

    def test_switching_the_confirmation_rule_off_stops_it(self):
        self.env.ref(
            "construction_procurement_sync.automation_purchase_order_confirmed_outbound"
        ).active = False
        order = self._create_order(
            [(self.cement, 1.0, 10.0, self.cc_concrete, self.material)]
        )
        order.button_confirm()
        self.assertEqual(order.state, "purchase")
        self.assertFalse(self._messages(record=order))

    def test_subcontract_pay_application_approved(self):
        order = self._subcontract()
        app = self._approved_app(order)
        message = self._messages("subcontract_invoice.approved", app)
        self.assertEqual(len(message), 1)
        data = message_data(message)
        self.assertEqual(data["application"], app.name)
        self.assertEqual(data["order"], order.name)
        self.assertEqual(data["state"], "approved")
        self.assertEqual(data["amount_this_period"], 10000.0)
        self.assertEqual(data["retainage_withheld"], 1000.0)
        self.assertEqual(data["amount_due"], 9000.0)
        self.assertEqual(data["bill"], app.bill_id.name)

    def test_subcontract_retainage_released(self):
        order = self._subcontract()
        app = self._approved_app(order)
        app.bill_id.action_post()
        self.assertFalse(self._messages("purchase_order.retainage_released"))
        self.assertEqual(order.construction_retainage_balance, 1000.0)
        release = order._construction_release_retainage(400.0, "2026-04-15")
        release.action_post()
        message = self._messages("purchase_order.retainage_released", order)
        self.assertEqual(len(message), 1)
        data = message_data(message)
        self.assertEqual(data["order"], order.name)
        self.assertEqual(data["bill"], release.name)
        self.assertEqual(data["amount_released"], 400.0)
        self.assertEqual(data["retainage_held_after"], 600.0)
        self.assertEqual(data["date"], "2026-04-15")

    def test_send_documents_to_the_portal(self):
        order = self._subcontract()
        app = self._approved_app(order)
        bill = app.bill_id
        before = self._messages()
        for record, xmlid in (
            (order, "action_purchase_order_send_outbound"),
            (app, "action_subcontract_pay_application_send_outbound"),
            (bill, None),
        ):
            action_ref = (
                f"construction_procurement_sync.{xmlid}"
                if xmlid
                else "construction_connector_base.action_account_move_send_outbound"
            )
            wizard = open_send_wizard(self.manager, action_ref, record)
            self.assertEqual(wizard.backend_ids, self.backend)
            wizard.action_send()
        sent = self._messages() - before
        self.assertEqual(
            sent.mapped("event_type"),
            ["purchase_order.sync", "subcontract_pay_application.sync", "invoice.sync"],
        )
        order_data, app_data, bill_data = (message_data(m) for m in sent)
        self.assertEqual(order_data["lines"][0]["price_unit"], 20000.0)
        self.assertEqual(app_data["amount_due"], 9000.0)
        self.assertEqual(app_data["vendor"], self.steel_vendor.name)
        self.assertEqual(bill_data["move_type"], "in_invoice")
        self.assertEqual(bill_data["purchase_orders"], [order.name])
        self.assertEqual(bill_data["subcontract_pay_application"], app.name)
        self.assertEqual(bill_data["amount_total"], bill.amount_total)
