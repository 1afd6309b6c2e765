from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ConstructionCommon


@tagged("post_install", "-at_install")
class TestBudget(ConstructionCommon):
    def _transfer(self, amount, to_line, from_line, apply=True):
        modification = self.env["construction.budget.modification"].create(
            {
                "budget_id": self.budget.id,
                "reason": "Pour sequence changed",
                "line_ids": [
                    Command.create({"budget_line_id": to_line.id, "amount": amount}),
                    Command.create({"budget_line_id": from_line.id, "amount": -amount}),
                ],
            }
        )
        if apply:
            modification.action_apply()
        return modification

    def assertColumns(self, record, **expected):
        for column, value in expected.items():
            self.assertAlmostEqual(
                record[column], value, places=2, msg=f"{record.display_name}: {column}"
            )

    def test_every_column_after_transfer_bill_and_forecast(self):
        self._transfer(5000.50, self.line_concrete, self.line_forming)
        self.assertColumns(
            self.line_concrete,
            original_amount=100000.00,
            modification_amount=5000.50,
            approved_change_amount=0.0,
            revised_amount=105000.50,
            pending_change_amount=0.0,
            projected_amount=105000.50,
            committed_amount=0.0,
            actual_amount=0.0,
            forecast_to_complete=105000.50,
            estimate_at_completion=105000.50,
            over_under_amount=0.0,
        )
        self.assertColumns(
            self.line_forming, modification_amount=-5000.50, revised_amount=34999.50
        )

        self._post_vendor_bill(12345.67, self.cc_concrete, self.material)
        self.assertColumns(
            self.line_concrete,
            actual_amount=12345.67,
            forecast_to_complete=92654.83,
            estimate_at_completion=105000.50,
            over_under_amount=0.0,
        )

        self.line_concrete.write(
            {"forecast_method": "manual", "forecast_manual_amount": 100000}
        )
        self.assertColumns(
            self.line_concrete,
            forecast_to_complete=100000.00,
            estimate_at_completion=112345.67,
            over_under_amount=-7345.17,
        )
        self.assertColumns(
            self.budget,
            original_amount=390000.00,
            modification_amount=0.0,
            revised_amount=390000.00,
            projected_amount=390000.00,
            actual_amount=12345.67,
            forecast_to_complete=384999.50,
            estimate_at_completion=397345.17,
            over_under_amount=-7345.17,
        )

    def test_actual_cost_follows_the_ledger(self):
        bill = self._post_vendor_bill(2500.00, self.cc_steel, self.subcontract)
        self.assertColumns(self.line_steel, actual_amount=2500.00)
        # cost on a code with another cost type is not this line's cost
        self._post_vendor_bill(700.00, self.cc_steel, self.labor)
        self.assertColumns(self.line_steel, actual_amount=2500.00)
        unbudgeted = self.budget.line_ids.filtered(
            lambda line: (
                line.cost_code_id == self.cc_steel and line.cost_type_id == self.labor
            )
        )
        self.assertEqual(len(unbudgeted), 1, "cost without a budget line gets one")
        self.assertColumns(unbudgeted, original_amount=0.0, actual_amount=700.00)
        self.assertColumns(self.budget, actual_amount=3200.00)
        # resetting the bill removes its analytic lines: the cost disappears
        bill.button_draft()
        self.assertColumns(self.line_steel, actual_amount=0.0)
        self.assertColumns(self.budget, actual_amount=700.00)

    def test_revenue_is_not_cost(self):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_date": "2026-01-31",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Progress billing",
                            "quantity": 1,
                            "price_unit": 50000.00,
                            "tax_ids": [Command.clear()],
                            "analytic_distribution": self._distribution(
                                self.cc_steel, self.labor
                            ),
                        }
                    )
                ],
            }
        )
        invoice.action_post()
        self.assertEqual(len(self.budget.line_ids), 3, "no unbudgeted line for revenue")
        self.assertColumns(self.budget, actual_amount=0.0)

    def test_modification_must_net_to_zero(self):
        modification = self.env["construction.budget.modification"].create(
            {
                "budget_id": self.budget.id,
                "reason": "Unbalanced",
                "line_ids": [
                    Command.create(
                        {"budget_line_id": self.line_concrete.id, "amount": 100}
                    ),
                    Command.create(
                        {"budget_line_id": self.line_forming.id, "amount": -99.99}
                    ),
                ],
            }
        )
        with self.assertRaisesMsg(ValidationError, "does not net to zero"):
            modification.action_apply()
        self.assertEqual(modification.state, "draft")
        self.assertColumns(self.line_concrete, modification_amount=0.0)

    def test_modification_cannot_overdraw_a_line(self):
        with self.assertRaisesMsg(ValidationError, "negative"):
            self._transfer(40000.01, self.line_concrete, self.line_forming)

    def test_cancelled_modification_is_reversed(self):
        modification = self._transfer(1000, self.line_steel, self.line_concrete)
        self.assertColumns(self.line_steel, revised_amount=251000.00)
        modification.action_cancel()
        self.assertColumns(
            self.line_steel, revised_amount=250000.00, modification_amount=0.0
        )

    def test_locked_budget_freezes_originals(self):
        self.budget.action_lock()
        self.assertEqual(self.budget.state, "locked")
        with self.assertRaisesMsg(UserError, "locked"):
            self.line_concrete.original_amount = 1.0
        with self.assertRaisesMsg(UserError, "locked"):
            self.line_concrete.unlink()
        with self.assertRaisesMsg(UserError, "locked"):
            self.env["construction.budget.line"].create(
                {
                    "budget_id": self.budget.id,
                    "cost_code_id": self.cc_concrete.id,
                    "cost_type_id": self.labor.id,
                    "original_amount": 10.0,
                }
            )
        with self.assertRaisesMsg(UserError, "cannot be moved"):
            self.line_concrete.cost_code_id = self.cc_steel
        # Writing a line's own values again (a data reload, an idempotent
        # upsert) is no change.
        self.line_concrete.write(
            {
                "budget_id": self.budget.id,
                "cost_code_id": self.line_concrete.cost_code_id.id,
                "cost_type_id": self.line_concrete.cost_type_id.id,
                "original_amount": self.line_concrete.original_amount,
            }
        )
        self.assertEqual(self.line_concrete.cost_code_id, self.cc_concrete)
        # changes still flow through modifications
        self._transfer(250, self.line_concrete, self.line_steel)
        self.assertColumns(self.line_concrete, revised_amount=100250.00)
        self.assertColumns(self.budget, original_amount=390000.00)

    def test_bad_amounts_are_refused(self):
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(IntegrityError),
            self.cr.savepoint(),
        ):
            self.line_concrete.original_amount = -1
        with self.assertRaises(TypeError):
            self.line_concrete.original_amount = "ten thousand"
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(IntegrityError),
            self.cr.savepoint(),
        ):
            self.env["construction.budget.line"].create(
                {
                    "budget_id": self.budget.id,
                    "cost_code_id": self.cc_concrete.id,
                    "cost_type_id": self.material.id,
                    "original_amount": 5,
                }
            )
        self.assertColumns(self.line_concrete, original_amount=100000.00)

    def test_original_change_is_logged_in_chatter(self):
        budget = self.budget.with_context(tracking_disable=False)
        budget.line_ids.filtered(
            lambda line: line == self.line_forming
        ).original_amount = 42000
        self.assertIn("42,000.00", budget.message_ids[0].body)
        extra = self.env["construction.budget.line"].create(
            {
                "budget_id": budget.id,
                "cost_code_id": self.cc_steel.id,
                "original_amount": 7,
            }
        )
        self.assertIn("Budget lines added", budget.message_ids[0].body)
        self.assertIn("7.00", budget.message_ids[0].body)
        extra.unlink()
        self.assertIn("Budget lines removed", budget.message_ids[0].body)

    def test_line_needs_a_cost_code_of_the_budget_company(self):
        other_company = self.env["res.company"].create({"name": "Other Builder Inc."})
        foreign_code = self._create_cost_code(
            "T03-300", "Foreign concrete", self.division_03, company=other_company
        )
        with self.assertRaises(UserError):
            self.env["construction.budget.line"].create(
                {"budget_id": self.budget.id, "cost_code_id": foreign_code.id}
            )
        with self.assertRaisesMsg(ValidationError, "not a cost code"):
            self.env["construction.budget.line"].create(
                {
                    "budget_id": self.budget.id,
                    "cost_code_id": self.project.account_id.id,
                }
            )
