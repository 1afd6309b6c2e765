import json

from lxml import etree

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common import ChangeOrderCommon
from .test_change_order_integration import co_payload

CHANGE_ORDER = "construction.change.order"


@tagged("post_install", "-at_install")
class TestChangeOrderStaging(ChangeOrderCommon):
    """Accounting approval staging, locked synced fields and the payload diff."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env, outbound_url="http://127.0.0.1:9/hooks/construction"
        )
        cls.backend.approval_policy_ids = [
            (0, 0, {"event_type": "change_order.upsert", "policy": "stage"})
        ]
        cls._create_mappings(cls.backend)
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)
        cls.approver = new_test_user(
            cls.env,
            login="co_accounting_approver",
            name="Alice Accounting-Approver",
            groups="construction_connector_base.group_construction_accounting_approver",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )

    def _receive(self, key, payload, event_type="change_order.upsert"):
        event, created = self.Event._receive(self.backend, event_type, key, payload)
        self.assertTrue(created)
        return event.with_user(self.approver)

    def _bound(self, external_id="pm-co-1"):
        return self.env["construction.binding"]._find(
            self.backend, CHANGE_ORDER, external_id
        )

    def _rejections(self):
        return self.env["construction.outbox.message"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("event_type", "=", "change_order.upsert.rejected"),
            ]
        )

    def _approve(self, events, decision, comment=False):
        wizard = (
            self.env["construction.event.approval.wizard"]
            .with_user(self.approver)
            .create(
                {
                    "event_ids": [(6, 0, events.ids)],
                    "decision": decision,
                    "comment": comment,
                }
            )
        )
        return wizard.action_confirm()

    # ---- staging ----

    def test_staged_event_waits_until_accepted(self):
        event = self._receive("k1", co_payload())
        self.assertEqual(event.state, "awaiting_approval")
        self.assertTrue(event.approval_required)
        self.assertFalse(event.job_id)
        run_pending_jobs(self.env)
        # Even a stray job run leaves a staged event alone.
        event.sudo()._process()
        self.assertEqual(event.state, "awaiting_approval")
        self.assertFalse(self._bound())
        self.assertFalse(
            self.ChangeOrder.search([("title", "=", "Added footing")]),
            "nothing may be created before the approval",
        )
        staged = self.env["construction.event"].search(
            [("state", "=", "awaiting_approval"), ("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(staged, event)
        self.assertEqual(event._to_api()["approval"]["decision"], "pending")
        # A change order has no posting date: the wizard does not ask for one.
        wizard = (
            self.env["construction.event.approval.wizard"]
            .with_user(self.approver)
            .create({"event_ids": [(6, 0, event.ids)], "decision": "accepted"})
        )
        self.assertFalse(wizard.takes_accounting_date)

    def test_other_event_types_post_directly(self):
        self.backend.approval_policy_ids.policy = "direct"
        event = self._receive("k1", co_payload())
        self.assertEqual(event.state, "queued")
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertFalse(event.approval_required)

    def test_accept_processes_with_exact_amounts_and_comment(self):
        event = self._receive("k1", co_payload())
        self._approve(event, "accepted", "Charge to analytic 5100 Owner changes")
        event.invalidate_recordset()
        self.assertEqual(event.state, "queued")
        self.assertTrue(event.job_id)
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(event.approval_decision, "accepted")
        self.assertEqual(event.approval_user_id, self.approver)
        self.assertEqual(
            event.approval_comment, "Charge to analytic 5100 Owner changes"
        )
        order = self._bound()
        self.assertEqual(json.loads(event.result_ids), order.ids)
        self.assertEqual(order.amount_cost, 1500.0)
        self.assertEqual(order.amount_price, 1600.0)
        self.assertEqual(order.amount_markup, 100.0)
        self.assertEqual(len(order.line_ids), 2)
        notes = order.message_ids.filtered(
            lambda m: "Charge to analytic 5100 Owner changes" in (m.body or "")
        )
        self.assertEqual(len(notes), 1)
        self.assertIn("Alice Accounting-Approver", notes.body)
        self.assertFalse(self._rejections())

    def test_reject_sends_comment_back_and_creates_nothing(self):
        event = self._receive("k1", co_payload())
        with self.assertRaisesRegex(UserError, "comment is required"):
            self._approve(event, "rejected", "  ")
        self.assertEqual(event.state, "awaiting_approval")
        self._approve(event, "rejected", "Not in the owner contract; resubmit as PCO")
        event.invalidate_recordset()
        self.assertEqual(event.state, "rejected")
        self.assertEqual(event.approval_decision, "rejected")
        run_pending_jobs(self.env)
        self.assertFalse(self._bound())
        self.assertFalse(self.ChangeOrder.search([("title", "=", "Added footing")]))
        message = self._rejections()
        self.assertEqual(len(message), 1)
        self.assertEqual(event.approval_message_id, message)
        self.assertEqual(message.state, "pending")
        body = json.loads(message.payload)
        self.assertEqual(body["event_type"], "change_order.upsert.rejected")
        self.assertEqual(
            body["data"]["comment"], "Not in the owner contract; resubmit as PCO"
        )
        self.assertEqual(body["data"]["event_id"], "k1")
        self.assertEqual(body["data"]["entity_external_id"], "pm-co-1")
        self.assertEqual(body["data"]["decided_by"], "Alice Accounting-Approver")
        api = event.sudo()._to_api()
        self.assertEqual(api["state"], "rejected")
        self.assertEqual(
            api["approval"]["comment"], "Not in the owner contract; resubmit as PCO"
        )
        with self.assertRaisesRegex(UserError, "awaiting approval"):
            self._approve(event, "accepted")

    def test_non_approver_cannot_decide(self):
        event = self._receive("k1", co_payload())
        for user in (self.manager, self.backend.user_id):
            with self.assertRaises(AccessError):
                event.with_user(user)._accept("ok")
            with self.assertRaises(AccessError):
                event.with_user(user)._reject("no")
        with self.assertRaises(AccessError):
            self.env["construction.event.approval.wizard"].with_user(
                self.manager
            ).create(
                {"event_ids": [(6, 0, event.ids)], "decision": "accepted"}
            ).action_confirm()
        # An integration user holding the approver group still cannot decide.
        integration = self.backend.user_id
        integration.groups_id = [
            (
                4,
                self.env.ref(
                    "construction_connector_base.group_construction_accounting_approver"
                ).id,
            )
        ]
        with self.assertRaises(AccessError):
            event.with_user(integration)._accept()
        event.invalidate_recordset()
        self.assertEqual(event.state, "awaiting_approval")
        self.assertFalse(self._rejections())

    def test_approver_queue_and_form(self):
        event = self._receive("k1", co_payload())
        Event = self.env["construction.event"].with_user(self.approver)
        action = self.env.ref(
            "construction_connector_base.construction_event_action_approval"
        )
        self.assertIn(
            self.env.ref(
                "construction_connector_base.group_construction_accounting_approver"
            ),
            self.env.ref(
                "construction_connector_base.menu_construction_accounting_approval"
            ).groups_id,
        )
        domain = safe_eval(action.domain) + [("state", "=", "awaiting_approval")]
        self.assertEqual(Event.search(domain), event)
        views = Event.get_views([(False, "form"), (False, "list"), (False, "search")])
        form_fields = views["models"]["construction.event"]["fields"]
        for fname in ("payload_diff_html", "approval_comment", "state"):
            self.assertIn(fname, form_fields)
        # Every field of the form is readable by the approver.
        values = event.read([f for f in form_fields if f in Event._fields])[0]
        self.assertEqual(values["state"], "awaiting_approval")
        self.assertIn("No bound record", str(values["payload_diff_html"]))
        wizard_action = event.action_open_approval_wizard()
        self.assertEqual(wizard_action["context"]["default_event_ids"], event.ids)
        # Approvers decide; they do not operate the queue.
        with self.assertRaises(AccessError):
            event.action_cancel()
        self.assertEqual(event.state, "awaiting_approval")
        event.with_user(self.manager).action_cancel()
        self.assertEqual(event.state, "cancelled")

    # ---- locked synced fields ----

    def _synced_order(self):
        self.backend.approval_policy_ids.policy = "direct"
        event = self._receive("k1", co_payload())
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        return self._bound()

    def test_locked_fields_refused_from_ui_allowed_for_sync(self):
        order = self._synced_order()
        self.assertTrue(order.construction_synced)
        self.assertEqual(order.construction_synced_source, self.backend.name)
        as_pm = order.with_user(self.manager)
        with self.assertRaisesRegex(UserError, "new change order or re-sync"):
            as_pm.write({"title": "Edited in Odoo"})
        with self.assertRaisesRegex(UserError, "new change order or re-sync"):
            as_pm.line_ids[0].write({"unit_cost": 999.0})
        with self.assertRaisesRegex(UserError, "cannot be changed in Odoo"):
            as_pm.write({"line_ids": [(1, order.line_ids[0].id, {"quantity": 9})]})
        with self.assertRaisesRegex(UserError, "cannot be deleted in Odoo"):
            as_pm.line_ids[1].unlink()
        self.assertEqual(len(order.line_ids), 2)
        self.assertEqual(order.title, "Added footing")
        self.assertEqual(order.amount_cost, 1500.0)
        # Fields that do not come from the source stay editable.
        as_pm.write({"description": "<p>Internal note</p>"})
        # A re-sync through the handler changes them.
        event = self._receive("k2", co_payload(version=2, title="Bigger footing"))
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(order.title, "Bigger footing")

    def test_unbound_order_stays_editable(self):
        order = self._create_co(
            [(self.cc_concrete, self.material, 1, 100.0, 0.0)],
            user=self.manager,
            title="Manual change",
        )
        self.assertFalse(order.construction_synced)
        order.with_user(self.manager).write({"title": "Edited"})
        self.assertEqual(order.title, "Edited")

    def test_form_shows_locked_fields_readonly_with_banner(self):
        arch = self.ChangeOrder.get_view(view_type="form")["arch"]
        tree = etree.fromstring(arch)
        title = tree.xpath("//field[@name='title']")[0]
        self.assertIn("construction_synced", title.get("readonly"))
        lines = tree.xpath("//field[@name='line_ids']")[0]
        self.assertIn("construction_synced", lines.get("readonly"))
        self.assertTrue(tree.xpath("//div[@invisible='not construction_synced']"))

    # ---- diff ----

    def test_diff_shows_differing_field(self):
        order = self._synced_order()
        event = self.env["construction.event"].search(
            [("backend_id", "=", self.backend.id), ("idempotency_key", "=", "k1")]
        )
        rows = {row["field"]: row for row in event._payload_diff()}
        self.assertFalse(any(row["differs"] for row in rows.values()), rows)
        # Odoo moves on (a sync context stands in for a later change).
        order.with_context(construction_sync=True).write(
            {"title": "Changed since", "schedule_impact_days": 5}
        )
        rows = {row["field"]: row for row in event._payload_diff()}
        title = rows[order._fields["title"].string]
        self.assertEqual(
            (title["payload"], title["odoo"], title["differs"]),
            ("Added footing", "Changed since", True),
        )
        days = rows[order._fields["schedule_impact_days"].string]
        self.assertEqual((days["payload"], days["odoo"], days["differs"]), (3, 5, True))
        cost = rows[order._fields["amount_cost"].string]
        self.assertEqual(
            (cost["payload"], cost["odoo"], cost["differs"]), (1500.0, 1500.0, False)
        )
        project = rows[order._fields["project_id"].string]
        self.assertEqual(
            (project["payload"], project["odoo"], project["differs"]),
            ("PRJ-7", self.project.display_name, False),
        )
        html = str(event.payload_diff_html)
        self.assertIn("Changed since", html)
        self.assertIn("table-warning", html)
