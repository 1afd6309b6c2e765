from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestSubcontractPayApplication(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.retention_account = cls.env["account.account"].create(
            {
                "name": "Test Retention Payable",
                "code": "219901",
                "account_type": "liability_current",
            }
        )
        cls.company.write(
            {
                "construction_retention_payable_account_id": cls.retention_account.id,
                "construction_compliance_policy": "block",
                "construction_compliance_warning_days": 30,
            }
        )
        cls.order = cls._create_order(
            [
                (cls.erection, 1.0, 20000.0, cls.cc_steel, cls.subcontract),
                (cls.erection, 1.0, 10000.0, cls.cc_concrete, cls.subcontract),
            ],
            partner=cls.steel_vendor,
            construction_is_subcontract=True,
            construction_retainage_percent=10.0,
            construction_retainage_stored_percent=5.0,
        )
        cls.order.button_confirm()
        cls.sov_steel, cls.sov_concrete = cls.order.order_line
        cls.Doc = cls.env["construction.compliance.document"]
        cls.coi = cls.Doc.create(
            {
                "name": "COI 2026",
                "partner_id": cls.steel_vendor.id,
                "document_type": "insurance",
                "coverage_amount": 2000000.0,
                "date_effective": "2026-01-01",
                "date_expiry": "2026-12-31",
            }
        )
        cls.env["construction.compliance.requirement"].create(
            {
                "order_id": cls.order.id,
                "document_type": "insurance",
                "min_coverage": 1000000.0,
            }
        )

    def _app(self, start, end, lines, app_type="work_materials", release=0.0):
        """lines: {sov_line: (work_this_period, stored_to_date)}"""
        app = self.env["construction.subcontract.pay.application"].create(
            {
                "order_id": self.order.id,
                "period_start": start,
                "period_end": end,
                "application_type": app_type,
                "retainage_release_amount": release,
            }
        )
        for line in app.line_ids:
            if line.purchase_line_id in lines:
                work, stored = lines[line.purchase_line_id]
                line.write({"work_this_period": work, "stored_to_date": stored})
        return app

    def _approve(self, app, day):
        app.action_submit()
        app.with_context(compliance_date=day).action_approve()
        app.bill_id.action_post()
        return app.bill_id

    def _by_account(self, move):
        result = {}
        for item in move.line_ids:
            debit, credit = result.get(item.account_id, (0.0, 0.0))
            result[item.account_id] = (debit + item.debit, credit + item.credit)
        return result

    def test_three_periods_stored_materials_and_release(self):
        payable = self.steel_vendor.property_account_payable_id
        # Period 1: 5,000 work + 2,000 stored on steel; 1,000 work on concrete.
        app1 = self._app(
            "2026-03-01",
            "2026-03-31",
            {self.sov_steel: (5000.0, 2000.0), self.sov_concrete: (1000.0, 0.0)},
        )
        self.assertEqual(app1.amount_this_period, 8000.0)
        # 10 % of 6,000 work + 5 % of 2,000 stored.
        self.assertEqual(app1.retainage_this_period, 700.0)
        self.assertEqual(app1.amount_due, 7300.0)
        bill1 = self._approve(app1, "2026-03-31")
        self.assertEqual(app1.state, "approved")
        self.assertEqual(bill1.amount_total, 7300.0)
        accounts = self._by_account(bill1)
        self.assertEqual(accounts[payable], (0.0, 7300.0))
        self.assertEqual(accounts[self.retention_account], (0.0, 700.0))
        self.assertEqual(
            sum(bill1.line_ids.mapped("debit")), sum(bill1.line_ids.mapped("credit"))
        )
        self.assertEqual(bill1.construction_match_state, "matched")
        # Committed and actual per cost code (steel 250,000 budget line).
        self.assertEqual(self._budget_amounts(self.line_steel), (13000.0, 7000.0))
        self.assertEqual(self.sov_concrete.construction_committed_amount, 9000.0)
        self.assertEqual(self.order.construction_retainage_balance, 700.0)

        # Period 2: stored materials installed (stored 2,000 -> 500), 4,000 work.
        app2 = self._app("2026-04-01", "2026-04-30", {self.sov_steel: (4000.0, 500.0)})
        steel2 = app2.line_ids.filtered(lambda r: r.purchase_line_id == self.sov_steel)
        concrete2 = app2.line_ids - steel2
        self.assertEqual(concrete2.previous_work, 1000.0)
        self.assertEqual(concrete2.amount_this_period, 0.0)
        self.assertEqual(steel2.previous_work, 5000.0)
        self.assertEqual(steel2.previous_stored, 2000.0)
        self.assertEqual(steel2.total_completed_stored, 9500.0)
        self.assertEqual(steel2.balance_to_finish, 10500.0)
        self.assertEqual(steel2.percent_complete, 47.5)
        self.assertEqual(app2.amount_this_period, 2500.0)
        # Steel retainage to date 900 + 25 = 925, previously 500 + 100.
        self.assertEqual(app2.retainage_this_period, 325.0)
        bill2 = self._approve(app2, "2026-04-30")
        self.assertEqual(bill2.amount_total, 2175.0)
        self.assertEqual(self.order.construction_retainage_balance, 1025.0)
        self.assertEqual(self._budget_amounts(self.line_steel), (10500.0, 9500.0))

        # Bad input: above the scheduled value, more retainage than held.
        bad = self._app("2026-05-01", "2026-05-31", {self.sov_steel: (11500.0, 0.0)})
        with self.assertRaisesMsg(ValidationError, "above the scheduled value"):
            bad.action_submit()
        self.assertEqual(bad.state, "draft")
        bad.unlink()
        bad = self._app("2026-05-01", "2026-05-31", {}, "retainage", release=1100.0)
        with self.assertRaisesMsg(ValidationError, "holds .*1,025.00"):
            bad.action_submit()
        bad.unlink()

        # Period 3: 11,000 work finishing steel (stored 500 -> 0, installed),
        # and a partial retainage release of 300.
        app3 = self._app(
            "2026-05-01",
            "2026-05-31",
            {self.sov_steel: (11000.0, 0.0)},
            "full",
            release=300.0,
        )
        self.assertEqual(app3.amount_this_period, 10500.0)
        # Steel retainage to date 2,000 (10 % of 20,000), previously 925.
        self.assertEqual(app3.retainage_this_period, 1075.0)
        self.assertEqual(app3.amount_due, 9725.0)
        bill3 = self._approve(app3, "2026-05-31")
        accounts = self._by_account(bill3)
        self.assertEqual(accounts[payable], (0.0, 9725.0))
        # 1,075 withheld (credit) and 300 released (debit) on Retention Payable.
        self.assertEqual(accounts[self.retention_account], (300.0, 1075.0))
        self.assertEqual(self.order.construction_retainage_withheld, 2100.0)
        self.assertEqual(self.order.construction_retainage_released, 300.0)
        self.assertEqual(self.order.construction_retainage_balance, 1800.0)
        self.assertEqual(self._budget_amounts(self.line_steel), (0.0, 20000.0))
        posted = self.env["account.move.line"].search(
            [
                ("account_id", "=", self.retention_account.id),
                ("parent_state", "=", "posted"),
            ]
        )
        self.assertEqual(sum(posted.mapped("balance")), -1800.0)
        with self.assertRaisesMsg(UserError, "cannot be changed"):
            app3.line_ids[0].work_this_period = 1.0

    def test_approval_blocked_by_expired_certificate(self):
        app = self._app("2027-01-01", "2027-01-31", {self.sov_steel: (1000.0, 0.0)})
        app.action_submit()
        with self.assertRaisesMsg(UserError, "Certificate of Insurance COI 2026"):
            app.with_context(compliance_date="2027-01-31").action_approve()
        self.assertEqual(app.state, "under_review")
        self.assertFalse(app.bill_id)
        self.assertEqual(
            self.coi.with_context(compliance_date="2027-01-31").state, "expired"
        )
        self.assertEqual(
            self.coi.with_context(compliance_date="2026-12-15").state, "expiring"
        )
        # A renewal with too little coverage does not count.
        self.Doc.create(
            {
                "name": "COI 2027 small",
                "partner_id": self.steel_vendor.id,
                "document_type": "insurance",
                "coverage_amount": 500000.0,
                "date_effective": "2027-01-01",
                "date_expiry": "2027-12-31",
            }
        )
        with self.assertRaisesMsg(UserError, "not compliant"):
            app.with_context(compliance_date="2027-01-31").action_approve()
        self.Doc.create(
            {
                "name": "COI 2027",
                "partner_id": self.steel_vendor.id,
                "document_type": "insurance",
                "coverage_amount": 1000000.0,
                "date_effective": "2027-01-01",
                "date_expiry": "2027-12-31",
            }
        )
        app.with_context(compliance_date="2027-01-31").action_approve()
        self.assertEqual(app.state, "approved")
        self.assertEqual(app.bill_id.amount_total, 900.0)

    def test_warn_policy_and_missing_document(self):
        self.company.construction_compliance_policy = "warn"
        self.env["construction.compliance.requirement"].create(
            {"order_id": self.order.id, "document_type": "bond"}
        )
        app = self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        app.action_submit()
        app.with_context(compliance_date="2026-03-31").action_approve()
        self.assertEqual(app.state, "approved")
        self.assertIn("Bond missing", app.message_ids[0].body)

    def test_rejected_line_and_review(self):
        app = self._app(
            "2026-03-01",
            "2026-03-31",
            {self.sov_steel: (1000.0, 0.0), self.sov_concrete: (2000.0, 0.0)},
        )
        app.action_submit()
        app.action_revise()
        self.assertEqual(app.state, "revise_and_resubmit")
        concrete = app.line_ids.filtered(
            lambda r: r.purchase_line_id == self.sov_concrete
        )
        with self.assertRaisesMsg(ValidationError, "needs a reason"):
            concrete.rejected = True
        concrete.write({"rejected": True, "rejection_reason": "Not installed"})
        self.assertEqual(app.amount_this_period, 1000.0)
        app.action_submit()
        with self.assertRaisesMsg(UserError, "review note"):
            app.with_context(compliance_date="2026-03-31").action_approve_as_noted()
        app.review_note = "Concrete rejected: not installed."
        app.with_context(compliance_date="2026-03-31").action_approve_as_noted()
        self.assertEqual(app.state, "approved_as_noted")
        self.assertEqual(app.bill_id.amount_untaxed, 900.0)

    def test_percent_entry_and_expiry_activity(self):
        app = self._app("2026-03-01", "2026-03-31", {})
        steel = app.line_ids.filtered(lambda r: r.purchase_line_id == self.sov_steel)
        steel.percent_this_period = 25.0
        self.assertEqual(steel.work_this_period, 5000.0)
        self.Doc.with_context(compliance_date="2026-12-10")._cron_expiry_activities()
        self.assertEqual(len(self.coi.activity_ids), 1)
        self.Doc.with_context(compliance_date="2026-12-11")._cron_expiry_activities()
        self.assertEqual(len(self.coi.activity_ids), 1)

    def test_lien_waiver_blocks_next_approval(self):
        self.company.construction_lien_waiver_policy = "block"
        app1 = self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        self._approve(app1, "2026-03-31")
        self.assertEqual(app1.amount_due, 900.0)
        app2 = self._app("2026-04-01", "2026-04-30", {self.sov_steel: (2000.0, 0.0)})
        app2.action_submit()
        with self.assertRaisesMsg(UserError, "no received unconditional"):
            app2.with_context(compliance_date="2026-04-30").action_approve()
        Waiver = self.env["construction.lien.waiver"]
        with self.assertRaisesMsg(ValidationError, "before the period"):
            Waiver.create(
                {
                    "name": "LW bad date",
                    "application_id": app1.id,
                    "amount": 900.0,
                    "through_date": "2026-02-28",
                }
            )
        wrong = Waiver.create(
            {
                "name": "LW-1",
                "application_id": app1.id,
                "amount": 1000.0,
                "through_date": "2026-03-31",
            }
        )
        wrong.action_receive()
        with self.assertRaisesMsg(UserError, "do not match its payment of"):
            app2.with_context(compliance_date="2026-04-30").action_approve()
        self.assertEqual(app2.state, "under_review")
        self.assertFalse(app2.bill_id)
        wrong.amount = 900.0
        app2.with_context(compliance_date="2026-04-30").action_approve()
        self.assertEqual(app2.state, "approved")
        self.assertEqual(app2.bill_id.amount_total, 1800.0)

    def test_joint_check(self):
        supplier = self.env["res.partner"].create({"name": "Test Rebar Supply Co"})
        app = self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        bill = self._approve(app, "2026-03-31")
        payment = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bill.ids)
            .create(
                {
                    "payment_date": "2026-04-15",
                    "construction_joint_payee_id": supplier.id,
                }
            )
            ._create_payments()
        )
        self.assertEqual(payment.construction_joint_payee_id, supplier)
        self.assertEqual(payment.amount, 900.0)
        self.assertIn(bill.payment_state, ("paid", "in_payment"))
        app.action_mark_paid()
        self.assertEqual(app.state, "paid")
