"""Security suite of the integration API: company isolation through every endpoint
(id guessing included), an integration user kept out of the UI and of models outside
its group, secrets absent from responses and logs, signatures bound to body and time."""

import json
import logging
import time

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, tagged

from ..tools import signing
from .common_integration import cost_code_payload, make_backend, run_pending_jobs

API = "/api/construction/v1"


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@tagged("post_install", "-at_install")
class TestApiSecurity(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Other GC (security)"})
        cls.backend_a = make_backend(cls.env, name="System A")
        cls.key_a = cls.backend_a._generate_api_key()
        cls.backend_b = make_backend(cls.env, name="System B", company=cls.company_b)
        cls.key_b = cls.backend_b._generate_api_key()
        cls.Event = cls.env["construction.event"]

    def _request(self, method, path, key, body=None, headers=None):
        all_headers = {"Authorization": f"Bearer {key}"}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        data = (
            body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        )
        if method == "GET":
            response = self.url_open(f"{API}{path}", headers=all_headers)
        else:
            response = self.url_open(
                f"{API}{path}", data=data or "{}", headers=all_headers
            )
        self.env.invalidate_all()
        return response

    def _receive_a(self, key, payload):
        event, _created = self.Event.with_user(self.backend_a.user_id)._receive(
            self.backend_a, "cost_code.upsert", key, payload
        )
        return event

    # ---- company isolation ----

    def test_other_company_key_never_reads_or_writes(self):
        done = self._receive_a("a-1", cost_code_payload("pm-a1", "03-341"))
        failed = self._receive_a("a-2", cost_code_payload("pm-a2", "03-342"))
        run_pending_jobs(self.env)
        failed.sudo().write({"state": "failed"})
        account_a = self.env["account.analytic.account"].browse(
            json.loads(done.result_ids)
        )
        self.assertEqual(account_a.company_id, self.company_a)
        not_found = None
        # id guessing around A's events: every id answers the same 404 to B
        for event_id in range(min(done.id, failed.id) - 3, max(done.id, failed.id) + 4):
            for method, path in (
                ("GET", f"/events/{event_id}"),
                ("POST", f"/events/{event_id}/replay"),
            ):
                response = self._request(method, path, self.key_b, body=None)
                self.assertEqual(response.status_code, 404, (path, response.text))
                body = response.json()
                not_found = not_found or body
                self.assertEqual(body, not_found)
        self.assertEqual(failed.state, "failed")
        self.assertEqual(failed.replay_count, 0)
        # B's listing holds B's events only, whatever the filter
        for query in ("", "?state=failed", "?external_id=pm-a2", "?limit=200"):
            page = self._request("GET", f"/events{query}", self.key_b).json()
            self.assertEqual((page["total"], page["items"]), (0, []), query)
        page = self._request("GET", "/events?state=failed", self.key_a).json()
        self.assertEqual([item["id"] for item in page["items"]], failed.ids)
        # B's health counts B's inbox only
        health = self._request("GET", "/health", self.key_b).json()
        self.assertEqual(health["backend"]["id"], self.backend_b.id)
        self.assertEqual(health["inbox"]["failed"], 0)
        self.assertEqual(
            self._request("GET", "/health", self.key_a).json()["inbox"]["failed"], 1
        )
        # B pushes A's cost code: matched by code in B's company only, never A's
        self.backend_b.map_by_code = True
        response = self._request(
            "POST",
            "/events/cost_code.upsert",
            self.key_b,
            cost_code_payload("pm-b1", "03-341", name="Renamed by B"),
            {"Idempotency-Key": "b-1"},
        )
        self.assertEqual(response.status_code, 202, response.text)
        run_pending_jobs(self.env)
        event_b = self.Event.browse(response.json()["id"])
        self.assertEqual(event_b.state, "done", event_b.last_error)
        account_b = self.env["account.analytic.account"].browse(
            json.loads(event_b.result_ids)
        )
        self.assertEqual(account_b.company_id, self.company_b)
        self.assertNotEqual(account_b, account_a)
        self.assertEqual(account_a.name, "Cast-in-Place Concrete")
        # a mapping of B pointing at A's record cannot even be configured
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.env["construction.mapping"].create(
                {
                    "backend_id": self.backend_b.id,
                    "kind": "cost_code",
                    "external_code": "A-CODE",
                    "target_ref": f"{account_a._name},{account_a.id}",
                }
            )
        # B's events are invisible to A the same way
        response = self._request("GET", f"/events/{event_b.id}", self.key_a)
        self.assertEqual(response.status_code, 404)

    # ---- integration user outside the API ----

    def _jsonrpc(self, service, method, *args):
        response = self.url_open(
            "/jsonrpc",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {"service": service, "method": method, "args": args},
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.env.invalidate_all()
        return response.json()

    def test_integration_user_cannot_reach_ui_or_other_models(self):
        user = self.backend_a.user_id
        self.assertTrue(user.share)
        self.assertFalse(user.has_group("base.group_user"))
        db = self.env.cr.dbname
        # another system's event (an id that exists, of company B)
        event_b, _created = self.Event.with_user(self.backend_b.user_id)._receive(
            self.backend_b,
            "cost_code.upsert",
            "b-1",
            cost_code_payload("pm-b1", "03-351"),
        )
        # the API key is no web password
        login = self.url_open(
            "/web/session/authenticate",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "params": {"db": db, "login": user.login, "password": self.key_a},
                }
            ),
            headers={"Content-Type": "application/json"},
        ).json()
        self.assertIn("error", login)
        for path in ("/web", "/odoo"):
            response = self.url_open(path, allow_redirects=False)
            self.assertIn(response.status_code, (302, 303), path)
            self.assertIn("/web/login", response.headers["Location"])
        # RPC with the key: models outside its group are refused
        uid = user.id

        def call(model, method, *args, **kwargs):
            return self._jsonrpc(
                "object", "execute_kw", db, uid, self.key_a, model, method, args, kwargs
            )

        for model, method, args in (
            ("construction.budget", "search_read", [[]]),
            ("account.move", "search_read", [[]]),
            ("res.partner", "create", [{"name": "Injected"}]),
            # it reads its own outbound messages (outbox API), never writes them
            ("construction.outbox.message", "write", [[1], {"state": "done"}]),
            ("construction.backend", "write", [[self.backend_a.id], {"rate_limit": 0}]),
            ("construction.event", "write", [[event_b.id], {"state": "done"}]),
            ("ir.config_parameter", "get_param", ["database.secret"]),
            (
                "res.users",
                "write",
                [[uid], {"groups_id": [(4, self.env.ref("base.group_system").id)]}],
            ),
            ("res.users.apikeys", "search_read", [[]]),
        ):
            result = call(model, method, *args)
            self.assertIn("error", result, (model, method, result))
            self.assertIn(
                result["error"]["data"]["name"],
                ("odoo.exceptions.AccessError", "odoo.exceptions.UserError"),
                (model, method, result["error"]["data"]["name"]),
            )
        self.assertFalse(user.has_group("base.group_system"))
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Injected")]))
        # its own system: readable, but never its secrets
        self.backend_a.sudo().signing_secret = "top-s3cret"
        result = call(
            "construction.backend",
            "read",
            [self.backend_a.id],
            ["name", "signing_secret"],
        )
        self.assertIn("error", result)
        result = call("construction.backend", "read", [self.backend_a.id], ["name"])
        self.assertEqual(result["result"][0]["name"], "System A")
        self.assertNotIn("top-s3cret", json.dumps(result))

    # ---- secrets ----

    def test_secrets_never_in_responses_or_logs(self):
        secret = "webhook-s3cret-value"
        self.backend_a.require_signature = True
        self.backend_a.sudo().signing_secret = secret
        capture = _Capture()
        capture.setFormatter(logging.Formatter("%(name)s %(message)s"))
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(capture)
        root.setLevel(logging.DEBUG)
        responses = []
        try:
            raw = json.dumps(cost_code_payload())
            stamp = str(int(time.time()))
            signed = {
                signing.TIMESTAMP_HEADER: stamp,
                signing.SIGNATURE_HEADER: signing.sign(secret, stamp, raw),
                "Idempotency-Key": "s-1",
            }
            for key, body, headers in (
                (self.key_a, raw, signed),  # accepted
                (self.key_a, raw, signed),  # replayed signature
                (self.key_a, raw.replace("Cast", "Past"), signed),  # tampered
                (self.key_a + "x", raw, signed),  # wrong key
                (self.key_a, "{", signed),  # malformed
            ):
                responses.append(
                    self._request(
                        "POST", "/events/cost_code.upsert", key, body, headers
                    )
                )
            responses.append(self._request("GET", "/health", self.key_a))
        finally:
            root.removeHandler(capture)
            root.setLevel(old_level)
        self.assertEqual(
            [r.status_code for r in responses], [202, 401, 401, 401, 400, 200]
        )
        text = "\n".join(capture.lines) + "\n".join(r.text for r in responses)
        text += "\n".join(json.dumps(dict(r.headers)) for r in responses)
        for value in (secret, self.key_a, signed[signing.SIGNATURE_HEADER]):
            self.assertNotIn(value, text)

    # ---- signatures ----

    def test_clock_skew_window_and_tampered_body(self):
        secret = "skew-s3cret"
        self.backend_a.require_signature = True
        self.backend_a.sudo().signing_secret = secret
        now = int(time.time())
        outcomes = []
        for index, skew in enumerate((-290, 290, -310, 310, -3600, 86400)):
            raw = json.dumps(cost_code_payload(f"pm-s{index}", f"03-35{index}"))
            stamp = str(now + skew)
            response = self._request(
                "POST",
                "/events/cost_code.upsert",
                self.key_a,
                raw,
                {
                    signing.TIMESTAMP_HEADER: stamp,
                    signing.SIGNATURE_HEADER: signing.sign(secret, stamp, raw),
                    "Idempotency-Key": f"skew-{index}",
                },
            )
            outcomes.append(response.status_code)
        self.assertEqual(outcomes, [202, 202, 401, 401, 401, 401])
        events = self.Event.search([("backend_id", "=", self.backend_a.id)])
        self.assertEqual(sorted(events.mapped("idempotency_key")), ["skew-0", "skew-1"])
        # a valid old signature on another body: refused, nothing stored
        raw = json.dumps(cost_code_payload("pm-t", "03-361"))
        stamp = str(now - 60)
        old_signature = signing.sign(secret, stamp, raw)
        tampered = raw.replace("03-361", "03-362")
        response = self._request(
            "POST",
            "/events/cost_code.upsert",
            self.key_a,
            tampered,
            {
                signing.TIMESTAMP_HEADER: stamp,
                signing.SIGNATURE_HEADER: old_signature,
                "Idempotency-Key": "tampered",
            },
        )
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["detail"], "Signature mismatch.")
        self.assertEqual(
            len(self.Event.search([("backend_id", "=", self.backend_a.id)])), 2
        )
