from datetime import date

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingStaging(BillingCommon):
    """progress.update staged for accounting approval; synced progress locked."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(cls.env, name="Staged Field App")
        cls.backend.approval_policy_ids = [
            (0, 0, {"event_type": "progress.update", "policy": "stage"})
        ]
        cls.env["construction.mapping"].create(
            {
                "backend_id": cls.backend.id,
                "kind": "project",
                "external_code": "PRJ-CLINIC",
                "target_ref": f"project.project,{cls.project.id}",
            }
        )
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)
        cls.approver = new_test_user(
            cls.env,
            login="billing_accounting_approver",
            groups="construction_connector_base.group_construction_accounting_approver",
        )

    def _receive(self, key, percent, version=1):
        event, _created = self.Event._receive(
            self.backend,
            "progress.update",
            key,
            {
                "external_id": "clinic-2026-01-31",
                "version": version,
                "project": "PRJ-CLINIC",
                "period_to": "2026-01-31",
                "lines": [{"item_no": "1", "percent_complete": percent}],
            },
        )
        return event

    def test_accepted_progress_claim_invoiced_on_the_approved_date(self):
        event = self._receive("k-1", 25.0)
        run_pending_jobs(self.env)
        self.assertTrue(event._takes_accounting_date())
        event.with_user(self.approver)._accept(accounting_date=date(2026, 2, 3))
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        app = self.contract.pay_application_ids
        self.assertEqual(app.accounting_date, date(2026, 2, 3))
        app.date = date(2026, 1, 31)
        invoice = self._certify(app)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.invoice_date, date(2026, 1, 31))
        self.assertEqual(invoice.date, date(2026, 2, 3))
        # Once invoiced, a later approval cannot move the posting date.
        app._construction_set_accounting_date(date(2026, 3, 1))
        self.assertEqual(app.accounting_date, date(2026, 2, 3))

    def test_progress_staged_accepted_and_locked(self):
        event = self._receive("k-1", 25.0)
        self.assertEqual(run_pending_jobs(self.env), [])
        self.assertEqual(event.state, "awaiting_approval")
        self.assertFalse(self.contract.pay_application_ids)
        event.with_user(self.approver)._accept("Checked against the site diary")
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        self.assertEqual(event.state, "done", event.last_error)
        app = self.contract.pay_application_ids
        line = self._line(app, self.sov1)
        self.assertEqual(line.work_this_period, 10000.0)
        self.assertTrue(app.construction_synced)
        with self.assertRaisesRegex(UserError, "Correct the progress in the field"):
            line.write({"work_this_period": 12000.0})
        with self.assertRaisesRegex(UserError, "Correct the progress in the field"):
            line.write({"percent_this_period": 30.0})
        self.assertEqual(line.work_this_period, 10000.0)
        # A newer report from the platform (accepted again) updates it.
        newer = self._receive("k-2", 30.0, version=2)
        newer.with_user(self.approver)._accept()
        self.assertEqual(run_pending_jobs(self.env), ["done"])
        self.assertEqual(newer.state, "done", newer.last_error)
        self.assertEqual(line.work_this_period, 12000.0)
