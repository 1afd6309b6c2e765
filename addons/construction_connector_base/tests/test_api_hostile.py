"""Hand-written hostile bodies: every answer is a documented 2xx or 4xx problem,
never a 500, and a refused request changes nothing in the database."""

import json

from odoo.tests import HttpCase, tagged

from .common_integration import cost_code_payload, make_backend

API = "/api/construction/v1"
DOCUMENTED = {
    "/events/cost_code.upsert": {200, 202, 400, 401, 403, 404, 409, 413, 415, 422, 429},
    "/events/cost_code.upsert/batch": {207, 400, 401, 403, 404, 413, 415, 422, 429},
}


@tagged("post_install", "-at_install")
class TestApiHostileBodies(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="Hostile PM")
        cls.key = cls.backend._generate_api_key()

    def _post(self, path, raw, key="h-1", content_type="application/json"):
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": content_type}
        if key:
            headers["Idempotency-Key"] = key
        response = self.url_open(f"{API}{path}", data=raw, headers=headers)
        self.env.invalidate_all()
        return response

    def _state(self):
        Account = self.env["account.analytic.account"]
        return (
            self.env["construction.event"].search_count([]),
            Account.search_count([]),
            self.env["construction.binding"].search_count([]),
            self.env["queue.job"].sudo().search_count([]),
        )

    def assertRefused(self, path, raw, status, slug, pointer=None, **kwargs):
        before = self._state()
        response = self._post(path, raw, **kwargs)
        self.assertEqual(response.status_code, status, response.text[:500])
        self.assertIn(status, DOCUMENTED[path])
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")
        body = response.json()
        self.assertTrue(body["type"].endswith(f"/problems/{slug}"), body)
        if pointer is not None:
            self.assertIn(pointer, [error["pointer"] for error in body["errors"]])
        self.assertEqual(self._state(), before, "a refused request changed the DB")
        return body

    def test_malformed_and_non_standard_json(self):
        single = "/events/cost_code.upsert"
        deep = "[" * 100000 + "]" * 100000
        body = self.assertRefused(single, deep, 400, "malformed-json")
        self.assertEqual(body["detail"], "The body is nested too deeply.")
        for raw in (
            '{"external_id": "x", "code": "03-1", "name": "n", "version": NaN}',
            '{"external_id": "x", "code": "03-1", "name": "n", "version": Infinity}',
            '{"external_id": "x", "code": "03-1", "name": "n", "version": 1e400}',
            b'{"name": "\xff\xfe"}',
            " ",
            "{",
        ):
            self.assertRefused(single, raw, 400, "malformed-json")
        # deep but parseable nesting is refused before any validator recurses
        nested = {"external_id": "x", "code": "03-1", "name": "n", "version": 1}
        nested["extra"] = current = {}
        for _level in range(200):
            current["a"] = current = {}
        self.assertRefused(single, json.dumps(nested), 422, "validation-error")

    def test_values_no_field_can_store(self):
        single = "/events/cost_code.upsert"
        for payload, pointer in (
            (cost_code_payload(name="Concrete\u0000"), "/name"),
            (cost_code_payload(name="\ud800 lone surrogate"), "/name"),
            (cost_code_payload(version=2**40), "/version"),
            (cost_code_payload(version=-(2**31) - 1), "/version"),
            (cost_code_payload(name="n", division=1.7e308), "/division"),
        ):
            self.assertRefused(
                single, json.dumps(payload), 422, "validation-error", pointer
            )
        batch = {"events": [{"event_id": "b\u0000", "payload": cost_code_payload()}]}
        self.assertRefused(
            "/events/cost_code.upsert/batch",
            json.dumps(batch),
            422,
            "validation-error",
            "/events/0/event_id",
        )

    def test_nul_in_headers_and_query(self):
        single = "/events/cost_code.upsert"
        payload = json.dumps(cost_code_payload())
        self.assertRefused(single, payload, 400, "invalid-character", key="k\x00")
        before = self._state()
        response = self.url_open(
            f"{API}/outbox?event_type=a%00b",
            headers={"Authorization": f"Bearer {self.key}"},
        )
        self.assertEqual(response.status_code, 400, response.text[:500])
        self.assertTrue(response.json()["type"].endswith("/invalid-character"))
        response = self.url_open(
            f"{API}/health", headers={"Authorization": f"Bearer {self.key}\x00"}
        )
        self.assertEqual(response.status_code, 400, response.text[:500])
        self.assertEqual(self._state(), before)

    def test_query_parameter_named_like_python_self(self):
        # Odoo hands query parameters to controller methods as keyword arguments;
        # ``self`` would collide with the method's own and answer a 500.
        before = self._state()
        response = self.url_open(
            f"{API}/health?self=1", headers={"Authorization": f"Bearer {self.key}"}
        )
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertIn("inbox", response.json())
        response = self.url_open(f"{API}/events/0?self=x&event_id=1")
        self.assertEqual(response.status_code, 401, response.text[:500])
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")
        self.assertEqual(self._state(), before)

    def test_wrong_types_huge_strings_numbers_as_strings(self):
        single = "/events/cost_code.upsert"
        for payload, pointer in (
            (cost_code_payload(version="1"), "/version"),
            (cost_code_payload(code=303), "/code"),
            (cost_code_payload(active="yes"), "/active"),
            (cost_code_payload(name="x" * 300000), "/name"),
            (cost_code_payload(division=["03"]), "/division"),
            (cost_code_payload(version=-1), "/version"),
            (cost_code_payload(version=1.5), "/version"),
        ):
            self.assertRefused(
                single, json.dumps(payload), 422, "validation-error", pointer
            )
        for raw in ("[]", "null", '"text"', "42", "true"):
            self.assertRefused(single, raw, 422, "validation-error")
        self.assertRefused(single, "x" * (1024 * 1024 + 1), 413, "payload-too-large")
        self.assertRefused(
            single,
            json.dumps(cost_code_payload()),
            415,
            "unsupported-media-type",
            content_type="text/plain",
        )
        batch = "/events/cost_code.upsert/batch"
        for raw in ('{"events": {}}', '{"events": "1"}', "[]", '{"events": [[]]}'):
            response = self._post(batch, raw)
            self.assertIn(response.status_code, (207, 422), response.text)
            self.assertFalse(
                [i for i in response.json().get("items", []) if i["status"] < 300]
            )
        self.assertFalse(
            self.env["construction.event"]
            .search([])
            .filtered(lambda e: e.backend_id == self.backend)
        )

    def test_unicode_and_negative_are_accepted_when_valid(self):
        payload = cost_code_payload(
            "pm-ü", "03-371", name="Béton coulé en place – 建筑 🏗️", version=0
        )
        response = self._post("/events/cost_code.upsert", json.dumps(payload))
        self.assertEqual(response.status_code, 202, response.text)
        event = self.env["construction.event"].browse(response.json()["id"])
        self.assertEqual(json.loads(event.payload)["name"], payload["name"])

    def test_unknown_paths_and_methods_answer_problems(self):
        for method, path in (
            ("GET", "/events/null,null"),
            ("POST", "/events/null%2Cnull/replay"),
            ("GET", "/events/cost_code.upsert"),
            ("GET", "/events/12/replay"),
            ("GET", "/events/2305843009213693952"),
            ("POST", "/events/2305843009213693952/replay"),
            ("GET", "/events/0"),
            ("POST", "/nothing/here"),
            ("GET", ""),
        ):
            headers = {"Authorization": f"Bearer {self.key}"}
            if method == "GET":
                response = self.url_open(f"{API}{path}", headers=headers)
            else:
                response = self.url_open(f"{API}{path}", data="{}", headers=headers)
            self.assertEqual(response.status_code, 404, (method, path, response.text))
            self.assertEqual(
                response.headers["Content-Type"], "application/problem+json"
            )
            self.assertTrue(response.json()["type"].endswith("/problems/not-found"))
        # the real routes still answer
        response = self.url_open(f"{API}/openapi.json")
        self.assertEqual(response.status_code, 200)
        response = self.url_open(
            f"{API}/events/999999999", headers={"Authorization": f"Bearer {self.key}"}
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json()["detail"], "No such event.")
