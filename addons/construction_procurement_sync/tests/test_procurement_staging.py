from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.construction_connector_base.tests.common_integration import (
    make_backend,
    run_pending_jobs,
)

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementStaging(ProcurementCommon):
    """Subcontractor requisitions staged for accounting approval, then locked."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = make_backend(
            cls.env,
            name="Test Subcontractor Portal",
            kind="supplier_portal",
            outbound_url="http://127.0.0.1:9/portal/hooks",
        )
        cls.backend.approval_policy_ids = [
            (0, 0, {"event_type": "subcontract_invoice.upsert", "policy": "stage"}),
            (0, 0, {"event_type": "supplier_invoice.status", "policy": "direct"}),
        ]
        cls.Event = cls.env["construction.event"].with_user(cls.backend.user_id)
        cls.approver = new_test_user(
            cls.env,
            login="proc_accounting_approver",
            name="Quinn Accounting-Approver",
            groups="construction_connector_base.group_construction_accounting_approver",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.sub = cls._create_order(
            [(cls.erection, 1.0, 20000.0, cls.cc_steel, cls.subcontract)],
            partner=cls.steel_vendor,
            construction_is_subcontract=True,
            construction_retainage_percent=10.0,
        )
        cls.sub.button_confirm()

    def _requisition(self, version, work):
        return {
            "external_id": "REQ-SUB-9",
            "order": self.sub.name,
            "version": version,
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
            "lines": [{"line_id": self.sub.order_line.id, "work_this_period": work}],
        }

    def _decide(self, event, decision, comment):
        self.env["construction.event.approval.wizard"].with_user(self.approver).create(
            {"event_ids": [(6, 0, event.ids)], "decision": decision, "comment": comment}
        ).action_confirm()
        run_pending_jobs(self.env)
        event.invalidate_recordset()

    def _apps(self):
        return self.env["construction.subcontract.pay.application"].search(
            [("order_id", "=", self.sub.id)]
        )

    def test_staged_requisition_accepted_then_locked(self):
        event, _created = self.Event._receive(
            self.backend,
            "subcontract_invoice.upsert",
            "req-1",
            self._requisition(1, 4000),
        )
        run_pending_jobs(self.env)
        self.assertEqual(event.state, "awaiting_approval")
        self.assertFalse(self._apps())
        self._decide(event, "accepted", "Analytic: steel erection phase 2")
        self.assertEqual(event.state, "done", event.last_error)
        app = self._apps()
        self.assertEqual(event._result_records(), app)
        self.assertEqual(app.amount_this_period, 4000.0)
        self.assertEqual(app.retainage_this_period, 400.0)
        self.assertTrue(
            app.message_ids.filtered(
                lambda m: "Analytic: steel erection phase 2" in (m.body or "")
            )
        )
        # Synced amounts are locked; the reviewer's own fields are not.
        self.assertTrue(app.construction_synced)
        line = app.line_ids
        with self.assertRaisesRegex(UserError, "revise it in the portal"):
            line.write({"work_this_period": 3000.0})
        with self.assertRaisesRegex(UserError, "revise it in the portal"):
            app.write({"period_end": "2026-03-30"})
        self.assertEqual(app.amount_this_period, 4000.0)
        app.review_note = "Checked on site."
        line.write({"rejected": True, "rejection_reason": "Not installed"})
        self.assertEqual(app.amount_this_period, 0.0)

    def test_accepted_with_accounting_date_posts_bill_in_that_period(self):
        """The approver adds Odoo-side data: the bill of a March requisition,
        received after the March close, is recorded on 5 April."""
        event, _created = self.Event._receive(
            self.backend,
            "subcontract_invoice.upsert",
            "req-1",
            self._requisition(1, 4000),
        )
        wizard = (
            self.env["construction.event.approval.wizard"]
            .with_user(self.approver)
            .create({"event_ids": [(6, 0, event.ids)], "decision": "accepted"})
        )
        self.assertTrue(wizard.takes_accounting_date)
        # A date in a locked period is refused; the event stays staged. Purchases
        # are locked up to 31 March (set in SQL: locking for real would first ask
        # to reconcile the demo bank statements).
        self.env.cr.execute(
            "UPDATE res_company SET purchase_lock_date = '2026-03-31' WHERE id = %s",
            [self.company.id],
        )
        self.company.invalidate_recordset(["purchase_lock_date"])
        wizard.accounting_date = "2026-03-31"
        with self.assertRaisesRegex(UserError, "locked period"):
            wizard.action_confirm()
        event.invalidate_recordset()
        self.assertEqual(event.state, "awaiting_approval")
        self.assertFalse(event.approval_decision)
        wizard.accounting_date = "2026-04-05"
        wizard.comment = "Received after the March close"
        wizard.action_confirm()
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(str(event.approval_accounting_date), "2026-04-05")
        app = self._apps()
        self.assertEqual(str(app.accounting_date), "2026-04-05")
        log = app.message_ids.filtered(
            lambda m: "Received after the March close" in (m.body or "")
        )
        self.assertEqual(len(log), 1)
        self.assertIn("Accounting date", log.body)
        app.action_submit()
        app.action_approve()
        bill = app.bill_id
        self.assertEqual(str(bill.invoice_date), "2026-03-31")
        self.assertEqual(str(bill.date), "2026-04-05")
        bill.action_post()
        self.assertEqual(str(bill.date), "2026-04-05")
        self.assertEqual(set(bill.line_ids.mapped("date")), {bill.date})
        self.assertEqual(bill.amount_total, 3600.0)

    def test_staged_requisition_rejected(self):
        event, _created = self.Event._receive(
            self.backend,
            "subcontract_invoice.upsert",
            "req-1",
            self._requisition(1, 4000),
        )
        self._decide(event, "rejected", "Period overlaps requisition 8")
        self.assertEqual(event.state, "rejected")
        self.assertFalse(self._apps())
        message = event.approval_message_id
        self.assertEqual(message.event_type, "subcontract_invoice.upsert.rejected")
        self.assertIn('"comment":"Period overlaps requisition 8"', message.payload)

    def test_direct_policy_posts(self):
        self.assertFalse(self.backend._requires_approval("supplier_invoice.status"))
        self.assertTrue(self.backend._requires_approval("subcontract_invoice.upsert"))
        selection = dict(
            self.env["construction.backend.approval"]._selection_event_type()
        )
        self.assertEqual(
            set(selection) & {"subcontract_invoice.upsert", "supplier_invoice.status"},
            {"subcontract_invoice.upsert", "supplier_invoice.status"},
        )
        self.assertNotIn("purchase.acknowledgement", selection)

    # ---- to-do for the approver ----

    def _todos(self, event):
        return self.env["mail.activity"].search(
            [("res_model", "=", "construction.event"), ("res_id", "=", event.id)]
        )

    def _done_messages(self, event):
        """Activities of type To-Do are removed when done, leaving a message."""
        return event.message_ids.filtered(
            lambda m: (
                m.mail_activity_type_id == self.env.ref("mail.mail_activity_data_todo")
            )
        )

    def _stage(self, key="req-1"):
        event, _created = self.Event._receive(
            self.backend,
            "subcontract_invoice.upsert",
            key,
            self._requisition(1, 4000),
        )
        event.invalidate_recordset()
        return event.with_env(self.env)

    def test_staged_event_todo_for_first_approver_done_on_accept(self):
        # A later approver and the integration user (even made approver) are
        # not picked: the company's first accounting approver is.
        new_test_user(
            self.env,
            login="proc_second_approver",
            groups="construction_connector_base.group_construction_accounting_approver",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        first = self.env["res.users"].search(
            [
                (
                    "groups_id",
                    "in",
                    self.env.ref(
                        "construction_connector_base.group_construction_accounting_approver"
                    ).id,
                ),
                ("company_ids", "in", self.company.id),
                ("share", "=", False),
            ],
            order="id",
            limit=1,
        )
        event = self._stage()
        todo = self._todos(event)
        self.assertEqual(len(todo), 1)
        self.assertEqual(todo.user_id, first)
        self.assertEqual(
            todo.activity_type_id, self.env.ref("mail.mail_activity_data_todo")
        )
        self.assertEqual(todo.summary, "Accept or reject subcontract_invoice.upsert")
        # The same request again is the same event: no second to-do.
        self.Event._receive(
            self.backend,
            "subcontract_invoice.upsert",
            "req-1",
            self._requisition(1, 4000),
        )
        self.assertEqual(len(self._todos(event)), 1)
        self._decide(event, "accepted", "Phase 2")
        self.assertEqual(event.state, "done", event.last_error)
        self.assertFalse(self._todos(event))
        done = self._done_messages(event)
        self.assertEqual(len(done), 1)
        self.assertIn("Accepted: Phase 2", done.body)
        self.assertEqual(done.author_id, self.approver.partner_id)

    def test_staged_event_todo_for_policy_approver_done_on_reject(self):
        line = self.backend.approval_policy_ids.filtered(
            lambda p: p.event_type == "subcontract_invoice.upsert"
        )
        line.approver_id = self.approver
        event = self._stage()
        todo = self._todos(event)
        self.assertEqual(todo.user_id, self.approver)
        self._decide(event, "rejected", "Wrong period")
        self.assertEqual(event.state, "rejected")
        self.assertFalse(self._todos(event))
        self.assertIn("Rejected: Wrong period", self._done_messages(event).body)
        # An approver removed from the group is skipped: back to the first one.
        self.approver.groups_id = [
            (
                3,
                self.env.ref(
                    "construction_connector_base.group_construction_accounting_approver"
                ).id,
            )
        ]
        other = self._stage("req-2")
        self.assertEqual(len(self._todos(other)), 1)
        self.assertNotEqual(self._todos(other).user_id, self.approver)
        # Cancelled while staged: the to-do is closed too.
        other.action_cancel()
        self.assertEqual(other.state, "cancelled")
        self.assertFalse(self._todos(other))
        self.assertIn("Cancelled", self._done_messages(other).body)

    # ---- supplier invoices keep the portal's fields ----

    def test_supplier_invoice_fields_locked(self):
        order = self._create_order(
            [(self.erection, 2.0, 100.0, self.cc_steel, self.subcontract)],
            partner=self.steel_vendor,
        )
        order.button_confirm()

        def invoice(version, qty):
            return {
                "external_id": "INV-LOCK",
                "order": order.name,
                "status": "submitted",
                "version": version,
                "number": "SUP-77",
                "invoice_date": "2026-03-05",
                "lines": [
                    {"line_id": order.order_line.id, "quantity": qty, "price_unit": 100}
                ],
            }

        event, _created = self.Event._receive(
            self.backend, "supplier_invoice.status", "si-lock-1", invoice(1, 2.0)
        )
        run_pending_jobs(self.env)
        event.invalidate_recordset()
        self.assertEqual(event.state, "done", event.last_error)
        bill = event._result_records().with_env(self.env)
        self.assertTrue(bill.construction_synced)
        self.assertEqual(bill.construction_synced_source, "Test Subcontractor Portal")
        for vals in (
            {"ref": "EDITED"},
            {"invoice_date": "2026-03-06"},
            {"partner_id": self.vendor.id},
            {"construction_supplier_status": "disputed"},
            {"invoice_line_ids": [(1, bill.invoice_line_ids[0].id, {"quantity": 1})]},
        ):
            with self.assertRaisesRegex(UserError, "submit a new version"):
                bill.write(vals)
        with (
            self.assertRaisesRegex(UserError, "cannot be deleted"),
            self.env.cr.savepoint(),
        ):
            bill.sudo().unlink()
        self.assertEqual(bill.ref, "SUP-77")
        self.assertEqual(bill.amount_untaxed, 200.0)
        # Odoo-side fields stay editable.
        bill.write({"narration": "Checked", "invoice_date_due": "2026-04-05"})
        self.assertEqual(str(bill.invoice_date_due), "2026-04-05")
        # A new version from the portal still updates the bill.
        self.Event._receive(
            self.backend, "supplier_invoice.status", "si-lock-2", invoice(2, 1.0)
        )
        run_pending_jobs(self.env)
        self.assertEqual(bill.amount_untaxed, 100.0)
        # Unbound bills are not locked.
        other = self.env["account.move"].create(
            {"move_type": "in_invoice", "partner_id": self.steel_vendor.id}
        )
        self.assertFalse(other.construction_synced)
        other.write({"ref": "FREE", "partner_id": self.vendor.id})
        self.assertEqual(other.ref, "FREE")
