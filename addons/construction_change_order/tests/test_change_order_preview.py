from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderPreview(ChangeOrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # An earlier change already pending on concrete: 2,000.
        cls.earlier = cls._create_co(
            [(cls.cc_concrete, cls.material, 1, 2000.0, 0.0)], title="Earlier"
        )
        cls.earlier.action_submit()
        # And an approved one on steel: 10,000 cost, 11,000 price.
        cls.approved = cls._create_co(
            [(cls.cc_steel, cls.subcontract, 1, 10000.0, 10.0)], title="Approved"
        )
        cls.approved.action_submit()
        cls.approved.with_user(cls.manager).action_approve()

    def test_preview_numbers_draft(self):
        co = self._create_co(
            [
                (self.cc_concrete, self.material, 1, 5000.0, 10.0),
                (self.cc_steel, self.subcontract, 1, -1000.0, 10.0),
            ]
        )
        preview = co._get_impact_preview()
        rows = {row["cost_code"]: row for row in preview["budget_lines"]}
        concrete, steel = rows[self.cc_concrete], rows[self.cc_steel]
        self.assertEqual(
            (
                concrete["change"],
                concrete["revised_before"],
                concrete["revised_after"],
                concrete["projected_before"],
                concrete["projected_after"],
            ),
            (5000.0, 100000.0, 105000.0, 102000.0, 107000.0),
        )
        self.assertEqual(
            (
                steel["revised_before"],
                steel["revised_after"],
                steel["projected_before"],
                steel["projected_after"],
            ),
            (260000.0, 259000.0, 260000.0, 259000.0),
        )
        totals = preview["budget_totals"]
        self.assertEqual(totals["project_revised_before"], 400000.0)
        self.assertEqual(totals["project_revised_after"], 404000.0)
        self.assertEqual(totals["project_projected_before"], 402000.0)
        self.assertEqual(totals["project_projected_after"], 406000.0)
        self.assertEqual(preview["approved_changes_before"], 11000.0)
        # 5,500 - 1,100
        self.assertEqual(preview["approved_changes_after"], 15400.0)
        self.assertIsNone(preview["contract_sum_before"])
        self.assertIsNone(preview["committed_before"])
        self.assertTrue(
            any("No commitment change order" in w for w in preview["warnings"])
        )
        self.assertIn("107,000.00", co.impact_preview_html)

    def test_preview_of_pending_order_moves_pending_to_approved(self):
        preview = self.earlier._get_impact_preview()
        row = preview["budget_lines"][0]
        self.assertEqual(
            (
                row["revised_before"],
                row["revised_after"],
                row["projected_before"],
                row["projected_after"],
            ),
            (100000.0, 102000.0, 102000.0, 102000.0),
        )

    def test_unrecovered_cost_warnings(self):
        prime = self._create_co(
            [(self.cc_steel, self.subcontract, 1, 4000.0, 10.0)]
        )  # price 4,400
        commitment = self._create_co(
            [(self.cc_steel, self.subcontract, 1, 4600.0, 0.0)], side="commitment"
        )
        warnings = commitment._get_impact_preview()["warnings"]
        self.assertTrue(any("No owner change order" in w for w in warnings))
        # Commitment COs change committed cost, not the budget.
        row = commitment._get_impact_preview()["budget_lines"][0]
        self.assertEqual(row["revised_after"], row["revised_before"])
        commitment.prime_change_order_id = prime
        self.assertEqual(prime.amount_commitment_cost, 4600.0)
        self.assertEqual(prime.amount_recovery_margin, -200.0)
        warnings = prime._get_impact_preview()["warnings"]
        self.assertTrue(any("unrecovered cost" in w for w in warnings))
        self.assertFalse(any("No commitment" in w for w in warnings))
        self.assertFalse(commitment._get_impact_preview()["warnings"])

    def test_commitment_below_zero_refused_unless_backcharge(self):
        Model = type(self.env["construction.change.order"])
        co = self._create_co(
            [(self.cc_steel, self.subcontract, 1, -1500.0, 0.0)], side="commitment"
        )
        with patch.object(Model, "_get_commitment_amount", lambda self: 1000.0):
            with self.assertRaisesMsg(UserError, "below zero"):
                co.action_submit()
            self.assertEqual(co.stage_kind, "draft")
            co.is_backcharge = True
            co.action_submit()
            co.with_user(self.manager).action_approve()
        self.assertEqual(co.stage_kind, "approved")

    def test_approval_effects_run_in_the_same_transaction(self):
        Model = type(self.env["construction.change.order"])
        co = self._create_co([(self.cc_forming, self.labor, 1, 700.0, 0.0)])
        co.action_submit()

        def refuse(self):
            raise UserError(self.env._("Billing refused the change"))

        with patch.object(Model, "_apply_approval_effects", refuse):
            with self.assertRaisesMsg(UserError, "Billing refused"):
                co.with_user(self.manager).action_approve()
        self.assertEqual(co.stage_kind, "pending")
        self.assertEqual(
            self._columns(self.line_forming), (700.0, 0.0, 40000.0, 40700.0)
        )
        self.assertEqual(co.approval_ids.state, "pending")

    def test_effects_published_on_approval_and_void(self):
        Model = type(self.env["construction.change.order"])
        calls = []
        co = self._create_co([(self.cc_forming, self.labor, 1, 700.0, 0.0)])
        co.action_submit()
        with patch.object(
            Model,
            "_publish_event",
            lambda self, event_type: calls.append((self.ids, event_type)),
        ):
            co.with_user(self.manager).action_approve()
            co.with_user(self.manager).action_void("Mistake")
        self.assertEqual(
            calls,
            [(co.ids, "change_order.status"), (co.ids, "change_order.status")],
        )
