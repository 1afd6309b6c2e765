import json
import time
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from ..controllers import api_v1
from ..tools import signing
from .common_integration import cost_code_payload, make_backend, run_pending_jobs

API = "/api/construction/v1"


@tagged("post_install", "-at_install")
class TestIntegrationApi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.backend = make_backend(cls.env, name="PM Platform")
        cls.key = cls.backend._generate_api_key()
        cls.other_backend = make_backend(cls.env, name="Field App")
        cls.other_key = cls.other_backend._generate_api_key()

    def _post(self, path, body=None, key=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body)
        all_headers = {"Content-Type": "application/json"}
        if key is not False:
            all_headers["Authorization"] = f"Bearer {key or self.key}"
        all_headers.update(headers or {})
        response = self.url_open(f"{API}{path}", data=data, headers=all_headers)
        self.env.invalidate_all()
        return response

    def _get(self, path, key=None):
        headers = {"Authorization": f"Bearer {key or self.key}"}
        response = self.url_open(f"{API}{path}", headers=headers)
        self.env.invalidate_all()
        return response

    def _post_cost_code(self, idem_key="k-1", payload=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}), **{"Idempotency-Key": idem_key})
        return self._post(
            "/events/cost_code.upsert",
            payload or cost_code_payload(),
            headers=headers,
            **kwargs,
        )

    def _events(self, backend=None):
        return self.env["construction.event"].search(
            [("backend_id", "=", (backend or self.backend).id)]
        )

    def assertProblem(self, response, status, slug):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")
        body = response.json()
        self.assertEqual(body["status"], status)
        self.assertTrue(body["type"].endswith(f"/problems/{slug}"), body)
        self.assertTrue(body["title"])
        return body

    # ---- authentication and authorization ----

    def test_401_without_or_with_wrong_key(self):
        response = self._post_cost_code(key=False)
        self.assertProblem(response, 401, "unauthorized")
        self.assertIn("Bearer", response.headers["WWW-Authenticate"])
        self.assertProblem(self._post_cost_code(key="0" * 40), 401, "unauthorized")
        self.assertProblem(self._get("/events/1", key="nope"), 401, "unauthorized")
        self.assertFalse(self._events())

    def test_403_inactive_or_other_company(self):
        self.backend.active = False
        self.assertProblem(self._post_cost_code(), 403, "forbidden")
        self.backend.active = True
        other = self.env["res.company"].create({"name": "Rival Builders"})
        self.backend.user_id.sudo().write(
            {"company_ids": [(4, other.id)], "company_id": other.id}
        )
        self.backend.user_id.sudo().write({"company_ids": [(3, self.company.id)]})
        self.assertProblem(self._post_cost_code(), 403, "forbidden")
        self.assertFalse(self._events())

    def test_404_for_other_systems_events_and_unknown_types(self):
        response = self._post_cost_code()
        event_id = response.json()["id"]
        self.assertEqual(self._get(f"/events/{event_id}").status_code, 200)
        self.assertProblem(
            self._get(f"/events/{event_id}", key=self.other_key), 404, "not-found"
        )
        self.assertProblem(
            self._post(f"/events/{event_id}/replay", {}, key=self.other_key),
            404,
            "not-found",
        )
        self.assertProblem(
            self._post("/events/nope.upsert", {}, headers={"Idempotency-Key": "x"}),
            404,
            "unknown-event-type",
        )
        self.other_backend.event_types = "change_order.upsert"
        self.assertProblem(
            self._post_cost_code(key=self.other_key), 404, "unknown-event-type"
        )

    # ---- content checks ----

    def test_415_413_and_malformed(self):
        response = self._post(
            "/events/cost_code.upsert",
            raw="code=1",
            headers={"Content-Type": "text/plain", "Idempotency-Key": "k"},
        )
        self.assertProblem(response, 415, "unsupported-media-type")
        self.env["ir.config_parameter"].set_param(
            "construction_connector_base.max_body_bytes", "100"
        )
        big = cost_code_payload(name="x" * 200)
        self.assertProblem(self._post_cost_code(payload=big), 413, "payload-too-large")
        self.env["ir.config_parameter"].set_param(
            "construction_connector_base.max_body_bytes", "1048576"
        )
        response = self._post(
            "/events/cost_code.upsert",
            raw="{not json",
            headers={"Idempotency-Key": "k"},
        )
        self.assertProblem(response, 400, "malformed-json")
        self.assertFalse(self._events())

    def test_422_lists_every_failing_field(self):
        payload = {"external_id": "", "version": "two", "division": "7", "extra": 1}
        body = self.assertProblem(
            self._post_cost_code(payload=payload), 422, "validation-error"
        )
        pointers = sorted({error["pointer"] for error in body["errors"]})
        self.assertEqual(
            pointers,
            ["", "/code", "/division", "/external_id", "/name", "/version"],
        )
        for error in body["errors"]:
            self.assertTrue(error["detail"])
        self.assertFalse(self._events())

    def test_400_without_idempotency_key(self):
        response = self._post("/events/cost_code.upsert", cost_code_payload())
        self.assertProblem(response, 400, "idempotency-key-missing")

    # ---- signatures ----

    def _signed(self, payload, secret="s3cret", timestamp=None):
        raw = json.dumps(payload)
        timestamp = str(timestamp or int(time.time()))
        headers = {
            signing.TIMESTAMP_HEADER: timestamp,
            signing.SIGNATURE_HEADER: signing.sign(secret, timestamp, raw),
        }
        return raw, headers

    def test_signature_mismatch_stale_and_replay(self):
        self.backend.require_signature = True
        self.backend.sudo().signing_secret = "s3cret"
        payload = cost_code_payload()
        # unsigned
        self.assertProblem(self._post_cost_code(), 401, "invalid-signature")
        # wrong secret
        raw, headers = self._signed(payload, secret="wrong")
        body = self.assertProblem(
            self._post_cost_code(raw=raw, headers=headers), 401, "invalid-signature"
        )
        self.assertEqual(body["detail"], "Signature mismatch.")
        # tampered body
        raw, headers = self._signed(payload)
        tampered = raw.replace("Cast", "Past")
        self.assertProblem(
            self._post_cost_code(raw=tampered, headers=headers),
            401,
            "invalid-signature",
        )
        # stale timestamp
        raw, headers = self._signed(payload, timestamp=int(time.time()) - 301)
        body = self.assertProblem(
            self._post_cost_code(raw=raw, headers=headers), 401, "invalid-signature"
        )
        self.assertIn("5-minute window", body["detail"])
        self.assertFalse(self._events())
        # valid, then the very same signed request replayed
        raw, headers = self._signed(payload)
        response = self._post_cost_code(raw=raw, headers=headers)
        self.assertEqual(response.status_code, 202, response.text)
        body = self.assertProblem(
            self._post_cost_code(raw=raw, headers=headers), 401, "invalid-signature"
        )
        self.assertIn("replayed", body["detail"])
        # rotation: the next secret is accepted too
        self.backend.sudo().signing_secret_next = "n3xt"
        raw, headers = self._signed(cost_code_payload(version=2), secret="n3xt")
        response = self._post_cost_code("k-2", raw=raw, headers=headers)
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(len(self._events()), 2)

    # ---- rate limit ----

    def test_429_with_retry_after(self):
        self.backend.rate_limit = 2
        now = 1_800_000_010  # 10 s into a minute window
        with patch(
            "odoo.addons.construction_connector_base.models.construction_backend"
            ".time.time",
            return_value=now,
        ):
            first = self._post_cost_code("k-1")
            self.assertEqual(first.status_code, 202)
            # every counted answer says where the client stands
            self.assertEqual(first.headers["RateLimit-Limit"], "2")
            self.assertEqual(first.headers["RateLimit-Remaining"], "1")
            self.assertEqual(first.headers["RateLimit-Reset"], "50")
            second = self._post_cost_code("k-2")
            self.assertEqual(second.status_code, 202)
            self.assertEqual(second.headers["RateLimit-Remaining"], "0")
            response = self._post_cost_code("k-3")
            # reads count too: guessing ids is throttled like writing
            read = self._get(f"/events/{first.json()['id']}")
        self.assertProblem(response, 429, "rate-limited")
        self.assertEqual(response.headers["Retry-After"], "50")
        self.assertEqual(response.headers["RateLimit-Remaining"], "0")
        self.assertProblem(read, 429, "rate-limited")
        self.assertEqual(len(self._events()), 2)
        other = self._post_cost_code("k-3", key=self.other_key)
        self.assertEqual(other.status_code, 202)  # per system

    # ---- listing ----

    def test_list_own_events_by_state_type_and_entity(self):
        first = self._post_cost_code("k-1").json()
        second = self._post_cost_code(
            "k-2", payload=cost_code_payload(external_id="pm-2", code="03-380")
        ).json()
        self._post_cost_code("k-3", key=self.other_key)  # another system's
        page = self._get("/events").json()
        self.assertEqual(page["total"], 2)
        self.assertEqual(
            [item["id"] for item in page["items"]], [second["id"], first["id"]]
        )
        self.assertEqual(page["items"][0]["type"], "cost_code.upsert")
        queued = self._get("/events?state=queued,failed&event_type=cost_code.upsert")
        self.assertEqual(queued.json()["total"], 2)
        self.assertEqual(self._get("/events?state=dead").json()["total"], 0)
        entity = self._get("/events?external_id=pm-2").json()
        self.assertEqual([item["id"] for item in entity["items"]], [second["id"]])
        paged = self._get("/events?limit=1&offset=1").json()
        self.assertEqual([item["id"] for item in paged["items"]], [first["id"]])
        self.assertProblem(self._get("/events?state=lost"), 422, "validation-error")
        self.assertProblem(self._get("/events?limit=0"), 422, "validation-error")
        self.assertProblem(self._get("/events", key="nope"), 401, "unauthorized")

    # ---- idempotency ----

    def test_same_event_twice_creates_one(self):
        first = self._post_cost_code()
        self.assertEqual(first.status_code, 202, first.text)
        second = self._post_cost_code()
        self.assertEqual(second.status_code, 200, second.text)
        self.assertEqual(second.json()["id"], first.json()["id"])
        self.assertEqual(len(self._events()), 1)
        self.assertEqual(self._events().state, "queued")
        jobs = (
            self.env["queue.job"]
            .search([("model_name", "=", "construction.event")])
            .filtered(lambda job: job.records == self._events())
        )
        self.assertEqual(len(jobs), 1)

    def test_same_key_other_body_is_refused(self):
        first = self._post_cost_code()
        response = self._post_cost_code(payload=cost_code_payload(name="Other"))
        body = self.assertProblem(response, 409, "idempotency-conflict")
        self.assertEqual(body["event_id"], first.json()["id"])
        self.assertEqual(len(self._events()), 1)

    # ---- batch ----

    def test_batch_with_good_and_bad_items(self):
        body = {
            "events": [
                {"event_id": "b-1", "payload": cost_code_payload("pm-1", "03-371")},
                {"event_id": "b-2", "payload": {"external_id": "pm-2", "version": -1}},
                {
                    "event_id": "b-1",
                    "payload": cost_code_payload("pm-1", "03-371", name="Changed"),
                },
                {"payload": cost_code_payload("pm-3", "03-373")},
                {"event_id": "b-4", "payload": cost_code_payload("pm-4", "03-374")},
            ]
        }
        response = self._post("/events/cost_code.upsert/batch", body)
        self.assertEqual(response.status_code, 207, response.text)
        items = response.json()["items"]
        self.assertEqual([item["status"] for item in items], [202, 422, 409, 422, 202])
        self.assertEqual(
            sorted(error["pointer"] for error in items[1]["errors"]),
            [
                "/events/1/payload/code",
                "/events/1/payload/name",
                "/events/1/payload/version",
            ],
        )
        self.assertEqual(items[3]["errors"][0]["pointer"], "/events/3/event_id")
        events = self._events()
        self.assertEqual(sorted(events.mapped("idempotency_key")), ["b-1", "b-4"])
        self.assertEqual(
            items[0]["event"]["id"],
            events.filtered(lambda e: e.idempotency_key == "b-1").id,
        )
        self.assertEqual(len(set(events.mapped("batch_ref"))), 1)
        # the whole batch again: every item answers as before, nothing new
        again = self._post("/events/cost_code.upsert/batch", body).json()["items"]
        self.assertEqual([item["status"] for item in again], [200, 422, 409, 422, 200])
        self.assertEqual(len(self._events()), 2)
        empty = self._post("/events/cost_code.upsert/batch", {"events": []})
        self.assertProblem(empty, 422, "validation-error")

    # ---- end to end ----

    def test_end_to_end_status_and_replay(self):
        response = self._post_cost_code()
        self.assertEqual(response.status_code, 202)
        accepted = response.json()
        self.assertEqual(accepted["state"], "queued")
        self.assertEqual(response.headers["Location"], f"{API}/events/{accepted['id']}")
        event = self.env["construction.event"].browse(accepted["id"])
        self.assertEqual(event.remote_addr, "127.0.0.1")
        self.assertEqual(event.user_id, self.backend.user_id)
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        status = self._get(f"/events/{event.id}").json()
        self.assertEqual(status["state"], "done", status)
        self.assertEqual(status["attempts"], 1)
        self.assertEqual(status["result"]["model"], "account.analytic.account")
        account = self.env["account.analytic.account"].browse(status["result"]["ids"])
        self.assertEqual(account.code, "03-370")
        self.assertEqual(account.company_id, self.company)
        self.assertNotIn("payload", status)
        # a done event is not replayable
        self.assertProblem(
            self._post(f"/events/{event.id}/replay", {}), 409, "not-replayable"
        )
        event.sudo().write({"state": "dead"})
        response = self._post(f"/events/{event.id}/replay", {})
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(response.json()["state"], "queued")
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        self.assertEqual(event.state, "done")
        self.assertEqual(event.replay_count, 1)

    def test_secrets_never_returned(self):
        self.backend.sudo().signing_secret = "s3cret"
        response = self._post_cost_code()
        self.assertNotIn("s3cret", response.text)
        self.assertNotIn("s3cret", self._get(f"/events/{response.json()['id']}").text)
        self.assertNotIn("s3cret", self.url_open(f"{API}/openapi.json").text)
        manager_view = self.env["construction.backend"].get_views([(False, "list")])
        self.assertNotIn("signing_secret", json.dumps(manager_view))

    # ---- OpenAPI ----

    def test_openapi_document_validates(self):
        from openapi_spec_validator import validate

        response = self.url_open(f"{API}/openapi.json")
        self.assertEqual(response.status_code, 200)
        document = response.json()
        validate(document)
        self.assertEqual(document["openapi"], "3.1.0")
        self.assertIn(f"{API}/events/cost_code.upsert", document["paths"])
        self.assertIn(f"{API}/events/cost_code.upsert/batch", document["paths"])
        schema = document["components"]["schemas"]["cost_code.upsert"]
        self.assertEqual(schema["required"], ["external_id", "code", "name", "version"])
        health = document["paths"][f"{API}/health"]["get"]["responses"]
        self.assertIn("oldest_pending_age_seconds", json.dumps(health["200"]))
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                for status in ("401", "403", "429"):
                    self.assertIn(status, operation["responses"], (path, method))

    def test_verified_key_remembered_until_revoked(self):
        """pbkdf2 runs once per key and worker; a revoked key is refused at once."""
        api_v1._VERIFIED_KEYS.clear()
        real = api_v1.KEY_CRYPT_CONTEXT
        calls = []

        class CountingContext:
            def verify(self, secret, stored):
                calls.append(stored)
                return real.verify(secret, stored)

        with patch.object(api_v1, "KEY_CRYPT_CONTEXT", CountingContext()):
            self.assertEqual(self._get("/health").status_code, 200)
            self.assertEqual(self._get("/health").status_code, 200)
            self.assertEqual(len(calls), 1)
            # same index, other secret: verified (and refused), never taken from memory
            wrong = self.key[:8] + "0" * (len(self.key) - 8)
            self.assertProblem(self._get("/health", key=wrong), 401, "unauthorized")
            self.assertEqual(len(calls), 2)
            self.backend.action_revoke_api_keys()
            self.assertProblem(self._get("/health"), 401, "unauthorized")
