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
