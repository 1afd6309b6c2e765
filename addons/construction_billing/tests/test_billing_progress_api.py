from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingProgressApi(BillingCommon):
    """progress.update through the integration framework: versions, duplicates,
    out-of-order delivery, bad references."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="Field App")
        cls.env["construction.mapping"].create(
            {
                "backend_id": cls.backend.id,
                "kind": "project",
                "external_code": "PRJ-CLINIC",
                "target_ref": f"project.project,{cls.project.id}",
            }
        )
        cls.env["construction.mapping"].create(
            {
                "backend_id": cls.backend.id,
                "kind": "cost_code",
                "external_code": "STEEL",
                "target_ref": f"account.analytic.account,{cls.cc_steel.id}",
            }
        )
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)

    def _payload(self, period_to, lines, version=1, external_id=None):
        return {
            "external_id": external_id or f"clinic-{period_to}",
            "version": version,
            "project": "PRJ-CLINIC",
            "period_to": period_to,
            "lines": lines,
        }

    def _receive(self, key, payload):
        event, _created = self.Event._receive(
            self.backend, "progress.update", key, payload
        )
        return event

    def _app(self, period_to):
        return self.contract.pay_application_ids.filtered(
            lambda a: str(a.period_to) == period_to
        )

    def test_progress_creates_the_application(self):
        event = self._receive(
            "k-1",
            self._payload(
                "2026-01-31",
                [
                    {"item_no": "1", "percent_complete": 25.0},
                    {"item_no": "2", "work_this_period": 5000.0},
                    {
                        "cost_code": "STEEL",
                        "work_this_period": 0,
                        "stored_to_date": 8000,
                    },
                ],
            ),
        )
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        self.assertEqual(event.state, "done", event.last_error)
        app = self._app("2026-01-31")
        self.assertEqual(app.state, "draft")
        self.assertEqual(self._line(app, self.sov1).work_this_period, 10000.0)
        self.assertEqual(self._line(app, self.sov3).stored_to_date, 8000.0)
        self.assertEqual(app.current_payment_due, 21100.0)
        binding = self.env["construction.binding"]._find(
            self.backend, "construction.pay.application", "clinic-2026-01-31"
        )
        self.assertEqual(binding, app)

    def test_duplicates_and_versions(self):
        lines_v1 = [{"item_no": "1", "percent_complete": 25.0}]
        lines_v2 = [{"item_no": "1", "percent_complete": 30.0}]
        first = self._receive("k-1", self._payload("2026-01-31", lines_v1))
        again = self._receive("k-1", self._payload("2026-01-31", lines_v1))
        self.assertEqual(again, first)
        run_pending_jobs(self.env)
        app = self._app("2026-01-31")
        self.assertEqual(self._line(app, self.sov1).work_this_period, 10000.0)
        # Version 2 replaces the figures (absolute progress, not added).
        v2 = self._receive("k-2", self._payload("2026-01-31", lines_v2, version=2))
        run_pending_jobs(self.env)
        self.assertEqual(v2.state, "done", v2.last_error)
        self.assertEqual(self._line(app, self.sov1).work_this_period, 12000.0)
        # Version 1 sent again under another key, late: superseded, no effect.
        late = self._receive("k-3", self._payload("2026-01-31", lines_v1, version=1))
        run_pending_jobs(self.env)
        self.assertEqual(late.state, "superseded")
        self.assertEqual(self._line(app, self.sov1).work_this_period, 12000.0)
        self.assertEqual(len(self.contract.pay_application_ids), 1)

    def test_out_of_order_periods(self):
        jan = self._receive(
            "k-jan",
            self._payload("2026-01-31", [{"item_no": "1", "percent_complete": 20.0}]),
        )
        run_pending_jobs(self.env)
        self.assertEqual(jan.state, "done", jan.last_error)
        # February arrives while January's application is still open: parked.
        feb = self._receive(
            "k-feb",
            self._payload("2026-02-28", [{"item_no": "1", "percent_complete": 50.0}]),
        )
        # January's version 3 arrives before its version 2.
        jan_v3 = self._receive(
            "k-jan-3",
            self._payload(
                "2026-01-31", [{"item_no": "1", "percent_complete": 25.0}], version=3
            ),
        )
        jan_v2 = self._receive(
            "k-jan-2",
            self._payload(
                "2026-01-31", [{"item_no": "1", "percent_complete": 22.0}], version=2
            ),
        )
        run_pending_jobs(self.env)
        self.assertEqual(feb.state, "parked")
        self.assertIn("must be certified", feb.last_error)
        self.assertEqual(jan_v3.state, "done", jan_v3.last_error)
        self.assertEqual(jan_v2.state, "superseded")
        app_jan = self._app("2026-01-31")
        self.assertEqual(self._line(app_jan, self.sov1).work_this_period, 10000.0)
        self._certify(app_jan)
        feb._requeue()
        run_pending_jobs(self.env)
        self.assertEqual(feb.state, "done", feb.last_error)
        app_feb = self._app("2026-02-28")
        line = self._line(app_feb, self.sov1)
        self.assertEqual(line.previous_work, 10000.0)
        self.assertEqual(line.work_this_period, 10000.0)
        # A late correction for January, already certified, fails readably.
        late = self._receive(
            "k-jan-4",
            self._payload(
                "2026-01-31", [{"item_no": "1", "percent_complete": 26.0}], version=4
            ),
        )
        run_pending_jobs(self.env)
        self.assertEqual(late.state, "failed")
        self.assertIn("can no longer change", late.last_error)
        self.assertEqual(self._line(app_jan, self.sov1).work_this_period, 10000.0)

    def test_period_before_open_application_fails(self):
        self._receive(
            "k-feb",
            self._payload("2026-02-28", [{"item_no": "1", "percent_complete": 50.0}]),
        )
        jan = self._receive(
            "k-jan",
            self._payload("2026-01-31", [{"item_no": "1", "percent_complete": 25.0}]),
        )
        run_pending_jobs(self.env)
        self.assertEqual(jan.state, "failed")
        self.assertIn("before the open", jan.last_error)

    def test_bad_progress_fails_and_writes_nothing(self):
        event = self._receive(
            "k-1",
            self._payload(
                "2026-01-31",
                [
                    {"item_no": "2", "work_this_period": 5000.0},
                    {"item_no": "1", "percent_complete": 100.0, "stored_to_date": 1.0},
                ],
            ),
        )
        run_pending_jobs(self.env)
        self.assertEqual(event.state, "failed")
        self.assertIn("more than 100%", event.last_error)
        self.assertFalse(self.contract.pay_application_ids)

    def test_unknown_line_and_project(self):
        event = self._receive(
            "k-1",
            self._payload("2026-01-31", [{"item_no": "99", "percent_complete": 1.0}]),
        )
        payload = self._payload("2026-01-31", [{"item_no": "1", "percent_complete": 1}])
        payload["project"] = "NOPE"
        unmapped = self._receive("k-2", payload)
        run_pending_jobs(self.env)
        self.assertEqual(event.state, "failed")
        self.assertIn("line 99", event.last_error)
        self.assertEqual(unmapped.state, "failed")
        self.assertIn("unmapped project NOPE", unmapped.last_error)

    def test_schema_rejects_line_without_progress(self):
        errors = self.env["construction.event"]._validate_payload(
            "progress.update",
            self._payload("2026-01-31", [{"item_no": "1", "stored_to_date": 5.0}]),
        )
        self.assertTrue(errors)
        self.assertEqual(errors[0]["pointer"], "/lines/0")

    def test_outbound_invoice_posted_and_paid(self):
        app = self._new_application("2026-01-31")
        self._enter(app, {self.sov1: (10000.00, 0.0)})
        Event = type(self.env["construction.event"])
        with patch.object(Event, "_publish", autospec=True) as publish:
            invoice = self._certify(app)
            self._pay(invoice)
        calls = [(call.args[2], call.args[3]) for call in publish.call_args_list]
        self.assertEqual(
            [(event_type, record) for event_type, record in calls],
            [
                ("billing.pay_application_certified", app),
                ("billing.invoice_posted", invoice),
                ("billing.invoice_paid", invoice),
            ],
        )
        payload = publish.call_args_list[1].args[4]
        self.assertEqual(payload["pay_application"], 1)
        self.assertEqual(payload["amount_total"], 9000.0)
        self.assertEqual(payload["period_to"], "2026-01-31")

    def test_invalid_period_fails_readably(self):
        event = self._receive(
            "k-1",
            self._payload("2026-02-30", [{"item_no": "1", "percent_complete": 1.0}]),
        )
        run_pending_jobs(self.env)
        self.assertEqual(event.state, "failed")
        self.assertIn("Invalid period_to", event.last_error)
