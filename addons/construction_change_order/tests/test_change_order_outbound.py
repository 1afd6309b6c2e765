"""Change order events through the real outbox: status changes sent by the
default automation rule (the only sender), and "Send to External System"."""

from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    message_data,
    open_send_wizard,
    outbox_messages,
)

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderOutbound(ChangeOrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env,
            name="CO PM",
            outbound_url="http://127.0.0.1:9/co",
            outbound_event_types="change_order.status, change_order.sync",
        )
        cls.rule = cls.env.ref(
            "construction_change_order.automation_change_order_status_outbound"
        )

    def _messages(self, co, event_type="change_order.status"):
        return outbox_messages(self.backend, event_type, co)

    def test_events_documented_as_webhooks(self):
        documented = self.env["construction.outbox.message"]._outbound_event_types()
        for event_type in (
            "change_order.status",
            "change_order.sync",
        ):
            self.assertIn(event_type, documented)
            self.assertTrue(documented[event_type])

    def test_every_status_change_is_sent_once(self):
        co = self._create_co([(self.cc_forming, self.labor, 2, 350.0, 10.0)])
        self.assertFalse(self._messages(co), "creating a draft sends nothing")
        co.action_submit()
        co.with_user(self.manager).action_approve()
        co.with_user(self.manager).action_void("Mistake")
        messages = self._messages(co)
        self.assertEqual(
            [message_data(m)["status"] for m in messages],
            [
                self.Status._get_default("pending").code,
                self.Status._get_default("approved").code,
                self.Status._get_default("void").code,
            ],
        )
        approved = message_data(messages[1])
        self.assertEqual(approved["number"], co.name)
        self.assertEqual(approved["amount_cost"], 700.0)
        self.assertEqual(approved["amount_price"], 770.0)
        self.assertEqual(approved["lines"][0]["cost_code"], "T03-100")
        self.assertEqual(approved["lines"][0]["price_amount"], 770.0)
        self.assertEqual(messages.backend_id, self.backend)
        self.assertEqual(set(messages.mapped("state")), {"pending"})
        self.assertTrue(all(messages.mapped("job_id")))

    def test_rejection_is_sent(self):
        co = self._create_co([(self.cc_concrete, self.material, 1, 900.0, 0.0)])
        co.action_submit()
        co.with_user(self.manager).action_reject("Not in scope")
        self.assertEqual(
            [message_data(m)["status"] for m in self._messages(co)],
            [
                self.Status._get_default("pending").code,
                self.Status._get_default("rejected").code,
            ],
        )

    def test_switching_the_rule_off_stops_sending(self):
        self.rule.active = False
        co = self._create_co([(self.cc_forming, self.labor, 1, 100.0, 0.0)])
        co.action_submit()
        co.with_user(self.manager).action_approve()
        self.assertEqual(co.stage_kind, "approved")
        self.assertFalse(self._messages(co))

    def test_send_to_external_system(self):
        co = self._create_co([(self.cc_forming, self.labor, 1, 250.0, 20.0)])
        wizard = open_send_wizard(
            self.manager,
            "construction_change_order.action_change_order_send_outbound",
            co,
        )
        self.assertEqual(wizard.backend_ids, self.backend)
        wizard.action_send()
        message = self._messages(co, "change_order.sync")
        self.assertEqual(len(message), 1)
        data = message_data(message)
        self.assertEqual(data["number"], co.name)
        self.assertEqual(data["status"], self.Status._get_default("draft").code)
        self.assertEqual(data["amount_price"], 300.0)
