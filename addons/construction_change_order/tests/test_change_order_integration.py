from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common import ChangeOrderCommon


def co_payload(external_id="pm-co-1", version=1, **extra):
    payload = {
        "external_id": external_id,
        "version": version,
        "project": "PRJ-7",
        "side": "prime",
        "title": "Added footing",
        "partner": "OWNER-1",
        "reason": "owner_request",
        "schedule_impact_days": 3,
        "lines": [
            {
                "cost_code": "03-300",
                "cost_type": "material",
                "description": "Concrete",
                "quantity": 4,
                "unit_cost": 250.0,
                "markup_percent": 10,
            },
            {
                "cost_code": "03-100",
                "cost_type": "labor",
                "description": "Forming",
                "unit_cost": 500.0,
            },
        ],
    }
    payload.update(extra)
    return payload


# Labor only: approving material lines also raises a material request when
# procurement is installed, which is not what these tests are about.
LABOR_LINES = [
    {
        "cost_code": "03-100",
        "cost_type": "labor",
        "description": "Forming",
        "quantity": 2,
        "unit_cost": 250.0,
    }
]


@tagged("post_install", "-at_install")
class TestChangeOrderIntegration(ChangeOrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env)
        cls._create_mappings(cls.backend)
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)

    def _send(self, key, payload, event_type="change_order.upsert"):
        event, _created = self.Event._receive(self.backend, event_type, key, payload)
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        return event

    def _bound(self, external_id="pm-co-1"):
        return self.env["construction.binding"]._find(
            self.backend, "construction.change.order", external_id
        )

    def test_upsert_creates_then_updates(self):
        event = self._send("k1", co_payload())
        self.assertEqual(event.state, "done", event.last_error)
        co = self._bound()
        self.assertEqual(co.project_id, self.project)
        self.assertEqual(co.partner_id, self.customer)
        self.assertEqual(co.stage_kind, "draft")
        self.assertEqual(co.amount_cost, 1500.0)
        self.assertEqual(co.amount_price, 1600.0)
        self.assertEqual(co.schedule_impact_days, 3)
        self.assertEqual(
            co.line_ids.mapped("cost_code_id"), self.cc_concrete | self.cc_forming
        )
        event = self._send(
            "k2",
            co_payload(version=2, title="Bigger footing", status="pending_pricing"),
        )
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(co.title, "Bigger footing")
        self.assertEqual(co.status_id.code, "pending_pricing")
        self.assertEqual(len(co.line_ids), 2)
        self.assertEqual(self._columns(self.line_concrete)[0], 1000.0)
        self.assertEqual(self._columns(self.line_forming)[0], 500.0)

    def test_status_event_approves_and_voids(self):
        self._send("k1", co_payload(status="pending_in_review", lines=LABOR_LINES))
        event = self._send(
            "k2",
            {
                "external_id": "pm-co-1",
                "version": 2,
                "status": "approved",
                "reason": "Owner signed",
            },
            "change_order.status",
        )
        self.assertEqual(event.state, "done", event.last_error)
        co = self._bound()
        self.assertEqual(co.stage_kind, "approved")
        self.assertEqual(co.approval_ids.comment, "Owner signed")
        self.assertEqual(
            self._columns(self.line_forming), (0.0, 500.0, 40500.0, 40500.0)
        )
        # An approved change order can't be changed by an upsert.
        event = self._send("k3", co_payload(version=3, title="Changed"))
        self.assertEqual(event.state, "failed")
        self.assertIn("cannot be changed", event.last_error)
        event = self._send(
            "k4",
            {"external_id": "pm-co-1", "version": 4, "status": "void"},
            "change_order.status",
        )
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(co.stage_kind, "void")
        self.assertEqual(self._columns(self.line_forming)[1], 0.0)

    def test_out_of_order_versions(self):
        newer = self._send("k2", co_payload(version=5, title="Version 5"))
        self.assertEqual(newer.state, "done", newer.last_error)
        older = self._send("k1", co_payload(version=4, title="Version 4"))
        self.assertEqual(older.state, "superseded")
        self.assertEqual(self._bound().title, "Version 5")

    def test_duplicate_delivery(self):
        first = self._send("k1", co_payload())
        again = self._send("k1", co_payload())
        self.assertEqual(again, first)
        # Same content under another key: applied once.
        other = self._send("k1-bis", co_payload())
        self.assertEqual(other.state, "done")
        self.assertEqual(
            self.ChangeOrder.search_count([("project_id", "=", self.project.id)]), 1
        )
        self.assertEqual(len(self._bound().line_ids), 2)

    def test_unknown_status_fails_clearly(self):
        event = self._send("k1", co_payload(status="pending_billable"))
        self.assertEqual(event.state, "failed")
        self.assertIn("Unknown change order status pending_billable", event.last_error)
        self.assertFalse(self._bound())
        self.assertFalse(
            self.ChangeOrder.search([("project_id", "=", self.project.id)])
        )

    def test_unmapped_cost_code_fails_clearly(self):
        payload = co_payload()
        payload["lines"][0]["cost_code"] = "99-999"
        event = self._send("k1", payload)
        self.assertEqual(event.state, "failed")
        self.assertIn("unmapped cost code 99-999", event.last_error)
        self.assertFalse(
            self.ChangeOrder.search([("project_id", "=", self.project.id)])
        )

    def test_event_project_for_monitoring(self):
        payload = co_payload()
        payload["lines"][0]["cost_code"] = "99-999"
        failed = self._send("k1", payload)
        self.assertEqual((failed.state, failed.project_id), ("failed", self.project))
        # a project mapped only after receipt is found when the event is processed
        unmapped = self._send("k2", co_payload(external_id="pm-co-2", project="PRJ-8"))
        self.assertEqual(unmapped.state, "failed")
        self.assertFalse(unmapped.project_id)
        self.env["construction.mapping"].create(
            {
                "backend_id": self.backend.id,
                "kind": "project",
                "external_code": "PRJ-8",
                "target_ref": f"project.project,{self.project.id}",
            }
        )
        unmapped.action_replay()
        run_pending_jobs(self.env)
        unmapped.invalidate_recordset()
        self.assertEqual(unmapped.state, "done")
        self.assertEqual(unmapped.project_id, self.project)

    def test_status_before_upsert_is_parked(self):
        event = self._send(
            "k1",
            {"external_id": "pm-co-1", "version": 2, "status": "approved"},
            "change_order.status",
        )
        self.assertEqual(event.state, "parked")
        self._send(
            "k2", co_payload(version=1, status="pending_in_review", lines=LABOR_LINES)
        )
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(self._bound().stage_kind, "approved")

    def test_commitment_linked_to_prime(self):
        self._send("k1", co_payload())
        event = self._send(
            "k2",
            co_payload(
                external_id="pm-cco-1",
                side="commitment",
                prime_external_id="pm-co-1",
                partner=None,
            ),
        )
        self.assertEqual(event.state, "done", event.last_error)
        cco = self._bound("pm-cco-1")
        self.assertEqual(cco.name, "CCO-001")
        self.assertEqual(cco.prime_change_order_id, self._bound())

    def test_api_submission_notifies_named_approvers(self):
        self.env["construction.change.order.approval.rule"].create(
            {"name": "PM", "user_ids": [(6, 0, self.pm.ids)]}
        )
        event = self._send("k1", co_payload(status="pending_in_review"))
        self.assertEqual(event.state, "done", event.last_error)
        co = self._bound()
        self.assertEqual(co._current_approvals().name, "PM")
        self.assertEqual(co.activity_ids.user_id, self.pm)
