from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingErrors(BillingCommon):
    def _certified_first(self):
        app = self._new_application("2026-01-31")
        self._enter(app, {self.sov1: (10000.00, 0.0), self.sov2: (5000.00, 0.0)})
        self._certify(app)
        return app

    def test_progress_above_100_percent(self):
        app = self._new_application("2026-01-31")
        with self.assertRaisesMsg(ValidationError, "more than 100%"):
            self._line(app, self.sov1).work_this_period = 40000.01
        with self.assertRaisesMsg(ValidationError, "more than 100%"):
            self._line(app, self.sov1).write(
                {"work_this_period": 35000.0, "stored_to_date": 5000.01}
            )
        self.assertEqual(self._line(app, self.sov1).work_this_period, 0.0)
        # Entering 100% as a percentage is fine.
        self._line(app, self.sov1).percent_this_period = 100.0
        self.assertEqual(self._line(app, self.sov1).work_this_period, 40000.0)

    def test_negative_progress_needs_deductive_change(self):
        self._certified_first()
        app = self._new_application("2026-02-28")
        with self.assertRaisesMsg(ValidationError, "deductive change order"):
            self._line(app, self.sov1).work_this_period = -1000.0
        app.unlink()
        # A deductive change order takes 32,000 off concrete (billed 10,000).
        self._approve_change(self.sov1, -32000.0, "2026-02-10", "CO-010")
        self.sov2.contract_id.invalidate_recordset()
        app = self._new_application("2026-02-28")
        line = self._line(app, self.sov1)
        self.assertEqual(line.scheduled_value, 8000.0)
        with self.assertRaisesMsg(ValidationError, "more than 100%"):
            app.action_submit()
        line.work_this_period = -2000.0
        # 1,000 withheld on 10,000: 200 given back on the 2,000 taken off.
        self.assertEqual(line.retainage_to_date, 800.0)
        self.assertEqual(app.current_payment_due, -1800.0)
        self._certify(app)
        self.assertEqual(app.invoice_id.move_type, "out_refund")
        self.assertEqual(app.invoice_id.amount_total, 1800.0)
        self.assertEqual(app.state, "invoiced")

    def test_certified_is_frozen(self):
        app = self._certified_first()
        with self.assertRaisesMsg(UserError, "frozen"):
            app.period_to = "2026-02-15"
        with self.assertRaisesMsg(UserError, "can no longer change"):
            self._line(app, self.sov1).work_this_period = 1.0
        with self.assertRaisesMsg(UserError, "Only draft"):
            app.unlink()
        self.assertEqual(self._line(app, self.sov1).work_this_period, 10000.0)

    def test_revise_and_resubmit(self):
        app = self._new_application("2026-01-31")
        self._enter(app, {self.sov1: (10000.00, 0.0)})
        app.action_submit()
        self.assertEqual(app.state, "submitted")
        with self.assertRaisesMsg(UserError, "send it back for revision"):
            app.date = "2026-01-30"
        with self.assertRaisesMsg(UserError, "can no longer change"):
            self._line(app, self.sov1).work_this_period = 9000.0
        app.action_revise("Owner disputes concrete quantity")
        self.assertEqual(app.state, "draft")
        self._line(app, self.sov1).work_this_period = 9000.0
        self._certify(app)
        self.assertEqual(app.invoice_id.amount_total, 8100.0)

    def test_invoice_twice(self):
        app = self._certified_first()
        invoice = app.invoice_id
        with self.assertRaisesMsg(UserError, "already invoiced"):
            app.action_create_invoice()
        self.assertEqual(
            self.env["account.move"].search_count(
                [("construction_pay_application_id", "=", app.id)]
            ),
            1,
        )
        # After the invoice is cancelled it may be invoiced again.
        invoice.button_draft()
        invoice.button_cancel()
        self.assertEqual(app.state, "certified")
        app.action_create_invoice()
        self.assertNotEqual(app.invoice_id, invoice)
        self.assertEqual(app.invoice_id.amount_total, 13500.0)

    def test_period_before_last(self):
        self._certified_first()
        with self.assertRaisesMsg(ValidationError, "must end after"):
            self._new_application("2026-01-31")
        with self.assertRaisesMsg(ValidationError, "must end after"):
            self._new_application("2026-01-15")

    def test_one_open_application_at_a_time(self):
        self._new_application("2026-01-31")
        with self.assertRaisesMsg(UserError, "before starting the next"):
            self._new_application("2026-02-28")

    def test_release_above_held(self):
        self._certified_first()
        release = self.env["construction.retainage.release"].create(
            {"contract_id": self.contract.id}
        )
        release.action_release_all()
        self.assertEqual(release.amount_total, 1500.0)
        release.line_ids.filtered(
            lambda line: line.sov_line_id == self.sov1
        ).amount = 1000.01
        with self.assertRaisesMsg(ValidationError, "only .*1,000.00 of retainage"):
            release.action_create_invoice()
        self.assertFalse(release.invoice_id)
        self.assertFalse(
            self.env["account.move"].search(
                [("construction_release_id", "=", release.id)]
            )
        )

    def test_sov_must_balance_and_lock(self):
        contract = self.env["construction.contract"].create(
            {
                "project_id": self.project.id,
                "partner_id": self.customer.id,
                "original_contract_sum": 1000.0,
                "sov_line_ids": [
                    (0, 0, {"item_no": "1", "name": "All", "original_value": 999.99})
                ],
            }
        )
        with self.assertRaisesMsg(ValidationError, "must be equal"):
            contract.action_activate()
        self.assertEqual(contract.state, "draft")
        with self.assertRaisesMsg(UserError, "locked"):
            self.sov1.original_value = 1.0

    def test_retention_account_must_reconcile(self):
        account = self.env["account.account"].create(
            {
                "name": "Not reconcilable",
                "code": "121999",
                "account_type": "asset_current",
                "reconcile": False,
            }
        )
        with self.assertRaisesMsg(ValidationError, "must allow reconciliation"):
            self.contract.retention_account_id = account

    def test_edited_invoice_is_refused_at_posting(self):
        app = self._new_application("2026-01-31")
        self._enter(app, {self.sov1: (10000.00, 0.0)})
        app.action_submit()
        app.action_certify()
        invoice = app.invoice_id
        revenue = invoice.invoice_line_ids.filtered(
            lambda line: line.account_id == self.contract.revenue_account_id
        )
        revenue.price_unit = 12000.0
        with self.assertRaisesMsg(UserError, "no longer matches"):
            invoice.action_post()
        self.assertEqual(invoice.state, "draft")
        self.assertEqual(app.state, "certified")
