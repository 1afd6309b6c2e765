from .common import ConstructionCommon
from .common_integration import make_backend


class ReconciliationCommon(ConstructionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="PM Platform")
        cls.env["construction.mapping"].create(
            {
                "backend_id": cls.backend.id,
                "kind": "project",
                "external_code": "PRJ-CLINIC",
                "target_ref": f"project.project,{cls.project.id}",
            }
        )
        cls.Run = cls.env["construction.reconciliation.run"]
        cls.Mismatch = cls.env["construction.reconciliation.mismatch"]
        cls.Snapshot = cls.env["construction.reconciliation.snapshot"]

    @classmethod
    def _push(cls, figures, as_of="2026-12-01T23:00:00Z", backend=None):
        """Store a snapshot of {(cost code record, metric): amount}."""
        payload = {
            "as_of": as_of,
            "source": "PM nightly export",
            "lines": [
                {
                    "project": "PRJ-CLINIC",
                    "cost_code": cost_code.code,
                    "metric": metric,
                    "amount": amount,
                }
                for (cost_code, metric), amount in figures.items()
            ],
        }
        Snapshot = cls.env["construction.reconciliation.snapshot"]
        assert not Snapshot._api_errors(payload), Snapshot._api_errors(payload)
        snapshot, errors = Snapshot._create_from_api(backend or cls.backend, payload)
        assert not errors, errors
        return snapshot

    def _mismatches(self, state="open"):
        return {
            (m.cost_code_id, m.metric): (m.odoo_amount, m.external_amount, m.difference)
            for m in self.Mismatch.search(
                [("backend_id", "=", self.backend.id), ("state", "=", state)]
            )
        }
