import json

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .test_change_order_integration import co_payload

API = "/api/construction/v1"


@tagged("post_install", "-at_install")
class TestChangeOrderStagingApi(HttpCase):
    """What the external system sees of a staged, then rejected, change order."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="Staging PM Platform")
        cls.backend.approval_policy_ids = [
            (0, 0, {"event_type": "change_order.upsert", "policy": "stage"})
        ]
        cls.key = cls.backend._generate_api_key()
        cls.approver = new_test_user(
            cls.env,
            login="api_accounting_approver",
            groups="construction_connector_base.group_construction_accounting_approver",
        )

    def _call(self, path, body=None, key_header=None):
        headers = {
            "Authorization": f"Bearer {self.key}",
            "Content-Type": "application/json",
        }
        if key_header:
            headers["Idempotency-Key"] = key_header
        data = json.dumps(body) if body is not None else None
        response = self.url_open(f"{API}{path}", data=data, headers=headers)
        self.env.invalidate_all()
        return response

    def test_staged_then_rejected_over_the_api(self):
        response = self._call("/events/change_order.upsert", co_payload(), "api-k1")
        self.assertEqual(response.status_code, 202, response.text)
        body = response.json()
        self.assertEqual(body["state"], "awaiting_approval")
        self.assertEqual(
            body["approval"],
            {"decision": "pending", "decided_at": None, "comment": None},
        )
        event = self.env["construction.event"].browse(body["id"])
        run_pending_jobs(self.env)
        self.assertEqual(event.state, "awaiting_approval")
        health = self._call("/health").json()
        self.assertEqual(health["inbox"]["awaiting_approval"], 1)
        self.assertEqual(health["inbox"]["queued"], 0)

        event.with_user(self.approver)._reject("Budget code 03-300 is closed")
        body = self._call(f"/events/{event.id}").json()
        self.assertEqual(body["state"], "rejected")
        self.assertEqual(body["approval"]["decision"], "rejected")
        self.assertEqual(body["approval"]["comment"], "Budget code 03-300 is closed")
        self.assertIsNone(body["result"])
        # Without an outbound URL the answer is the event itself: nothing stored.
        self.assertFalse(event.approval_message_id)
        replay = self._call(f"/events/{event.id}/replay", {})
        self.assertEqual(replay.status_code, 409, replay.text)

    def test_batch_items_staged_not_processed(self):
        """A batch's items follow the staging policy too: none enters the batch job."""
        body = {
            "events": [
                {"event_id": "api-b1", "payload": co_payload("pm-co-b1")},
                {"event_id": "api-b2", "payload": co_payload("pm-co-b2")},
            ]
        }
        response = self._call("/events/change_order.upsert/batch", body)
        self.assertEqual(response.status_code, 207, response.text)
        items = response.json()["items"]
        self.assertEqual([item["status"] for item in items], [202, 202])
        events = self.env["construction.event"].browse(
            [item["event"]["id"] for item in items]
        )
        self.assertEqual(set(events.mapped("state")), {"awaiting_approval"})
        self.assertFalse(events.job_id)
        run_pending_jobs(self.env)
        self.assertEqual(set(events.mapped("state")), {"awaiting_approval"})
        orders = self.env["construction.change.order"].search(
            [
                ("title", "=", "Added footing"),
                ("create_date", ">=", events[0].create_date),
            ]
        )
        self.assertFalse(orders)
