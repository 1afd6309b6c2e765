import json

from odoo.sql_db import db_connect
from odoo.tests import HttpCase, tagged

from ..models.construction_reconciliation import LOCK_CLASS
from .common_integration import make_backend

API = "/api/construction/v1"


@tagged("post_install", "-at_install")
class TestReconciliationApi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="PM Platform")
        cls.key = cls.backend._generate_api_key()
        plan = cls.env.ref("construction_connector_base.analytic_plan_division_03")
        cls.cost_code = cls.env["account.analytic.account"].create(
            {"code": "T03-900", "name": "Test Grout", "plan_id": plan.id}
        )
        cls.project = cls.env["project.project"].create({"name": "Test Depot"})
        cls.env["construction.budget"].create(
            {
                "project_id": cls.project.id,
                "line_ids": [
                    (0, 0, {"cost_code_id": cls.cost_code.id, "original_amount": 5000})
                ],
            }
        )
        cls.env["construction.mapping"].create(
            {
                "backend_id": cls.backend.id,
                "kind": "project",
                "external_code": "DEPOT",
                "target_ref": f"project.project,{cls.project.id}",
            }
        )

    def _post(self, body, key=None):
        response = self.url_open(
            f"{API}/reconciliation/snapshot",
            data=json.dumps(body),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {key or self.key}",
            },
        )
        self.env.invalidate_all()
        return response

    def _payload(self, amount=5250.0, project="DEPOT", cost_code="T03-900", **extra):
        return dict(
            {
                "as_of": "2026-12-01T23:00:00+01:00",
                "source": "PM cost report",
                "lines": [
                    {
                        "project": project,
                        "cost_code": cost_code,
                        "metric": "budget",
                        "amount": amount,
                    }
                ],
            },
            **extra,
        )

    def _snapshots(self):
        return self.env["construction.reconciliation.snapshot"].search(
            [("backend_id", "=", self.backend.id)]
        )

    def assertProblem(self, response, status, slug):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")
        body = response.json()
        self.assertTrue(body["type"].endswith(f"/problems/{slug}"), body)
        return body

    def test_snapshot_stored_and_reconciled(self):
        response = self._post(self._payload())
        self.assertEqual(response.status_code, 201, response.text)
        body = response.json()
        snapshot = self._snapshots()
        self.assertEqual(body["id"], snapshot.id)
        self.assertEqual(body["lines"], 1)
        self.assertEqual(body["as_of"], "2026-12-01T22:00:00Z")
        self.assertNotIn("run", body)
        line = snapshot.line_ids
        self.assertEqual(
            (line.project_id, line.cost_code_id, line.metric, line.amount),
            (self.project, self.cost_code, "budget", 5250.0),
        )
        response = self._post(self._payload(reconcile=True))
        self.assertEqual(response.status_code, 201, response.text)
        run = response.json()["run"]
        self.assertEqual((run["state"], run["opened"], run["open"]), ("done", 1, 1))
        mismatch = self.env["construction.reconciliation.mismatch"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(
            (mismatch.odoo_amount, mismatch.external_amount, mismatch.difference),
            (5000.0, 5250.0, -250.0),
        )
        self.assertEqual(mismatch.opened_run_id.trigger, "api")

    def test_unknown_references_refused_with_nothing_written(self):
        payload = self._payload()
        payload["lines"].append(
            {"project": "NOWHERE", "cost_code": "XX-1", "metric": "billed", "amount": 1}
        )
        body = self.assertProblem(self._post(payload), 422, "unknown-reference")
        self.assertEqual(
            [error["pointer"] for error in body["errors"]],
            ["/lines/1/project", "/lines/1/cost_code"],
        )
        self.assertIn("'NOWHERE'", body["errors"][0]["detail"])
        self.assertIn("'XX-1'", body["errors"][1]["detail"])
        self.assertFalse(self._snapshots())
        body = self.assertProblem(
            self._post({"as_of": "2026-12-01", "lines": []}), 422, "validation-error"
        )
        self.assertEqual(body["errors"][0]["pointer"], "/lines")
        self.assertFalse(self._snapshots())

    def test_409_while_a_run_is_in_progress(self):
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, self.backend.id)
            )
            response = self._post(self._payload(reconcile=True))
            other.rollback()
        self.assertProblem(response, 409, "reconciliation-running")
        self.assertFalse(self._snapshots())
        self.assertFalse(
            self.env["construction.reconciliation.run"].search(
                [("backend_id", "=", self.backend.id)]
            )
        )

    def test_openapi_documents_the_route(self):
        from openapi_spec_validator import validate

        document = self.url_open(f"{API}/openapi.json").json()
        validate(document)
        operation = document["paths"][f"{API}/reconciliation/snapshot"]["post"]
        self.assertIn("409", operation["responses"])
        schema = document["components"]["schemas"]["ReconciliationSnapshot"]
        self.assertEqual(schema["required"], ["as_of", "lines"])
