from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common_integration import make_backend

API = "/api/construction/v1"


@tagged("post_install", "-at_install")
class TestOutboxHealthApi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env,
            name="Monitored PM",
            outbound_url="http://127.0.0.1:9/hooks",
            outbound_event_types="*",
        )
        cls.key = cls.backend._generate_api_key()
        cls.other = make_backend(
            cls.env, name="Other PM", outbound_url="http://127.0.0.1:9/other"
        )
        cls.other.outbound_event_types = "*"

    def _health(self, key=None):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.url_open(f"{API}/health", headers=headers)

    def test_health_requires_a_key(self):
        response = self._health()
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")

    def test_health_counts_own_queues(self):
        Event = self.env["construction.event"]
        partner = self.env.company.partner_id
        # inbox: one queued (10 minutes old), one parked, one failed, one dead
        states = ["queued", "parked", "failed", "dead"]
        events = Event.create(
            [
                {
                    "backend_id": self.backend.id,
                    "event_type": "cost_code.upsert",
                    "idempotency_key": f"h-{state}",
                    "payload": "{}",
                    "state": state,
                }
                for state in states
            ]
        )
        events[0].received_date = fields.Datetime.now() - timedelta(minutes=10)
        # outbox: two pending, one dead; the other system's messages do not count
        messages = Event._publish(self.backend, "x.changed", partner, {"n": 1})
        messages |= Event._publish(self.backend, "x.changed", partner, {"n": 2})
        Event._publish(self.other, "x.changed", partner, {"n": 3})
        Event._publish(self.backend, "x.changed", partner, {"n": 4}).write(
            {"state": "dead"}
        )
        self.assertEqual(len(messages), 2)
        self.env.cr.execute(
            "UPDATE construction_outbox_message SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(minutes=5), messages[0].id),
        )
        response = self._health(self.key)
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(
            body["backend"], {"id": self.backend.id, "name": "Monitored PM"}
        )
        self.assertEqual(body["status"], "attention")
        inbox, outbox = body["inbox"], body["outbox"]
        self.assertEqual(
            {k: inbox[k] for k in ("queued", "parked", "failed", "dead")},
            {"queued": 1, "parked": 1, "failed": 1, "dead": 1},
        )
        self.assertGreaterEqual(inbox["oldest_pending_age_seconds"], 600)
        self.assertLess(inbox["oldest_pending_age_seconds"], 900)
        self.assertEqual(
            {k: outbox[k] for k in ("pending", "retrying", "failed", "dead")},
            {"pending": 2, "retrying": 0, "failed": 0, "dead": 1},
        )
        self.assertGreaterEqual(outbox["oldest_pending_age_seconds"], 300)
        self.assertLess(outbox["oldest_pending_age_seconds"], 600)
