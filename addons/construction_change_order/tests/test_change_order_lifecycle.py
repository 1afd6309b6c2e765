from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderLifecycle(ChangeOrderCommon):
    def test_prime_change_order_is_with_the_owner(self):
        ChangeOrder = self.env["construction.change.order"]
        prime = ChangeOrder.create({"title": "Owner", "project_id": self.project.id})
        self.assertEqual(prime.side, "prime")
        self.assertEqual(prime.partner_id, self.customer)
        commitment = ChangeOrder.create(
            {"title": "Sub", "project_id": self.project.id, "side": "commitment"}
        )
        self.assertFalse(commitment.partner_id)
        # Given explicitly, the partner is kept.
        other = self.env["res.partner"].create({"name": "Owner's Agent"})
        self.assertEqual(self._create_co([], partner_id=other.id).partner_id, other)

    def test_full_lifecycle_budget_columns(self):
        """draft -> pending -> approved -> void with exact budget columns."""
        co = self._create_co(
            [
                (self.cc_concrete, self.material, 10, 1250.00, 15.0),
                (self.cc_forming, self.labor, 2, 1800.50, 10.0),
            ]
        )
        self.assertEqual(co.name, "PCCO-001")
        self.assertEqual(co.stage_kind, "draft")
        self.assertEqual(co.amount_cost, 16101.00)
        # 12,500 * 1.15 = 14,375; 3,601 * 1.10 = 3,961.10
        self.assertEqual(co.amount_price, 18336.10)
        self.assertEqual(co.amount_total, 18336.10)
        # Draft: no budget effect.
        self.assertEqual(
            self._columns(self.line_concrete), (0.0, 0.0, 100000.0, 100000.0)
        )

        co.with_user(self.engineer).action_submit()
        self.assertEqual(
            co.status_id,
            self.env.ref("construction_change_order.status_pending_in_review"),
        )
        self.assertEqual(
            self._columns(self.line_concrete), (12500.0, 0.0, 100000.0, 112500.0)
        )
        self.assertEqual(
            self._columns(self.line_forming), (3601.0, 0.0, 40000.0, 43601.0)
        )
        self.assertEqual(self.budget.pending_change_amount, 16101.0)

        # Another pending status keeps it in Pending Changes.
        co.with_user(self.engineer).status_id = self.env.ref(
            "construction_change_order.status_pending_pricing"
        )
        self.assertEqual(
            self._columns(self.line_concrete), (12500.0, 0.0, 100000.0, 112500.0)
        )

        co.with_user(self.manager).action_approve(comment="Owner signed")
        self.assertEqual(co.stage_kind, "approved")
        self.assertEqual(co.approved_by_id, self.manager)
        self.assertEqual(
            self._columns(self.line_concrete), (0.0, 12500.0, 112500.0, 112500.0)
        )
        self.assertEqual(
            self._columns(self.line_forming), (0.0, 3601.0, 43601.0, 43601.0)
        )
        self.budget.invalidate_recordset()
        self.assertEqual(self.budget.approved_change_amount, 16101.0)
        self.assertEqual(self.budget.revised_amount, 406101.0)
        approval = co.approval_ids
        self.assertEqual(approval.state, "approved")
        self.assertEqual(approval.decided_by_id, self.manager)
        self.assertEqual(approval.comment, "Owner signed")
        self.assertTrue(approval.decision_date)

        with self.assertRaisesMsg(UserError, "reason"):
            co.with_user(self.manager).action_void()
        co.with_user(self.manager).action_void("Owner withdrew the request")
        self.assertEqual(co.stage_kind, "void")
        self.assertEqual(
            self._columns(self.line_concrete), (0.0, 0.0, 100000.0, 100000.0)
        )
        self.assertEqual(self._columns(self.line_forming), (0.0, 0.0, 40000.0, 40000.0))

    def test_unbudgeted_cost_code_gets_a_line(self):
        cc_rebar = self._create_cost_code("T03-200", "Test Rebar", self.division_03)
        co = self._create_co([(cc_rebar, self.material, 1, 5000.0, 0.0)])
        budget_lines = self.budget.line_ids
        co.action_submit()
        new_line = self.budget.line_ids - budget_lines
        self.assertEqual(len(new_line), 1)
        self.assertEqual(new_line.cost_code_id, cc_rebar)
        self.assertEqual(new_line.original_amount, 0.0)
        self.assertEqual(self._columns(new_line), (5000.0, 0.0, 0.0, 5000.0))
        co.with_user(self.manager).action_approve()
        self.assertEqual(self._columns(new_line), (0.0, 5000.0, 5000.0, 5000.0))

    def test_budget_created_after_change_order(self):
        project = self.env["project.project"].create({"name": "Late budget"})
        co = self._create_co(
            [(self.cc_concrete, self.material, 1, 700.0, 0.0)], project=project
        )
        co.action_submit()
        co.with_user(self.manager).action_approve()
        budget = self.env["construction.budget"].create(
            {
                "project_id": project.id,
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "cost_code_id": self.cc_concrete.id,
                            "cost_type_id": self.material.id,
                            "original_amount": 1000.0,
                        },
                    )
                ],
            }
        )
        self.assertEqual(self._columns(budget.line_ids), (0.0, 700.0, 1700.0, 1700.0))

    def test_deductive_change_order(self):
        co = self._create_co(
            [(self.cc_steel, self.subcontract, 1, -30000.0, 10.0)],
            title="Delete canopy",
        )
        self.assertEqual(co.amount_cost, -30000.0)
        self.assertEqual(co.amount_price, -33000.0)
        co.action_submit()
        self.assertEqual(
            self._columns(self.line_steel), (-30000.0, 0.0, 250000.0, 220000.0)
        )
        co.with_user(self.manager).action_approve()
        self.assertEqual(
            self._columns(self.line_steel), (0.0, -30000.0, 220000.0, 220000.0)
        )

    def test_commitment_change_order_leaves_cost_budget(self):
        co = self._create_co(
            [(self.cc_steel, self.subcontract, 1, 8000.0, 0.0)], side="commitment"
        )
        self.assertEqual(co.name, "CCO-001")
        self.assertEqual(co.amount_total, 8000.0)
        co.action_submit()
        co.with_user(self.manager).action_approve()
        self.assertEqual(self._columns(self.line_steel), (0.0, 0.0, 250000.0, 250000.0))

    def test_editing_approved_refused(self):
        co = self._create_co([(self.cc_concrete, self.material, 1, 100.0, 0.0)])
        co.action_submit()
        co.with_user(self.manager).action_approve()
        with self.assertRaisesMsg(UserError, "cannot be edited"):
            co.with_user(self.manager).title = "Renamed"
        with self.assertRaisesMsg(UserError, "cannot be edited"):
            co.line_ids.with_user(self.manager).unit_cost = 200.0
        with self.assertRaisesMsg(UserError, "cannot be edited"):
            co.with_user(self.manager).write(
                {
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "cost_code_id": self.cc_forming.id,
                                "name": "more",
                                "unit_cost": 1.0,
                            },
                        )
                    ]
                }
            )
        with self.assertRaisesMsg(UserError, "cannot be edited"):
            co.line_ids.with_user(self.manager).unlink()
        with self.assertRaisesMsg(UserError, "void it"):
            co.with_user(self.manager).unlink()
        # Status can't be set to draft by hand either.
        with self.assertRaisesMsg(UserError, "cannot go from"):
            co.with_user(self.manager).status_id = self.Status._get_default("draft")
        self.assertEqual(co.line_ids.unit_cost, 100.0)
        self.assertEqual(self.line_concrete.approved_change_amount, 100.0)

    def test_decision_statuses_need_their_button(self):
        co = self._create_co([(self.cc_concrete, self.material, 1, 100.0, 0.0)])
        co.action_submit()
        with self.assertRaisesMsg(UserError, "Approve button"):
            co.with_user(self.manager).status_id = self.env.ref(
                "construction_change_order.status_approved"
            )
        self.assertEqual(co.stage_kind, "pending")

    def test_lines_need_a_cost_code_of_the_company(self):
        with self.assertRaisesMsg(ValidationError, "needs a cost code"):
            self._create_co([(self.env["account.analytic.account"], None, 1, 1.0, 0)])
        other_company = self.env["res.company"].create({"name": "Other Builder"})
        foreign_code = self._create_cost_code(
            "X03-300", "Foreign", self.division_03, company=other_company
        )
        with self.assertRaisesMsg(UserError, "(?i)compan"):
            self._create_co(
                [(foreign_code, self.material, 1, 1.0, 0)], user=self.env.user
            )
        count = self.ChangeOrder.search_count([("project_id", "=", self.project.id)])
        self.assertEqual(count, 0)

    def test_submit_without_lines_refused(self):
        co = self._create_co([])
        with self.assertRaisesMsg(UserError, "no lines"):
            co.action_submit()
        self.assertEqual(co.stage_kind, "draft")

    def test_status_remap_recomputes_budget(self):
        """Accounting reads the budget effect, not the status name."""
        co = self._create_co([(self.cc_concrete, self.material, 1, 900.0, 0.0)])
        co.action_submit()
        status = self.Status.browse(co.status_id.id)
        status.name = "Sent to owner"
        self.assertEqual(self._columns(self.line_concrete)[0], 900.0)
        status.budget_effect = "none"
        self.assertEqual(self._columns(self.line_concrete)[0], 0.0)
        with self.assertRaisesMsg(ValidationError, "cannot have the budget effect"):
            status.budget_effect = "approved"
        status.stage_kind = "pending"  # unchanged kind: allowed
        with self.assertRaisesMsg(UserError, "kind cannot change"):
            status.stage_kind = "draft"

    def test_rejection_needs_reason_then_revise(self):
        co = self._create_co([(self.cc_concrete, self.material, 1, 900.0, 0.0)])
        co.action_submit()
        with self.assertRaisesMsg(UserError, "reason"):
            co.with_user(self.manager).action_reject("  ")
        co.with_user(self.manager).action_reject("Price too high")
        self.assertEqual(co.stage_kind, "rejected")
        self.assertEqual(co.rejection_reason, "Price too high")
        self.assertEqual(co.approval_ids.state, "rejected")
        self.assertEqual(self._columns(self.line_concrete)[0], 0.0)
        co.with_user(self.engineer).action_draft()
        co.line_ids.with_user(self.engineer).unit_cost = 800.0
        co.with_user(self.engineer).action_submit()
        self.assertEqual(co.approval_round, 2)
        self.assertEqual(len(co.approval_ids), 2)
        self.assertEqual(self._columns(self.line_concrete)[0], 800.0)

    def test_decision_wizard(self):
        co = self._create_co([(self.cc_concrete, self.material, 1, 900.0, 0.0)])
        co.action_submit()
        action = (
            co.with_user(self.manager)
            .with_context(decision="reject")
            .action_open_decision_wizard()
        )
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.manager)
            .with_context(**action["context"])
            .create({"comment": "Out of scope"})
        )
        wizard.action_confirm()
        self.assertEqual(co.stage_kind, "rejected")
        self.assertEqual(co.rejection_reason, "Out of scope")

    def test_pdf_report_renders(self):
        co = self._create_co([(self.cc_concrete, self.material, 2, 450.0, 10.0)])
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("construction_change_order.report_change_order", co.ids)[
                0
            ]
            .decode()
        )
        self.assertIn(co.name, html)
        self.assertIn("Architect", html)
        self.assertIn("Schedule impact", html)
        log = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "construction_change_order.report_change_order_log", self.project.ids
            )[0]
            .decode()
        )
        self.assertIn(co.name, log)

    def test_change_event_to_change_order(self):
        event = self.env["construction.change.event"].create(
            {
                "title": "Rock in excavation",
                "project_id": self.project.id,
                "origin": "unforeseen_condition",
                "scope": "out_of_scope",
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "cost_code_id": self.cc_concrete.id,
                            "cost_type_id": self.material.id,
                            "name": "Extra concrete",
                            "cost_estimate": 4000.0,
                            "revenue_estimate": 4600.0,
                        },
                    )
                ],
            }
        )
        self.assertEqual(event.name, "CE-001")
        self.assertEqual(event.amount_cost, 4000.0)
        self.assertEqual(event.amount_revenue, 4600.0)
        action = event.action_create_change_order()
        co = self.ChangeOrder.browse(action["res_id"])
        self.assertEqual(event.state, "pending")
        self.assertEqual(co.change_event_ids, event)
        self.assertEqual(co.amount_cost, 4000.0)
        self.assertEqual(co.amount_price, 4600.0)
        self.assertEqual(co.tier_level, "co")
        # Linked to a change order, the event keeps its project; writing the
        # same project again (a data reload) is no change.
        event.project_id = self.project
        other = self.env["project.project"].create({"name": "Other job"})
        with self.assertRaisesMsg(UserError, "cannot change project"):
            event.project_id = other
        self.assertEqual(event.project_id, self.project)

    def test_status_from_external_system(self):
        """A platform approves and then voids; its decision is the audit record."""
        co = self._create_co([(self.cc_concrete, self.material, 1, 300.0, 0.0)])
        Status = self.Status
        co._api_set_status(Status._from_code("pending_pricing"), source="Procore")
        self.assertEqual(co.status_id.code, "pending_pricing")
        self.assertEqual(co.approval_ids.state, "pending")
        co._api_set_status(
            Status._from_code("approved"), "Owner signed", source="Procore"
        )
        self.assertEqual(co.stage_kind, "approved")
        self.assertEqual(co.approval_ids.state, "approved")
        self.assertEqual(co.approval_ids.comment, "Owner signed")
        self.assertEqual(self._columns(self.line_concrete)[1], 300.0)
        with self.assertRaisesMsg(UserError, "cannot go from"):
            co._api_set_status(Status._from_code("pending_in_review"))
        co._api_set_status(Status._from_code("void"), source="Procore")
        self.assertEqual(co.stage_kind, "void")
        self.assertEqual(co.void_reason, "Voided in Procore")
        self.assertEqual(self._columns(self.line_concrete)[1], 0.0)
        with self.assertRaisesMsg(UserError, "Unknown change order status"):
            Status._from_code("pending_billable")

    def test_rejection_from_external_system_then_resubmitted(self):
        co = self._create_co([(self.cc_concrete, self.material, 1, 300.0, 0.0)])
        co._api_set_status(self.Status._from_code("rejected"), source="Procore")
        self.assertEqual(co.stage_kind, "rejected")
        self.assertEqual(co.rejection_reason, "Decided in Procore")
        co._api_set_status(self.Status._from_code("pending_revised"))
        self.assertEqual(co.status_id.code, "pending_revised")
        self.assertEqual(co.approval_round, 2)

    def test_change_event_void_refused_with_approved_order(self):
        event = self.env["construction.change.event"].create(
            {"title": "Owner upgrade", "project_id": self.project.id}
        )
        co = self._create_co(
            [(self.cc_concrete, self.material, 1, 10.0, 0.0)],
            change_event_ids=[(6, 0, event.ids)],
        )
        co.action_submit()
        co.with_user(self.manager).action_approve()
        with self.assertRaisesMsg(UserError, "void them first"):
            event.action_void()
        event.action_close()
        self.assertEqual(event.state, "closed")

    def test_pdf_report_real_pdf(self):
        """The change order and the log printed as real PDFs, amounts as text."""
        co = self._create_co([(self.cc_concrete, self.material, 2, 450.0, 10.0)])
        _pdf, text = self._render_pdf(
            "construction_change_order.report_change_order", co
        )
        for expected in (
            "PCCO-001 : Added footing",
            "PCCO-001 T03-300 Material Change line 2.00 $ 450.00 $ 900.00 10.00 % "
            "$ 990.00",
            "Cost $ 900.00 Markup $ 90.00 Contract change $ 990.00",
        ):
            self.assertIn(expected, text)
        co.action_submit()
        _pdf, text = self._render_pdf(
            "construction_change_order.report_change_order_log", self.project
        )
        self.assertIn("PCCO-001 Added footing", text)
        self.assertIn("$ 900.00 $ 990.00", text)
        self.assertIn("Pending owner change orders $ 990.00", text)
