from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common import ChangeOrderCommon
from .test_change_order_integration import LABOR_LINES, co_payload


def ce_payload(external_id="pm-ce-1", version=1, **extra):
    payload = {
        "external_id": external_id,
        "version": version,
        "project": "PRJ-7",
        "title": "Rock at the north footing",
        "origin": "field_observation",
        "origin_reference": "OBS-12",
        "scope": "out_of_scope",
        "reason": "owner_request",
        "lines": [
            {
                "cost_code": "03-300",
                "cost_type": "material",
                "description": "Extra concrete",
                "cost_estimate": 1200.0,
                "revenue_estimate": 1500.0,
            },
            {
                "cost_code": "03-100",
                "description": "Forming",
                "cost_estimate": 800.0,
            },
        ],
    }
    payload.update(extra)
    return payload


@tagged("post_install", "-at_install")
class TestChangeEventIntegration(ChangeOrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env)
        cls._create_mappings(cls.backend)
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)

    def _send(self, key, payload, event_type="change_event.upsert"):
        event, _created = self.Event._receive(self.backend, event_type, key, payload)
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        return event

    def _bound(self, external_id="pm-ce-1", model="construction.change.event"):
        return self.env["construction.binding"]._find(self.backend, model, external_id)

    def test_upsert_creates_updates_and_is_idempotent(self):
        event = self._send("ce-k1", ce_payload())
        self.assertEqual(event.state, "done", event.last_error)
        change_event = self._bound()
        self.assertEqual(event._result_records(), change_event)
        self.assertEqual(change_event.project_id, self.project)
        self.assertEqual(change_event.state, "open")
        self.assertEqual(change_event.origin, "field_observation")
        self.assertEqual(change_event.origin_reference, "OBS-12")
        self.assertEqual(change_event.scope, "out_of_scope")
        self.assertEqual(change_event.reason_id.code, "owner_request")
        self.assertEqual(change_event.amount_cost, 2000.0)
        self.assertEqual(change_event.amount_revenue, 1500.0)
        self.assertEqual(
            change_event.line_ids.mapped("cost_code_id"),
            self.cc_concrete | self.cc_forming,
        )
        self.assertEqual(
            change_event.line_ids[0].cost_type_id.cost_type_kind, "material"
        )
        self.assertFalse(change_event.line_ids[1].cost_type_id)
        # same idempotency key: the same event, nothing new
        again = self._send("ce-k1", ce_payload())
        self.assertEqual(again, event)
        Events = self.env["construction.change.event"]
        self.assertEqual(Events.search_count([("project_id", "=", self.project.id)]), 1)
        # version 2 replaces the lines and moves it to pending
        update = ce_payload(
            version=2,
            status="pending",
            lines=[
                {
                    "cost_code": "03-300",
                    "description": "Extra concrete, revised",
                    "cost_estimate": 3000.0,
                    "revenue_estimate": 3600.0,
                }
            ],
        )
        second = self._send("ce-k2", update)
        self.assertEqual(second.state, "done", second.last_error)
        self.assertEqual(self._bound(), change_event)
        self.assertEqual(change_event.state, "pending")
        self.assertEqual(len(change_event.line_ids), 1)
        self.assertEqual(change_event.amount_cost, 3000.0)
        self.assertEqual(change_event.amount_revenue, 3600.0)
        # an older version never overwrites a newer one
        late = self._send("ce-k3", ce_payload(version=1, title="Stale"))
        self.assertEqual(late.state, "superseded")
        self.assertEqual(change_event.title, "Rock at the north footing")
        self.assertEqual(change_event.amount_cost, 3000.0)

    def test_unmapped_cost_code_fails_without_half_write(self):
        payload = ce_payload()
        payload["lines"][1]["cost_code"] = "99-999"
        event = self._send("ce-bad", payload)
        self.assertEqual(event.state, "failed")
        self.assertIn("99-999", event.last_error)
        self.assertFalse(self._bound())
        self.assertFalse(
            self.env["construction.change.event"].search(
                [("project_id", "=", self.project.id)]
            )
        )

    def test_change_order_prices_change_event(self):
        # the change order referring to an event not received yet waits for it
        order_payload = co_payload(
            external_id="pm-co-ce",
            lines=LABOR_LINES,
            change_event_external_ids=["pm-ce-1"],
        )
        waiting = self._send("co-ce-1", order_payload, "change_order.upsert")
        self.assertEqual(waiting.state, "parked")
        self.assertIn("pm-ce-1", waiting.last_error)
        self.assertFalse(self._bound("pm-co-ce", "construction.change.order"))
        self.assertEqual(self._send("ce-k1", ce_payload()).state, "done")
        change_event = self._bound()
        # the parked change order goes through once its change event exists
        waiting.invalidate_recordset()
        self.assertEqual(waiting.state, "done", waiting.last_error)
        order = self._bound("pm-co-ce", "construction.change.order")
        self.assertEqual(order.change_event_ids, change_event)
        self.assertEqual(change_event.change_order_ids, order)
        self.assertEqual(change_event.state, "pending")
        self.assertEqual(order.amount_cost, 500.0)

    def test_void_with_approved_change_order_is_refused(self):
        self.assertEqual(self._send("ce-k1", ce_payload()).state, "done")
        change_event = self._bound()
        # the platform approves a change order pricing it (approver of record)
        approved = self._send(
            "co-ce-ok",
            co_payload(
                external_id="pm-co-ce",
                lines=LABOR_LINES,
                change_event_external_ids=["pm-ce-1"],
                status="approved",
            ),
            "change_order.upsert",
        )
        self.assertEqual(approved.state, "done", approved.last_error)
        order = self._bound("pm-co-ce", "construction.change.order")
        self.assertEqual(order.stage_kind, "approved")
        self.assertEqual(change_event.state, "pending")
        event = self._send("ce-void", ce_payload(version=2, status="void"))
        self.assertEqual(event.state, "failed")
        self.assertIn("has approved change orders", event.last_error)
        self.assertEqual(change_event.state, "pending")
        self.assertEqual(change_event.amount_cost, 2000.0)
