from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderTiers(ChangeOrderCommon):
    def _project(self, tiers):
        project = self.env["project.project"].create(
            {"name": f"Tier {tiers}", "change_order_tiers": tiers}
        )
        budget = self.env["construction.budget"].create(
            {
                "project_id": project.id,
                "line_ids": [
                    Command.create(
                        {
                            "cost_code_id": self.cc_concrete.id,
                            "cost_type_id": self.material.id,
                            "original_amount": 50000.0,
                        }
                    )
                ],
            }
        )
        return project, budget.line_ids

    def test_tier_setting_freezes_with_first_change_order(self):
        project, _line = self._project("one")
        project.change_order_tiers = "two"  # no change order yet: allowed
        project.change_order_tiers = "one"
        self._create_co(
            [(self.cc_concrete, self.material, 1, 10.0, 0.0)], project=project
        )
        project.invalidate_recordset()
        self.assertTrue(project.change_order_tiers_locked)
        with self.assertRaisesMsg(UserError, "frozen"):
            project.change_order_tiers = "three"
        project.change_order_tiers = "one"  # same value: harmless
        self.assertEqual(project.change_order_tiers, "one")

    def test_one_tier_refuses_potential_change_orders(self):
        with self.assertRaisesMsg(ValidationError, "not allowed"):
            self._create_co(
                [(self.cc_concrete, self.material, 1, 10.0, 0.0)], tier_level="pco"
            )

    def test_two_tier_flow(self):
        project, budget_line = self._project("two")
        pco1 = self._create_co(
            [(self.cc_concrete, self.material, 2, 1000.0, 10.0)],
            project=project,
            tier_level="pco",
        )
        pco2 = self._create_co(
            [(self.cc_concrete, self.material, 1, 500.0, 20.0)],
            project=project,
            tier_level="pco",
        )
        self.assertEqual((pco1.name, pco2.name), ("PCO-001", "PCO-002"))
        # A PCO can be priced (pending) before it is packaged.
        pco1.action_submit()
        self.assertEqual(self._columns(budget_line)[0], 2000.0)
        with self.assertRaisesMsg(UserError, "approved through"):
            pco1.with_user(self.manager).action_approve()
        package = self._create_co([], project=project, title="CO #1")
        self.assertEqual(package.name, "PCCO-001")
        (pco1 | pco2).write({"parent_id": package.id})
        self.assertEqual(package.amount_cost, 2500.0)
        self.assertEqual(package.amount_price, 2800.0)
        # Joining a draft package keeps the PCO's own status until the package
        # moves; from then on the PCOs follow it.
        self.assertEqual(pco1.stage_kind, "pending")
        self.assertEqual(self._columns(budget_line)[0], 2000.0)
        with self.assertRaisesMsg(UserError, "follows the status"):
            pco2.action_submit()
        package.action_submit()
        self.assertEqual((pco1 | pco2).mapped("stage_kind"), ["pending", "pending"])
        self.assertEqual(self._columns(budget_line), (2500.0, 0.0, 50000.0, 52500.0))
        package.with_user(self.manager).action_approve()
        self.assertEqual((pco1 | pco2).mapped("stage_kind"), ["approved", "approved"])
        self.assertEqual(self._columns(budget_line), (0.0, 2500.0, 52500.0, 52500.0))
        with self.assertRaisesMsg(UserError, "void the package"):
            pco1.with_user(self.manager).action_void("no")
        package.with_user(self.manager).action_void("Duplicate")
        self.assertEqual((pco1 | pco2).mapped("stage_kind"), ["void", "void"])
        self.assertEqual(self._columns(budget_line), (0.0, 0.0, 50000.0, 50000.0))

    def test_three_tier_structure(self):
        project, budget_line = self._project("three")
        pco = self._create_co(
            [(self.cc_concrete, self.material, 1, 300.0, 0.0)],
            project=project,
            tier_level="pco",
        )
        package = self._create_co([], project=project, title="CO #1")
        with self.assertRaisesMsg(ValidationError, "goes into a Change Order Request"):
            pco.parent_id = package
        cor = self._create_co(
            [], project=project, tier_level="cor", parent_id=package.id
        )
        self.assertEqual(cor.name, "COR-001")
        pco.parent_id = cor
        package.invalidate_recordset()
        self.assertEqual(package.amount_cost, 300.0)
        package.action_submit()
        self.assertEqual(pco.stage_kind, "pending")
        package.with_user(self.manager).action_approve()
        self.assertEqual((cor | pco).mapped("stage_kind"), ["approved", "approved"])
        self.assertEqual(self._columns(budget_line)[1], 300.0)
        with self.assertRaisesMsg(UserError, "nothing can be added"):
            self._create_co(
                [(self.cc_concrete, self.material, 1, 1.0, 0.0)],
                project=project,
                tier_level="cor",
            ).parent_id = package
