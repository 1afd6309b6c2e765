from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingChangeOrder(BillingCommon):
    """Approved prime change orders add to the contract sum and the schedule of
    values (G702 lines 2-3, change order summary); voiding reverses them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cc_rebar = cls._create_cost_code("T03-200", "Test Rebar", cls.division_03)
        cls.today = fields.Date.context_today(cls.env["construction.contract"])
        # Approvers may not approve what they entered: an engineer enters.
        cls.engineer = new_test_user(
            cls.env,
            login="billing_co_engineer",
            groups="construction_connector_base.group_construction_user,"
            "project.group_project_user",
        )

    def _prime_co(self, lines, side="prime"):
        """lines: [(cost_code, cost_type, quantity, unit_cost, markup %)]"""
        return (
            self.env["construction.change.order"]
            .with_user(self.engineer)
            .create(
                {
                    "title": "Owner-requested changes",
                    "project_id": self.project.id,
                    "side": side,
                    "partner_id": (
                        self.customer if side == "prime" else self.vendor
                    ).id,
                    "line_ids": [
                        Command.create(
                            {
                                "cost_code_id": cost_code.id,
                                "cost_type_id": cost_type.id,
                                "name": "Change line",
                                "quantity": quantity,
                                "unit_cost": unit_cost,
                                "markup_percent": markup,
                            }
                        )
                        for cost_code, cost_type, quantity, unit_cost, markup in lines
                    ],
                }
            )
            .with_user(self.env.user)
        )

    def _approve(self, co):
        co.action_submit()
        co.action_approve()
        self.assertEqual(co.stage_kind, "approved")

    def test_change_order_between_periods_then_void(self):
        app1 = self._new_application(self.today - timedelta(days=3))
        self._enter(app1, {self.sov1: (10000.0, 0.0)})
        self._certify(app1)

        co = self._prime_co(
            [
                (self.cc_concrete, self.material, 1, 5000.0, 10.0),  # 5,500
                (self.cc_rebar, self.material, 4, 500.0, 0.0),  # 2,000, new line
            ]
        )
        co.action_submit()
        preview = co._get_impact_preview()
        self.assertEqual(preview["contract_sum_before"], 100000.0)
        self.assertEqual(preview["contract_sum_after"], 107500.0)
        co.action_approve()
        self.assertEqual(self.contract.contract_sum_to_date, 107500.0)
        self.assertEqual(self.contract.sov_total, 107500.0)
        self.assertEqual(self.sov1.scheduled_value, 45500.0)
        sov_rebar = self.contract.sov_line_ids.filtered(
            lambda line: line.cost_code_id == self.cc_rebar
        )
        self.assertEqual(
            (sov_rebar.item_no, sov_rebar.origin, sov_rebar.scheduled_value),
            ("4", "change_order", 2000.0),
        )
        # The certified application is untouched.
        self.assertEqual(app1.contract_sum_to_date, 100000.0)

        app2 = self._new_application(self.today + timedelta(days=27))
        self._enter(app2, {self.sov1: (5000.0, 0.0)})
        self.assertEqual(
            (
                app2.co_additions_previous,
                app2.co_deductions_previous,
                app2.co_additions_this,
                app2.co_deductions_this,
            ),
            (0.0, 0.0, 7500.0, 0.0),
        )
        self.assertG702(
            app2,
            {
                "1": 100000.0,
                "2": 7500.0,
                "3": 107500.0,
                "4": 15000.0,
                "5a": 1500.0,
                "5b": 0.0,
                "5": 1500.0,
                "6": 13500.0,
                "7": 9000.0,
                "8": 4500.0,
                "9": 94000.0,
            },
        )
        self.assertEqual(self._line(app2, sov_rebar).scheduled_value, 2000.0)
        self._certify(app2)

        # Void after approval: reversed by negative changes, history kept.
        co.action_void("Owner withdrew")
        self.assertEqual(self.contract.contract_sum_to_date, 100000.0)
        self.assertEqual(sov_rebar.scheduled_value, 0.0)
        self.assertEqual(len(self.contract.change_ids), 4)
        app3 = self._new_application(self.today + timedelta(days=58))
        self.assertEqual(
            (
                app3.co_additions_previous,
                app3.co_deductions_previous,
                app3.co_additions_this,
                app3.co_deductions_this,
            ),
            (7500.0, 0.0, 0.0, 7500.0),
        )
        self.assertEqual(app3.net_change_orders, 0.0)
        self.assertEqual(app3.contract_sum_to_date, 100000.0)
        self.assertEqual(self._line(app3, self.sov1).scheduled_value, 40000.0)
        self.assertEqual(app2.contract_sum_to_date, 107500.0)

    def test_deductive_change_order_and_negative_progress(self):
        app1 = self._new_application(self.today - timedelta(days=3))
        self._enter(app1, {self.sov2: (15000.0, 0.0)})
        self._certify(app1)
        # Forming cut by 8,000: 12,000 left, 15,000 already billed.
        co = self._prime_co([(self.cc_forming, self.labor, 1, -8000.0, 0.0)])
        self._approve(co)
        self.assertEqual(self.sov2.scheduled_value, 12000.0)
        app2 = self._new_application(self.today + timedelta(days=27))
        self.assertEqual(app2.co_deductions_this, 8000.0)
        self._line(app2, self.sov2).work_this_period = -3000.0
        # 1,500 withheld on 15,000: 300 given back on the 3,000 taken off.
        self.assertEqual(self._line(app2, self.sov2).retainage_to_date, 1200.0)
        self.assertEqual(app2.current_payment_due, -2700.0)
        invoice = self._certify(app2)
        self.assertEqual(invoice.move_type, "out_refund")
        self.assertEqual(invoice.amount_total, 2700.0)

    def test_deduction_below_zero_is_refused(self):
        co = self._prime_co([(self.cc_rebar, self.material, 1, -100.0, 0.0)])
        co.action_submit()
        with self.assertRaisesMsg(ValidationError, "negative"):
            co.action_approve()
        self.assertEqual(self.contract.contract_sum_to_date, 100000.0)

    def test_commitment_change_order_leaves_contract_alone(self):
        co = self._prime_co(
            [(self.cc_steel, self.subcontract, 1, 9000.0, 0.0)], side="commitment"
        )
        self._approve(co)
        self.assertEqual(self.contract.contract_sum_to_date, 100000.0)
        self.assertFalse(self.contract.change_ids)
