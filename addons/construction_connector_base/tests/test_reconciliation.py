from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import new_test_user, tagged

from ..models.construction_reconciliation import LOCK_CLASS
from ..tools.exceptions import ReconciliationRunning
from .common_integration import make_backend
from .common_reconciliation import ReconciliationCommon


@tagged("post_install", "-at_install")
class TestReconciliation(ReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bill = cls._post_vendor_bill(12345.67, cls.cc_concrete, cls.material)

    def test_finds_injected_differences_then_closes_them(self):
        self._push(
            {
                (self.cc_concrete, "budget"): 100000.00,  # agrees
                (self.cc_forming, "budget"): 40500.00,  # Odoo 40,000.00
                # steel budget missing externally (Odoo 250,000.00)
                (self.cc_concrete, "jtd_cost"): 12000.00,  # Odoo 12,345.67
                (self.cc_forming, "jtd_cost"): 100.00,  # no cost in Odoo
            }
        )
        run = self.Run._reconcile(self.backend)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.project_count, 1)
        self.assertEqual(run.opened_count, 4)
        self.assertEqual(run.closed_count, 0)
        self.assertEqual(run.open_count, 4)
        self.assertEqual(
            self._mismatches(),
            {
                (self.cc_forming, "budget"): (40000.00, 40500.00, -500.00),
                (self.cc_steel, "budget"): (250000.00, 0.0, 250000.00),
                (self.cc_concrete, "jtd_cost"): (12345.67, 12000.00, 345.67),
                (self.cc_forming, "jtd_cost"): (0.0, 100.00, -100.00),
            },
        )
        steel = self.Mismatch.search(
            [("cost_code_id", "=", self.cc_steel.id), ("metric", "=", "budget")]
        )
        self.assertTrue(steel.external_missing)
        self.assertFalse(steel.odoo_missing)
        self.assertEqual(steel.opened_run_id, run)
        self.assertEqual(self._overview_count(), 4)
        forming_cost = self.Mismatch.search(
            [("cost_code_id", "=", self.cc_forming.id), ("metric", "=", "jtd_cost")]
        )
        self.assertTrue(forming_cost.odoo_missing)

        # The records behind Odoo's job-to-date cost: the bill's analytic line.
        concrete_cost = self.Mismatch.search(
            [("cost_code_id", "=", self.cc_concrete.id), ("metric", "=", "jtd_cost")]
        )
        action = concrete_cost.action_view_odoo_records()
        self.assertEqual(action["res_model"], "account.analytic.line")
        lines = self.env["account.analytic.line"].search(action["domain"])
        self.assertEqual(lines.move_line_id.move_id, self.bill)
        self.assertAlmostEqual(sum(lines.mapped("amount")), -12345.67, places=2)
        action = steel.action_view_odoo_records()
        self.assertEqual(
            self.env[action["res_model"]].search(action["domain"]), self.line_steel
        )

        # A later snapshot changes one figure: the open mismatch is updated.
        self._push(
            {
                (self.cc_concrete, "budget"): 100000.00,
                (self.cc_forming, "budget"): 40600.00,
                (self.cc_steel, "budget"): 250000.00,
                (self.cc_concrete, "jtd_cost"): 12345.67,
                (self.cc_forming, "jtd_cost"): 100.00,
            },
            as_of="2026-12-02T23:00:00Z",
        )
        run2 = self.Run._reconcile(self.backend)
        self.assertEqual(
            (run2.opened_count, run2.updated_count, run2.closed_count), (0, 2, 2)
        )
        self.assertEqual(
            self._mismatches(),
            {
                (self.cc_forming, "budget"): (40000.00, 40600.00, -600.00),
                (self.cc_forming, "jtd_cost"): (0.0, 100.00, -100.00),
            },
        )
        self.assertEqual(steel.state, "closed")
        self.assertEqual(steel.closed_run_id, run2)
        self.assertEqual(self._overview_count(), 2)

        # Fixed on both sides: the budget is raised and the PM drops its figure.
        self.line_forming.original_amount = 40600.00
        self._push(
            {
                (self.cc_concrete, "budget"): 100000.00,
                (self.cc_forming, "budget"): 40600.00,
                (self.cc_steel, "budget"): 250000.00,
                (self.cc_concrete, "jtd_cost"): 12345.67,
            },
            as_of="2026-12-03T23:00:00Z",
        )
        run3 = self.Run._reconcile(self.backend)
        self.assertEqual((run3.opened_count, run3.closed_count), (0, 2))
        self.assertEqual(run3.open_count, 0)
        self.assertEqual(self._mismatches(), {})
        self.assertEqual(
            self.Mismatch.search_count([("backend_id", "=", self.backend.id)]), 4
        )
        self.assertEqual(self.backend.reconciliation_mismatch_count, 0)
        self.assertEqual(self._overview_count(), 0)

    def _overview_count(self):
        """Open mismatches on the Integration Overview tile (and its records)."""
        tiles = self.env["construction.monitor.tile"]._overview_tiles()
        tile = next(t for t in tiles if t["key"] == "reconciliation_open")
        records = self.env[tile["res_model"]].search(tile["domain"])
        self.assertEqual(len(records), tile["count"])
        return tile["count"]

    def test_tolerance_and_rounding(self):
        self.backend.reconciliation_tolerance = 1.00
        self._push(
            {
                (self.cc_concrete, "budget"): 100000.99,  # within 1.00
                (self.cc_forming, "budget"): 40001.01,  # above 1.00
                (self.cc_steel, "budget"): 250001.00,  # exactly 1.00: within
                (self.cc_concrete, "jtd_cost"): 12345.67,
            }
        )
        run = self.Run._reconcile(self.backend)
        self.assertEqual(run.tolerance, 1.00)
        self.assertEqual(
            self._mismatches(),
            {(self.cc_forming, "budget"): (40000.0, 40001.01, -1.01)},
        )
        self.assertEqual(self.Mismatch.search([]).filtered("tolerance").tolerance, 1.0)
        # Without tolerance, a sub-cent difference still rounds away.
        self.backend.reconciliation_tolerance = 0.0
        self._push(
            {
                (self.cc_concrete, "budget"): 100000.004,
                (self.cc_forming, "budget"): 40000.00,
                (self.cc_steel, "budget"): 250000.01,
                (self.cc_concrete, "jtd_cost"): 12345.67,
            },
            as_of="2026-12-02",
        )
        self.Run._reconcile(self.backend)
        self.assertEqual(
            self._mismatches(),
            {(self.cc_steel, "budget"): (250000.0, 250000.01, -0.01)},
        )

    def test_unknown_project_or_cost_code_writes_nothing(self):
        payload = {
            "as_of": "2026-12-01",
            "lines": [
                {
                    "project": "PRJ-CLINIC",
                    "cost_code": self.cc_concrete.code,
                    "metric": "budget",
                    "amount": 1.0,
                },
                {
                    "project": "PRJ-UNKNOWN",
                    "cost_code": "99-999",
                    "metric": "budget",
                    "amount": 2.0,
                },
            ],
        }
        self.assertEqual(self.Snapshot._api_errors(payload), [])
        snapshot, errors = self.Snapshot._create_from_api(self.backend, payload)
        self.assertFalse(snapshot)
        self.assertEqual(
            [error["pointer"] for error in errors],
            ["/lines/1/project", "/lines/1/cost_code"],
        )
        self.assertIn("PRJ-UNKNOWN", errors[0]["detail"])
        self.assertIn("99-999", errors[1]["detail"])
        self.assertFalse(self.Snapshot.search([("backend_id", "=", self.backend.id)]))
        self.assertFalse(self.backend._reconciliation_has_source())
        with self.assertRaisesMsg(UserError, "reported no figures"):
            self.backend.action_reconcile()

    def test_bad_payloads(self):
        duplicate = {
            "project": "PRJ-CLINIC",
            "cost_code": "T03-100",
            "metric": "budget",
            "amount": 1,
        }
        errors = self.Snapshot._api_errors(
            {"as_of": "yesterday!", "lines": [duplicate, duplicate]}
        )
        self.assertEqual([e["pointer"] for e in errors], ["/as_of", "/lines/1"])
        # before year 1 once in UTC: refused, not an OverflowError
        errors = self.Snapshot._api_errors(
            {"as_of": "0001-01-01T00:00:00+01:00", "lines": [duplicate]}
        )
        self.assertEqual([e["pointer"] for e in errors], ["/as_of"])
        errors = self.Snapshot._api_errors(
            {"as_of": "2026-12-01", "lines": [dict(duplicate, metric="profit")]}
        )
        self.assertEqual([e["pointer"] for e in errors], ["/lines/0/metric"])

    def test_second_run_refused_while_one_runs(self):
        self._push({(self.cc_forming, "budget"): 1.00})
        # Another transaction holds the backend's lock: a run is in progress.
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, self.backend.id)
            )
            with self.assertRaisesMsg(ReconciliationRunning, "already running"):
                self.Run._reconcile(self.backend)
            with self.assertRaisesMsg(UserError, "already running"):
                self.project.action_construction_reconcile()
            self.assertFalse(self.Run.search([("backend_id", "=", self.backend.id)]))
            self.assertFalse(self._mismatches())
            # The nightly run skips it, and says so in the runs list.
            self.Run._cron_reconcile()
            skipped = self.Run.search([("backend_id", "=", self.backend.id)])
            self.assertEqual(
                (skipped.state, skipped.trigger, skipped.compared_count),
                ("skipped", "cron", 0),
            )
            self.assertIn("already running", skipped.error)
            self.assertTrue(skipped.finished_at)
            self.assertFalse(self._mismatches())
            self.assertEqual(
                self.Run.search_count(
                    [("backend_id", "=", self.backend.id), ("state", "=", "skipped")]
                ),
                1,
            )
            other.rollback()
        # Once it has finished, a run goes through, once.
        action = self.project.action_construction_reconcile()
        run = self.Run.browse(action["res_id"])
        self.assertNotEqual(run, skipped)
        self.assertEqual(run.project_id, self.project)
        self.assertEqual(run.state, "done")
        # forming budget differs; concrete and steel budgets and the concrete cost
        # are missing externally
        self.assertEqual(len(self._mismatches()), 4)

    def test_only_managers_reconcile(self):
        self._push({(self.cc_forming, "budget"): 1.00})
        user = new_test_user(
            self.env,
            login="rec_user",
            groups="construction_connector_base.group_construction_user",
        )
        with self.assertRaisesMsg(UserError, "Only a Construction Manager"):
            self.Run.with_user(user)._reconcile(self.backend)
        with self.assertRaisesMsg(UserError, "Only a Construction Manager"):
            self.backend.with_user(user).action_reconcile()
        self.assertFalse(self.Run.search([("backend_id", "=", self.backend.id)]))
        # users read the outcome
        self.Run._reconcile(self.backend)
        self.assertEqual(
            len(self.Mismatch.with_user(user).search([("state", "=", "open")])), 4
        )

    def test_other_company_sees_nothing(self):
        self._push({(self.cc_forming, "budget"): 1.00})
        self.Run._reconcile(self.backend)
        other = self.env["res.company"].create({"name": "Rival Builders"})
        manager = new_test_user(
            self.env,
            login="rec_rival",
            groups="construction_connector_base.group_construction_manager",
            company_id=other.id,
            company_ids=[other.id],
        )
        for model in (
            "construction.reconciliation.run",
            "construction.reconciliation.mismatch",
            "construction.reconciliation.snapshot",
            "construction.reconciliation.snapshot.line",
        ):
            self.assertEqual(self.env[model].with_user(manager).search_count([]), 0)
        self.assertEqual(self.Mismatch.search_count([("state", "=", "open")]), 4)

    def test_failed_adapter_is_recorded(self):
        self._push({(self.cc_forming, "budget"): 40000.00})
        with patch.object(
            type(self.backend),
            "_reconciliation_external_figures",
            side_effect=ConnectionError("PM platform timed out"),
        ):
            run = self.Run._reconcile(self.backend)
        self.assertEqual(run.state, "failed")
        self.assertIn("PM platform timed out", run.error)
        self.assertTrue(run.finished_at)
        self.assertFalse(self._mismatches())

    def test_cron_runs_backends_with_figures(self):
        idle = make_backend(self.env, name="Idle Field App")
        self._push(
            {
                (self.cc_concrete, "budget"): 100000.00,
                (self.cc_forming, "budget"): 40000.00,
                (self.cc_steel, "budget"): 250000.00,
                (self.cc_concrete, "jtd_cost"): 12345.67,
            }
        )
        self.Run._cron_reconcile()
        run = self.Run.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(run.trigger, "cron")
        self.assertEqual(
            (run.state, run.compared_count, run.open_count), ("done", 4, 0)
        )
        self.assertFalse(self.Run.search([("backend_id", "=", idle.id)]))
        # a snapshot older than the latest one does not count
        self._push({(self.cc_forming, "budget"): 1.00}, as_of="2026-11-01")
        stale = self._push({(self.cc_forming, "budget"): 2.00}, as_of="2025-01-01")
        latest = self.Snapshot.search([("backend_id", "=", self.backend.id)], limit=1)
        self.Run._cron_reconcile()
        self.assertFalse(self._mismatches())
        # past the 90-day retention and nobody's latest: purged by the cron
        self.assertFalse(stale.exists())
        self.assertTrue(latest.exists())  # kept however old: the project's latest

    def test_grouped_queries_over_many_lines(self):
        """100,000 analytic lines: grouped queries, exact total, bounded queries."""
        plan = self.env["account.analytic.plan"]
        column = plan._construction_column("cost_code")
        self.env.flush_all()
        self.env.cr.execute(
            f"""
            INSERT INTO account_analytic_line
                (name, date, amount, unit_amount, account_id, "{column}",
                 company_id, currency_id, category, create_date, write_date)
            SELECT 'bulk cost', '2026-11-30', -0.25, 0, %s, %s, %s, %s, 'other',
                   now(), now()
              FROM generate_series(1, 100000)
            """,
            (
                self.project.account_id.id,
                self.cc_steel.id,
                self.company.id,
                self.currency.id,
            ),
        )
        self._push({(self.cc_steel, "jtd_cost"): 25000.00})
        self.env.invalidate_all()
        with self.assertQueryCount(__system__=7):
            figures = self.Run._reconciliation_odoo_figures(self.project)
        self.assertAlmostEqual(
            figures[(self.project.id, self.cc_steel.id, "jtd_cost")], 25000.00, 2
        )
        self.Run._reconcile(self.backend)
        self.assertNotIn((self.cc_steel, "jtd_cost"), self._mismatches())
