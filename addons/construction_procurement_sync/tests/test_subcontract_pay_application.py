from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import html2plaintext

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
        # No payment terms on the subcontract: due at the period end, not today.
        self.assertEqual(str(bill1.invoice_date_due), "2026-03-31")
        # Committed and actual per cost code (steel 250,000 budget line).
        self.assertEqual(self._budget_amounts(self.line_steel), (13000.0, 7000.0))
        self.assertEqual(self.sov_concrete.construction_committed_amount, 9000.0)
        self.assertEqual(self.order.construction_retainage_balance, 700.0)
        # Billed by amount: 7,000 of 20,000 and 1,000 of 10,000, not "1 of 1".
        self.assertEqual(self.sov_steel.qty_invoiced, 0.35)
        self.assertEqual(self.sov_concrete.qty_invoiced, 0.1)
        self.assertEqual(self.order.invoice_status, "to invoice")

        # Period 2: stored materials installed (stored 2,000 -> 500), 4,000 work.
        # The subcontract now pays at 30 days.
        self.order.payment_term_id = self.env.ref("account.account_payment_term_30days")
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
        self.assertEqual(str(bill2.invoice_date_due), "2026-05-30")
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
        # The release entered as a total is spread by retainage held per line.
        self.assertEqual(
            app3.line_ids.mapped("retainage_release"),
            [270.73, 29.27]
            if app3.line_ids[0].purchase_line_id == self.sov_steel
            else [29.27, 270.73],
        )
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
        # Steel fully billed (20,000); concrete 1,000 of 10,000.
        self.assertEqual(self.sov_steel.qty_invoiced, 1.0)
        self.assertEqual(self.sov_steel.qty_to_invoice, 0.0)
        self.assertEqual(self.sov_concrete.qty_invoiced, 0.1)
        self.assertEqual(self.order.invoice_status, "to invoice")

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
        fmt = app1.currency_id.format
        # The waiver says how it differs, before anyone approves or pays.
        self.assertEqual(
            wrong.mismatch,
            f"Amount {fmt(1000.0)}, not the payment due of {fmt(900.0)}.",
        )
        early = Waiver.new(
            {"application_id": app1.id, "amount": 900.0, "through_date": "2026-03-15"}
        )
        self.assertEqual(
            early.mismatch, "Through 03/15/2026, before the period end of 03/31/2026."
        )
        wrong.action_receive()
        with self.assertRaisesMsg(UserError, "do not match its payment of") as caught:
            app2.with_context(compliance_date="2026-04-30").action_approve()
        self.assertIn(f"not the payment due of {fmt(900.0)}", str(caught.exception))
        self.assertEqual(app2.state, "under_review")
        self.assertFalse(app2.bill_id)
        # The signed terms are fixed: a corrected waiver is signed again.
        with self.assertRaisesMsg(UserError, "signed terms cannot change"):
            wrong.amount = 900.0
        wrong.action_reset_requested()
        mismatched = [("mismatch", "!=", False)]
        self.assertIn(wrong, Waiver.search(mismatched))
        wrong.amount = 900.0
        self.assertFalse(wrong.mismatch)
        self.assertNotIn(wrong, Waiver.search(mismatched))
        self.assertIn(wrong, Waiver.search([("mismatch", "=", False)]))
        wrong.action_receive()
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
        # Paid by itself with its bill; cancelling the payment reverts it.
        self.assertEqual(app.state, "paid")
        self.assertEqual(
            payment.construction_pay_to,
            ("Test Steel Erectors Inc and Test Rebar Supply Co jointly"),
        )
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("account.action_report_payment_receipt", payment.ids)[0]
            .decode()
        )
        self.assertIn("Test Steel Erectors Inc and Test Rebar Supply Co jointly", html)
        # The remittance advice sent with the check names both payees.
        remittance = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "construction_procurement_sync.action_report_construction_remittance_advice",
                payment.ids,
            )[0]
            .decode()
        )
        text = " ".join(html2plaintext(remittance).replace("*", "").split())
        self.assertIn(
            "Pay to the order of Test Steel Erectors Inc and Test Rebar Supply Co "
            "jointly",
            text,
        )
        self.assertIn("Joint Payee Test Rebar Supply Co", text)
        self.assertIn(
            "issued to Test Steel Erectors Inc and Test Rebar Supply Co jointly; "
            "both payees must endorse it",
            text,
        )
        self.assertIn(payment.currency_id.amount_to_text(900.0), text)
        self.assertIn(bill.name, text)
        self.assertIn(app.name, text)
        if self.env["ir.actions.report"].get_wkhtmltopdf_state() == "ok":
            # As printed: the payees are text in the PDF (system fonts).
            _pdf, text = self._render_pdf(
                "construction_procurement_sync.action_report_construction_remittance_advice",
                payment,
            )
            self.assertIn("Test Steel Erectors Inc and Test Rebar Supply Co", text)
        payment.action_draft()
        payment.action_cancel()
        self.assertEqual(bill.payment_state, "not_paid")
        self.assertEqual(app.state, "approved")

    # ---- controls added on top of the pay applications ----

    def _register_payment(self, bill, day="2026-04-15", **vals):
        return (
            self.env["account.payment.register"]
            .with_context(
                active_model="account.move", active_ids=bill.ids, compliance_date=day
            )
            .create(dict({"payment_date": day}, **vals))
            ._create_payments()
        )

    def _line(self, app, sov):
        return app.line_ids.filtered(lambda r: r.purchase_line_id == sov)

    def test_mismatched_waiver_blocks_payment(self):
        self.company.write(
            {
                "construction_lien_waiver_policy": "block",
                "construction_subcontract_check_stage": "payment",
            }
        )
        Payment = self.env["account.payment"]
        app = self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        bill = self._approve(app, "2026-03-31")
        self.assertEqual(app.amount_due, 900.0)
        with self.assertRaisesMsg(UserError, "no received conditional or uncondi"):
            self._register_payment(bill)
        waiver = self.env["construction.lien.waiver"].create(
            {
                "name": "CLW-1",
                "application_id": app.id,
                "condition": "conditional",
                "amount": 1000.0,
                "through_date": "2026-03-31",
            }
        )
        waiver.action_receive()
        with self.assertRaisesMsg(UserError, "do not match its payment of"):
            bill.action_register_payment()
        with self.assertRaisesMsg(UserError, "do not match its payment of"):
            self._register_payment(bill)
        self.assertEqual(bill.payment_state, "not_paid")
        self.assertFalse(Payment.search([("partner_id", "=", self.steel_vendor.id)]))
        self.assertEqual(app.state, "approved")
        # A through date before the period is refused outright.
        waiver.action_reset_requested()
        with self.assertRaisesMsg(ValidationError, "before the period"):
            waiver.through_date = "2026-02-27"
        waiver.amount = 900.0
        waiver.action_receive()
        payment = self._register_payment(bill)
        self.assertEqual(payment.amount, 900.0)
        self.assertEqual(waiver.payment_id, payment)
        self.assertEqual(payment.construction_lien_waiver_ids, waiver)
        self.assertEqual(app.state, "paid")

    def test_compliance_checked_at_payment(self):
        self.company.construction_subcontract_check_stage = "both"
        app = self._app("2026-11-01", "2026-11-30", {self.sov_steel: (1000.0, 0.0)})
        bill = self._approve(app, "2026-11-30")
        self.assertEqual(app.state, "approved")
        with self.assertRaisesMsg(UserError, "Certificate of Insurance COI 2026"):
            self._register_payment(bill, "2027-01-05")
        self.assertEqual(bill.payment_state, "not_paid")
        self.company.construction_compliance_policy = "warn"
        self._register_payment(bill, "2027-01-05")
        self.assertEqual(app.state, "paid")
        self.assertIn("not compliant", app.message_ids[0].body)

    def _direct_payment(self, amount, bills=None, day="2026-04-15"):
        """A vendor payment entered by hand (not through Register Payment)."""
        return (
            self.env["account.payment"]
            .with_context(compliance_date=day)
            .create(
                {
                    "payment_type": "outbound",
                    "partner_type": "supplier",
                    "partner_id": self.steel_vendor.id,
                    "amount": amount,
                    "date": day,
                    "invoice_ids": [Command.set(bills.ids)] if bills else [],
                }
            )
        )

    def test_direct_payment_checked(self):
        self.company.write(
            {
                "construction_lien_waiver_policy": "block",
                "construction_subcontract_check_stage": "payment",
            }
        )
        app = self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        bill = self._approve(app, "2026-03-31")
        # A payment for the bill confirmed directly: refused without a waiver.
        linked = self._direct_payment(900.0, bill)
        with self.assertRaisesMsg(UserError, "no received conditional or uncondi"):
            linked.action_post()
        self.assertEqual(linked.state, "draft")
        # A payment on account posts (it pays no bill yet) ...
        on_account = self._direct_payment(900.0)
        on_account.action_post()
        self.assertTrue(on_account.move_id, "the bank journal books payments")
        outstanding = self._outstanding_line(on_account, bill)
        self.assertEqual(len(outstanding), 1)
        # ... but adding it to the bill is a payment of the bill: refused.
        with (
            self.assertRaisesMsg(UserError, "no received conditional or uncondi"),
            self.env.cr.savepoint(),
        ):
            bill.with_context(compliance_date="2026-04-15").js_assign_outstanding_line(
                outstanding.id
            )
        self.assertEqual(bill.payment_state, "not_paid")
        self.assertEqual(app.state, "approved")
        waiver = self.env["construction.lien.waiver"].create(
            {
                "name": "CLW-D1",
                "application_id": app.id,
                "condition": "conditional",
                "amount": 1000.0,
                "through_date": "2026-03-31",
            }
        )
        waiver.action_receive()
        with (
            self.assertRaisesMsg(UserError, "do not match its payment of"),
            self.env.cr.savepoint(),
        ):
            bill.with_context(compliance_date="2026-04-15").js_assign_outstanding_line(
                outstanding.id
            )
        self.assertEqual(bill.payment_state, "not_paid")
        waiver.action_reset_requested()
        waiver.amount = 900.0
        waiver.action_receive()
        bill.with_context(compliance_date="2026-04-15").js_assign_outstanding_line(
            outstanding.id
        )
        self.assertIn(bill.payment_state, ("paid", "in_payment"))
        self.assertEqual(app.state, "paid")
        self.assertEqual(waiver.payment_id, on_account)
        self.assertEqual(on_account.construction_lien_waiver_ids, waiver)

    def test_direct_payment_compliance_warn(self):
        """Under a warning policy the direct payment goes through, noted once."""
        self.company.write(
            {
                "construction_subcontract_check_stage": "payment",
                "construction_compliance_policy": "warn",
            }
        )
        app = self._app("2026-11-01", "2026-11-30", {self.sov_steel: (1000.0, 0.0)})
        bill = self._approve(app, "2026-11-30")
        payment = self._direct_payment(900.0, bill, day="2027-01-05")
        payment.action_post()
        self.assertEqual(payment.state, "in_process")
        notes = app.message_ids.filtered(lambda m: "not compliant" in (m.body or ""))
        self.assertEqual(len(notes), 1)
        self.assertIn("Certificate of Insurance COI 2026", notes.body)
        # Blocking policy: the same payment route is refused.
        self.company.construction_compliance_policy = "block"
        app2 = self._app("2026-12-01", "2026-12-31", {self.sov_steel: (500.0, 0.0)})
        bill2 = self._approve(app2, "2026-12-15")
        blocked = self._direct_payment(450.0, bill2, day="2027-01-05")
        with self.assertRaisesMsg(UserError, "Certificate of Insurance COI 2026"):
            blocked.action_post()
        self.assertEqual(blocked.state, "draft")

    def test_period_order_and_numbering(self):
        app1 = self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        app2 = self._app("2026-04-01", "2026-04-30", {self.sov_steel: (1000.0, 0.0)})
        self.assertEqual((app1.application_number, app2.application_number), (1, 2))
        with self.assertRaisesMsg(ValidationError, "overlaps"):
            self._app("2026-04-15", "2026-05-15", {})
        app2.action_submit()
        with self.assertRaisesMsg(UserError, "cannot be approved before"):
            app2.with_context(compliance_date="2026-04-30").action_approve()
        self.assertEqual(app2.state, "under_review")
        self.assertFalse(app2.bill_id)
        self._approve(app1, "2026-03-31")
        app2.with_context(compliance_date="2026-04-30").action_approve()
        self.assertEqual(app2.state, "approved")
        self.assertEqual(self._line(app2, self.sov_steel).previous_work, 1000.0)
        with self.assertRaisesMsg(ValidationError, "already approved"):
            self._app("2026-01-01", "2026-01-31", {})
        app3 = self._app("2026-05-01", "2026-05-31", {})
        self.assertEqual(app3.application_number, 3)

    def test_approval_rights(self):
        user = self.env["res.users"].create(
            {
                "name": "Test Site Clerk",
                "login": "test_site_clerk",
                "email": "clerk@example.com",
                "groups_id": [
                    Command.set(
                        [
                            self.env.ref(
                                "construction_connector_base.group_construction_user"
                            ).id,
                            self.env.ref("purchase.group_purchase_user").id,
                        ]
                    )
                ],
            }
        )
        app = self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        app.with_user(user).action_submit()
        self.assertEqual(app.state, "under_review")
        as_user = app.with_user(user).with_context(compliance_date="2026-03-31")
        with self.assertRaisesMsg(AccessError, "Only a subcontract pay application"):
            as_user.action_approve()
        with self.assertRaisesMsg(AccessError, "Only a subcontract pay application"):
            as_user.action_revise()
        self.assertEqual(app.state, "under_review")
        self.assertFalse(app.bill_id)
        user.groups_id |= self.env.ref(
            "construction_procurement_sync.group_subcontract_pay_app_approver"
        )
        as_user.action_approve()
        self.assertEqual(app.state, "approved")
        self.assertEqual(app.bill_id.amount_total, 900.0)

    def test_double_billing_guard(self):
        self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        with self.assertRaisesMsg(
            UserError, "billed by subcontractor pay applications"
        ):
            self.order.action_create_invoice()
        self.assertFalse(self.order.invoice_ids)
        manual = self.env["account.move"].create(
            {
                "move_type": "in_invoice",
                "partner_id": self.steel_vendor.id,
                "invoice_date": "2026-03-31",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "purchase_line_id": self.sov_steel.id,
                            "product_id": self.erection.id,
                            "name": "Steel by hand",
                            "quantity": 1.0,
                            "price_unit": 500.0,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        with self.assertRaisesMsg(
            UserError, "billed by subcontractor pay applications"
        ):
            manual.action_post()
        # ... nor through "Post Entries" on the bills list
        with self.assertRaisesMsg(
            UserError, "billed by subcontractor pay applications"
        ):
            self.env["validate.account.move"].with_context(
                active_model="account.move", active_ids=manual.ids
            ).create({}).validate_move()
        self.assertEqual(manual.state, "draft")
        other = self._create_order(
            [(self.erection, 1.0, 5000.0, self.cc_steel, self.subcontract)],
            partner=self.steel_vendor,
            construction_is_subcontract=True,
        )
        other.button_confirm()
        bill = self._bill_from_order(other)
        with self.assertRaisesMsg(UserError, "already billed by vendor bills"):
            self.env["construction.subcontract.pay.application"].create(
                {
                    "order_id": other.id,
                    "period_start": "2026-03-01",
                    "period_end": "2026-03-31",
                }
            )
        self.assertFalse(other.construction_pay_application_ids)
        bill.button_cancel()
        app = self.env["construction.subcontract.pay.application"].create(
            {
                "order_id": other.id,
                "period_start": "2026-03-01",
                "period_end": "2026-03-31",
            }
        )
        self.assertEqual(app.application_number, 1)

    def test_per_line_retainage_release(self):
        payable = self.steel_vendor.property_account_payable_id
        app1 = self._app(
            "2026-03-01",
            "2026-03-31",
            {self.sov_steel: (5000.0, 2000.0), self.sov_concrete: (1000.0, 0.0)},
        )
        self._approve(app1, "2026-03-31")
        self.assertEqual(self.order.construction_retainage_balance, 700.0)
        app2 = self._app("2026-04-01", "2026-04-30", {}, "retainage")
        steel2 = self._line(app2, self.sov_steel)
        concrete2 = self._line(app2, self.sov_concrete)
        self.assertEqual(
            (steel2.retainage_held, concrete2.retainage_held), (600.0, 100.0)
        )
        # Entered on a line then cleared: the total follows, nothing stale.
        concrete2.retainage_release = 10.0
        self.assertEqual(app2.retainage_release_amount, 10.0)
        concrete2.retainage_release = 0.0
        self.assertEqual(app2.retainage_release_amount, 0.0)
        self.assertEqual(app2.amount_due, 0.0)
        concrete2.retainage_release = 150.0
        self.assertEqual(app2.retainage_release_amount, 150.0)
        with self.assertRaisesMsg(
            ValidationError, "holds .*100.00 of retainage: .*150.00"
        ):
            app2.action_submit()
        self.assertEqual(app2.state, "draft")
        concrete2.retainage_release = 100.0
        steel2.retainage_release = 250.0
        self.assertEqual(app2.retainage_release_amount, 350.0)
        self.assertEqual(app2.amount_this_period, 0.0)
        self.assertEqual(app2.amount_due, 350.0)
        bill2 = self._approve(app2, "2026-04-30")
        accounts = self._by_account(bill2)
        self.assertEqual(accounts[self.retention_account], (350.0, 0.0))
        self.assertEqual(accounts[payable], (0.0, 350.0))
        self.assertEqual(self.order.construction_retainage_balance, 350.0)
        app3 = self._app("2026-05-01", "2026-05-31", {}, "retainage")
        self.assertEqual(self._line(app3, self.sov_steel).retainage_held, 350.0)
        self.assertEqual(self._line(app3, self.sov_concrete).retainage_held, 0.0)

    def test_foreign_currency_subcontract(self):
        foreign = self.env.ref("base.EUR")
        if foreign == self.currency:
            foreign = self.env.ref("base.USD")
        foreign.active = True
        foreign.rate_ids.unlink()
        # 1 company unit = 0.5 foreign: 1 foreign = 2 company units.
        self.env["res.currency.rate"].create(
            {
                "name": "2026-01-01",
                "rate": 0.5,
                "currency_id": foreign.id,
                "company_id": self.company.id,
            }
        )
        order = self._create_order(
            [(self.erection, 1.0, 20000.0, self.cc_steel, self.subcontract)],
            partner=self.steel_vendor,
            currency_id=foreign.id,
            construction_is_subcontract=True,
            construction_retainage_percent=10.0,
            construction_retainage_stored_percent=5.0,
        )
        order.button_confirm()
        app = self.env["construction.subcontract.pay.application"].create(
            {
                "order_id": order.id,
                "period_start": "2026-03-01",
                "period_end": "2026-03-31",
            }
        )
        app.line_ids.write({"work_this_period": 5000.0, "stored_to_date": 2000.0})
        self.assertEqual(app.currency_id, foreign)
        self.assertEqual(app.amount_this_period, 7000.0)
        self.assertEqual(app.retainage_this_period, 600.0)
        bill = self._approve(app, "2026-03-31")
        self.assertEqual(bill.currency_id, foreign)
        self.assertEqual(bill.amount_total, 6400.0)
        retention = bill.line_ids.filtered(
            lambda r: r.account_id == self.retention_account
        )
        self.assertEqual(
            (retention.amount_currency, retention.balance), (-600.0, -1200.0)
        )
        payable = bill.line_ids.filtered(
            lambda r: r.account_id == self.steel_vendor.property_account_payable_id
        )
        self.assertEqual(
            (payable.amount_currency, payable.balance), (-6400.0, -12800.0)
        )
        self.assertEqual(
            sum(bill.line_ids.mapped("debit")), sum(bill.line_ids.mapped("credit"))
        )
        self.assertEqual(order.construction_retainage_balance, 1200.0)
        self.assertEqual(order._construction_retainage_available(foreign), 600.0)
        # Release in the order currency, not more than held (600, not 1,200).
        bad = self.env["construction.subcontract.pay.application"].create(
            {
                "order_id": order.id,
                "period_start": "2026-04-01",
                "period_end": "2026-04-30",
                "application_type": "retainage",
                "retainage_release_amount": 601.0,
            }
        )
        with self.assertRaisesMsg(ValidationError, "holds .*600.00"):
            bad.action_submit()
        bad.retainage_release_amount = 600.0
        # The rate moved: 1 foreign = 2.5 company units when released.
        self.env["res.currency.rate"].create(
            {
                "name": "2026-04-15",
                "rate": 0.4,
                "currency_id": foreign.id,
                "company_id": self.company.id,
            }
        )
        bill2 = self._approve(bad, "2026-04-30")
        self.assertEqual(bill2.amount_total, 600.0)
        released = bill2.line_ids.filtered(
            lambda r: r.account_id == self.retention_account
        )
        self.assertEqual((released.amount_currency, released.balance), (600.0, 1500.0))
        # Released at the withholding rate: 300 of exchange loss.
        exchange = self.env["account.move.line"].search(
            [
                ("construction_retainage_order_id", "=", order.id),
                ("move_id.move_type", "=", "entry"),
            ]
        )
        self.assertEqual((exchange.balance, exchange.amount_currency), (-300.0, 0.0))
        loss = exchange.move_id.line_ids - exchange
        self.assertEqual(
            loss.account_id, self.company.expense_currency_exchange_account_id
        )
        self.assertEqual(loss.balance, 300.0)
        self.assertEqual(order.construction_retainage_balance, 0.0)
        self.assertEqual(order._construction_retainage_available(foreign), 0.0)
        posted = self.env["account.move.line"].search(
            [
                ("account_id", "=", self.retention_account.id),
                ("parent_state", "=", "posted"),
            ]
        )
        self.assertEqual(sum(posted.mapped("balance")), 0.0)

    def _march_waiver(self, name):
        """A conditional progress waiver of 900.00 for an approved March
        requisition of 1,000.00 on the steel line."""
        app = self._app("2026-03-01", "2026-03-31", {self.sov_steel: (1000.0, 0.0)})
        self._approve(app, "2026-03-31")
        return self.env["construction.lien.waiver"].create(
            {
                "name": name,
                "application_id": app.id,
                "condition": "conditional",
                "scope": "progress",
                "amount": 900.0,
                "through_date": "2026-03-31",
            }
        )

    def test_lien_waiver_report(self):
        waiver = self._march_waiver("LW-R1")
        report = "construction_procurement_sync.action_report_construction_lien_waiver"
        Report = self.env["ir.actions.report"]
        html = Report._render_qweb_html(report, waiver.ids)[0].decode()
        self.assertIn("Conditional Waiver and Release on Progress Payment", html)
        self.assertIn("Test Steel Erectors Inc", html)
        self.assertIn("900.00", html)
        self.assertIn("furnished through 03/31/2026 only", html)
        self.assertIn("Claimant's Signature", html)
        waiver.write({"condition": "unconditional", "scope": "final"})
        html = Report._render_qweb_html(report, waiver.ids)[0].decode()
        self.assertIn("Unconditional Waiver and Release on Final Payment", html)
        self.assertIn("has been paid in full", html)
        self.assertNotIn("Conditional Waiver", html)
        waiver.action_generate_document()
        generated = waiver.message_ids[0].attachment_ids
        self.assertEqual(generated.name, "LW-R1.pdf")
        self.assertEqual(
            (generated.res_model, generated.res_id), (waiver._name, waiver.id)
        )
        # The signed copy is attached and the receipt logged.
        signed = self.env["ir.attachment"].create(
            {"name": "LW-R1 signed.pdf", "raw": b"%PDF-1.4 signed"}
        )
        waiver.attachment_ids = signed
        waiver.action_receive()
        self.assertEqual(waiver.state, "received")
        self.assertEqual(waiver.message_ids[0].attachment_ids, signed)

    def test_lien_waiver_pdf_text(self):
        """The printed waiver keeps its words as text (system fonts), so it can
        be searched and matched against the signed copy."""
        waiver = self._march_waiver("LW-P1")
        _pdf, text = self._render_pdf(
            "construction_procurement_sync.action_report_construction_lien_waiver",
            waiver,
        )
        self.assertIn("Conditional Waiver and Release on Progress Payment", text)
        self.assertIn("$ 900.00", text)
        self.assertIn("Test Steel Erectors Inc", text)

    def test_dashboard(self):
        manager = new_test_user(
            self.env,
            login="test_dashboard_manager",
            groups="construction_connector_base.group_construction_manager,"
            "project.group_project_manager",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        change = self.env["construction.change.order"].create(
            {
                "title": "Extra bracing",
                "project_id": self.project.id,
                "side": "commitment",
                "partner_id": self.steel_vendor.id,
                "purchase_order_id": self.order.id,
                "line_ids": [
                    Command.create(
                        {
                            "cost_code_id": self.cc_steel.id,
                            "cost_type_id": self.subcontract.id,
                            "name": "Bracing",
                            "quantity": 1,
                            "unit_cost": 5000.0,
                        }
                    )
                ],
            }
        )
        change.action_submit()
        change.with_user(manager).action_approve()
        self.assertEqual(change.stage_kind, "approved")
        app = self._app(
            "2026-03-01",
            "2026-03-31",
            {self.sov_steel: (5000.0, 2000.0), self.sov_concrete: (1000.0, 0.0)},
        )
        bill = self._approve(app, "2026-03-31")
        self._register_payment(bill, "2026-03-31", amount=3000.0)
        self.env.flush_all()
        Dashboard = self.env["construction.subcontract.dashboard"]
        row = Dashboard.search([("order_id", "=", self.order.id)])
        self.assertEqual(
            (
                row.contract_value,
                row.approved_changes,
                row.revised_value,
                row.billed,
                row.balance_to_finish,
                row.retainage_held,
                row.paid,
            ),
            (30000.0, 5000.0, 35000.0, 8000.0, 27000.0, 700.0, 3000.0),
        )
        self.assertEqual(
            row.with_context(compliance_date="2026-03-31").compliance_status,
            "compliant",
        )
        self.assertEqual(
            row.with_context(compliance_date="2026-12-15").compliance_status,
            "expiring",
        )
        self.assertEqual(
            row.with_context(compliance_date="2027-01-31").compliance_status,
            "non_compliant",
        )
        groups = Dashboard.read_group(
            [("project_id", "=", self.project.id)],
            ["billed:sum", "retainage_held:sum"],
            ["project_id"],
        )
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0]["billed"], 8000.0)
        self.assertEqual(groups[0]["retainage_held"], 700.0)
        self.assertEqual(self.project.construction_subcontract_count, 1)
        action = self.project.action_view_construction_subcontract_dashboard()
        self.assertEqual(Dashboard.search(action["domain"]), row)

    def test_demo_data(self):
        Apps = self.env["construction.subcontract.pay.application"]
        apps = Apps._demo_subcontract_pay_applications()
        if apps is False:
            # Already loaded with the demo data: check what it left.
            partner = self.env.ref(
                "construction_connector_base.partner_vendor_electrical_demo",
                raise_if_not_found=False,
            )
            apps = Apps.search(
                [("partner_id", "=", partner.id if partner else 0)],
                order="period_end",
            )
            if not apps:
                self.skipTest("No demo data in this database.")
        self.assertEqual(apps.mapped("state"), ["approved", "under_review"])
        self.assertEqual(apps.mapped("application_number"), [1, 2])
        first = apps[0]
        self.assertEqual(first.lien_waiver_ids.state, "received")
        self.assertEqual(first.lien_waiver_ids.amount, first.amount_due)
        self.assertEqual(first.bill_id.state, "posted")
        docs = self.env["construction.compliance.document"].search(
            [("partner_id", "=", first.partner_id.id)]
        )
        self.assertEqual(sorted(docs.mapped("state")), ["expiring", "valid"])
        self.assertFalse(Apps._demo_subcontract_pay_applications())
