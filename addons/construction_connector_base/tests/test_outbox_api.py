"""The outbox over the API: an external system lists and replays its own
outbound messages."""

import json

from odoo.tests import HttpCase, tagged

from .common_integration import make_backend

API = "/api/construction/v1"


@tagged("post_install", "-at_install")
class TestOutboxApi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env,
            name="Replaying PM",
            outbound_url="http://127.0.0.1:9/hooks",
            outbound_event_types="*",
        )
        cls.key = cls.backend._generate_api_key()
        cls.other = make_backend(
            cls.env,
            name="Neighbour PM",
            outbound_url="http://127.0.0.1:9/other",
            outbound_event_types="*",
        )
        company_b = cls.env["res.company"].create({"name": "Outbox API Co B"})
        cls.foreign = make_backend(
            cls.env,
            name="Foreign PM",
            company=company_b,
            outbound_url="http://127.0.0.1:9/foreign",
            outbound_event_types="*",
        )
        Event = cls.env["construction.event"]
        partner = cls.env.company.partner_id
        cls.dead = Event._publish(cls.backend, "x.changed", partner, {"amount": 12.5})
        cls.failed = Event._publish(cls.backend, "x.changed", partner, {"amount": 2})
        cls.done = Event._publish(cls.backend, "y.changed", partner, {"amount": 3})
        cls.dead.write({"state": "dead", "attempts": 9, "last_error": "HTTP 503"})
        cls.failed.write({"state": "failed", "last_http_status": 400})
        cls.done.write({"state": "done"})
        cls.neighbour = Event._publish(cls.other, "x.changed", partner, {"n": 1})
        cls.neighbour.write({"state": "dead"})
        cls.foreign_msg = Event._publish(
            cls.foreign, "x.changed", company_b.partner_id, {"n": 2}
        )
        cls.foreign_msg.write({"state": "dead"})

    def _call(self, path, method="GET", key=True):
        headers = {"Authorization": f"Bearer {self.key}"} if key else {}
        if method == "GET":
            return self.url_open(f"{API}{path}", headers=headers)
        return self.url_open(f"{API}{path}", data=b"{}", headers=headers)

    def test_list_requires_a_key(self):
        response = self._call("/outbox", key=False)
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")

    def test_messages_name_their_document(self):
        Event = self.env["construction.event"]
        self.assertEqual(
            self.dead.record_name, self.env.company.partner_id.display_name
        )
        ghost = self.env["res.partner"].create({"name": "Ghost Supplier"})
        message = Event._publish(self.backend, "x.changed", ghost, {"n": 1})
        self.assertEqual(message.record_name, "Ghost Supplier")
        ghost_id = ghost.id
        ghost.unlink()
        message.invalidate_recordset(["record_name"])
        self.assertEqual(message.record_name, f"res.partner,{ghost_id} (deleted)")
        detached = Event._publish(self.backend, "x.changed", False, {"n": 2})
        self.assertFalse(detached.record_name)

    def test_list_own_messages_by_state(self):
        response = self._call("/outbox?state=dead")
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["total"], 1)
        self.assertEqual([item["id"] for item in body["items"]], self.dead.ids)
        item = body["items"][0]
        self.assertEqual(item["state"], "dead")
        self.assertEqual(item["attempts"], 9)
        self.assertEqual(item["last_error"], "HTTP 503")
        self.assertEqual(item["idempotency_key"], self.dead.idempotency_key)
        self.assertEqual(item["payload"]["data"], {"amount": 12.5})
        both = self._call("/outbox?state=failed,dead").json()
        self.assertEqual(
            [item["id"] for item in both["items"]], [self.failed.id, self.dead.id]
        )
        every = self._call("/outbox?limit=2").json()
        self.assertEqual(every["total"], 3)
        self.assertEqual(len(every["items"]), 2)
        typed = self._call("/outbox?event_type=y.changed").json()
        self.assertEqual([item["id"] for item in typed["items"]], self.done.ids)

    def test_list_rejects_unknown_state_and_bad_limit(self):
        response = self._call("/outbox?state=lost")
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["errors"][0]["pointer"], "/query/state")
        response = self._call("/outbox?limit=5000")
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["errors"][0]["pointer"], "/query/limit")

    def test_replay_dead_message(self):
        old_job = self.dead.job_id
        response = self._call(f"/outbox/{self.dead.id}/replay", method="POST")
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(response.json()["state"], "pending")
        self.dead.invalidate_recordset()
        self.assertEqual(self.dead.state, "pending")
        self.assertEqual(self.dead.replay_count, 1)
        self.assertTrue(self.dead.job_id)
        self.assertNotEqual(self.dead.job_id, old_job)
        # the same idempotency key is kept
        self.assertEqual(response.json()["idempotency_key"], self.dead.idempotency_key)
        one = self._call(f"/outbox/{self.dead.id}")
        self.assertEqual(one.status_code, 200)
        self.assertEqual(one.json()["replay_count"], 1)

    def test_replay_refuses_done_message(self):
        response = self._call(f"/outbox/{self.done.id}/replay", method="POST")
        self.assertEqual(response.status_code, 409)
        self.assertEqual(self.done.state, "done")

    def test_other_systems_messages_are_not_found(self):
        for message in (self.neighbour, self.foreign_msg):
            for path, method in (
                (f"/outbox/{message.id}", "GET"),
                (f"/outbox/{message.id}/replay", "POST"),
            ):
                response = self._call(path, method=method)
                self.assertEqual(response.status_code, 404, path)
            message.invalidate_recordset()
            self.assertEqual(message.state, "dead")
            self.assertEqual(message.replay_count, 0)
        listed = [item["id"] for item in self._call("/outbox").json()["items"]]
        self.assertNotIn(self.neighbour.id, listed)
        self.assertNotIn(self.foreign_msg.id, listed)

    def test_openapi_documents_the_outbox(self):
        from openapi_spec_validator import validate

        document = self.url_open(f"{API}/openapi.json").json()
        validate(document)
        self.assertIn("get", document["paths"][f"{API}/outbox"])
        self.assertIn("post", document["paths"][f"{API}/outbox/{{message_id}}/replay"])
        self.assertIn("OutboxMessage", document["components"]["schemas"])

    def test_openapi_documents_the_webhooks(self):
        from openapi_spec_validator import validate

        document = self.url_open(f"{API}/openapi.json").json()
        validate(document)
        webhooks = document["webhooks"]
        self.assertEqual(
            set(webhooks),
            set(self.env["construction.outbox.message"]._outbound_event_types()),
        )
        financial = [
            name
            for name, event_type in self.env["construction.event"]
            ._event_types()
            .items()
            if event_type.financial
        ]
        self.assertTrue(financial)
        for name in ("job_cost.export", "invoice.sync"):
            self.assertIn(name, webhooks)
        for name in financial:
            self.assertIn(f"{name}.rejected", webhooks)
        post = webhooks["job_cost.export"]["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        self.assertEqual(
            schema["allOf"],
            [
                {"$ref": "#/components/schemas/WebhookBody"},
                {"properties": {"event_type": {"const": "job_cost.export"}}},
            ],
        )
        self.assertEqual(
            {p["name"] for p in post["parameters"]},
            {
                "Idempotency-Key",
                "X-Construction-Event",
                "X-Construction-Timestamp",
                "X-Construction-Signature",
            },
        )
        self.assertEqual(set(post["responses"]), {"2XX", "408", "429", "4XX", "5XX"})
        body = document["components"]["schemas"]["WebhookBody"]
        self.assertEqual(
            body["required"], ["event_id", "event_type", "occurred_at", "data"]
        )
        # the envelope documented is the one sent
        message = self.env["construction.event"]._publish(
            self.backend, "job_cost.export", False, {"n": 1}
        )
        sent = json.loads(message.payload)
        self.assertEqual(set(sent), set(body["properties"]))
