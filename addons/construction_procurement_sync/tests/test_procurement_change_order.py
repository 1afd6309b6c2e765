from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementChangeOrder(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="proc_co_manager",
            name="Test CO Manager",
            groups="construction_connector_base.group_construction_manager,"
            "project.group_project_manager",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.subcontract_order = cls._create_order(
            [(cls.erection, 1.0, 20000.0, cls.cc_steel, cls.subcontract)],
            partner=cls.steel_vendor,
            construction_is_subcontract=True,
        )
        cls.subcontract_order.button_confirm()

    def _commitment_co(self, amount, **vals):
        return self.env["construction.change.order"].create(
            dict(
                {
                    "title": "Extra bracing",
                    "project_id": self.project.id,
                    "side": "commitment",
                    "partner_id": self.steel_vendor.id,
                    "purchase_order_id": self.subcontract_order.id,
                    "line_ids": [
                        Command.create(
                            {
                                "cost_code_id": self.cc_steel.id,
                                "cost_type_id": self.subcontract.id,
                                "name": "Bracing",
                                "quantity": 1,
                                "unit_cost": amount,
                            }
                        )
                    ],
                },
                **vals,
            )
        )

    def _approve(self, change):
        change.action_submit()
        change.with_user(self.manager).action_approve()
        self.assertEqual(change.stage_kind, "approved")

    def test_commitment_change_raises_and_lowers_committed(self):
        order = self.subcontract_order
        self.assertEqual(self._budget_amounts(self.line_steel), (20000.0, 0.0))
        change = self._commitment_co(5000.0)
        preview = change._get_impact_preview()
        self.assertEqual(preview["committed_before"], 20000.0)
        self.assertEqual(preview["committed_after"], 25000.0)
        # Not approved yet: the commitment does not move.
        change.action_submit()
        self.assertEqual(self._budget_amounts(self.line_steel), (20000.0, 0.0))
        change.with_user(self.manager).action_approve()
        added = change.purchase_line_ids
        self.assertEqual(len(added), 1)
        self.assertEqual(added.order_id, order)
        self.assertEqual(added.price_subtotal, 5000.0)
        self.assertEqual(added.construction_cost_code_id, self.cc_steel)
        self.assertEqual(order.amount_untaxed, 25000.0)
        self.assertEqual(self._budget_amounts(self.line_steel), (25000.0, 0.0))
        self.assertEqual(order.construction_committed_amount, 25000.0)

        deductive = self._commitment_co(-3000.0, title="Deleted stair")
        self._approve(deductive)
        self.assertEqual(self._budget_amounts(self.line_steel), (22000.0, 0.0))
        self.assertEqual(order.amount_untaxed, 22000.0)

        # Voiding an approved change takes its lines off the order.
        deductive.with_user(self.manager).action_void("Stair kept after all")
        self.assertEqual(self._budget_amounts(self.line_steel), (25000.0, 0.0))

        # Billing the change order line relieves its commitment like any line.
        bill = self._bill_from_order(order)
        bill.action_post()
        self.assertEqual(self._budget_amounts(self.line_steel), (0.0, 25000.0))
        with self.assertRaisesMsg(UserError, "already billed"):
            change.with_user(self.manager).action_void("Too late")

    def test_below_zero_unless_backcharge(self):
        change = self._commitment_co(-25000.0)
        with self.assertRaisesMsg(UserError, "below zero"):
            change.action_submit()
        backcharge = self._commitment_co(-25000.0, is_backcharge=True)
        self._approve(backcharge)
        self.assertEqual(self.subcontract_order.amount_untaxed, -5000.0)
        self.assertEqual(self._budget_amounts(self.line_steel), (-5000.0, 0.0))

    def test_order_must_match_change_order(self):
        with self.assertRaisesMsg(ValidationError, "only commitment change orders"):
            self._commitment_co(100.0, side="prime", partner_id=self.customer.id)
        with self.assertRaisesMsg(ValidationError, "is with"):
            self._commitment_co(100.0, partner_id=self.vendor.id)

    def test_prime_change_raises_material_request(self):
        change = self.env["construction.change.order"].create(
            {
                "title": "Thicker slab",
                "project_id": self.project.id,
                "side": "prime",
                "partner_id": self.customer.id,
                "line_ids": [
                    Command.create(
                        {
                            "cost_code_id": self.cc_concrete.id,
                            "cost_type_id": self.material.id,
                            "name": "Extra concrete",
                            "quantity": 12,
                            "unit_cost": 150.0,
                        }
                    ),
                    Command.create(
                        {
                            "cost_code_id": self.cc_forming.id,
                            "cost_type_id": self.labor.id,
                            "name": "Forming crew",
                            "quantity": 1,
                            "unit_cost": 900.0,
                        }
                    ),
                ],
            }
        )
        self._approve(change)
        request = change.material_request_ids
        self.assertEqual(len(request), 1)
        self.assertEqual(request.source, "change_order")
        self.assertEqual(request.origin, change.name)
        self.assertEqual(request.state, "draft")
        self.assertEqual(request.line_ids.name, "Extra concrete")
        self.assertEqual(request.line_ids.product_qty, 12.0)
        self.assertEqual(request.line_ids.cost_code_id, self.cc_concrete)
        change.with_user(self.manager).action_void("Owner withdrew")
        self.assertFalse(request.exists())
