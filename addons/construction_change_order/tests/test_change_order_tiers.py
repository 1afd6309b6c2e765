from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

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

    def test_tiers_are_set_per_side(self):
        project, _line = self._project("one")
        project.commitment_change_order_tiers = "two"
        # Commitment side: potential change orders grouped into a change order.
        cpco = self._create_co(
            [(self.cc_concrete, self.material, 1, 400.0, 0.0)],
            side="commitment",
            project=project,
            tier_level="pco",
        )
        self.assertEqual(cpco.name, "CPCO-001")
        package = self._create_co([], side="commitment", project=project)
        cpco.parent_id = package
        self.assertEqual(package.name, "CCO-001")
        self.assertEqual(package.amount_cost, 400.0)
        # Prime side: still one tier.
        with self.assertRaisesMsg(
            ValidationError, r"its Prime Contract \(Owner\) change orders"
        ):
            self._create_co(
                [(self.cc_concrete, self.material, 1, 10.0, 0.0)],
                project=project,
                tier_level="pco",
            )
        # Only the commitment side is frozen: its first change order exists.
        project.invalidate_recordset()
        self.assertTrue(project.commitment_change_order_tiers_locked)
        self.assertFalse(project.change_order_tiers_locked)
        with self.assertRaisesMsg(UserError, "commitment change order tiers"):
            project.commitment_change_order_tiers = "three"
        project.change_order_tiers = "three"
        pco = self._create_co(
            [(self.cc_concrete, self.material, 1, 10.0, 0.0)],
            project=project,
            tier_level="pco",
        )
        self.assertEqual(pco.name, "PCO-001")
        project.invalidate_recordset()
        self.assertTrue(project.change_order_tiers_locked)
        with self.assertRaisesMsg(UserError, "prime contract change order tiers"):
            project.change_order_tiers = "one"
        self.assertEqual(
            (project.change_order_tiers, project.commitment_change_order_tiers),
            ("three", "two"),
        )

    def test_change_event_prices_each_side_with_its_tiers(self):
        project, _line = self._project("one")
        project.commitment_change_order_tiers = "three"
        event = self.env["construction.change.event"].create(
            {"project_id": project.id, "title": "Rock excavation"}
        )
        self.assertEqual(event._prepare_change_order_vals()["tier_level"], "co")
        self.assertEqual(
            event._prepare_change_order_vals(side="commitment")["tier_level"], "pco"
        )

    def test_company_settings_give_new_projects_their_tiers(self):
        # Through the Settings screen (Project app, Construction Change Orders).
        with Form(self.env["res.config.settings"]) as form:
            form.construction_prime_co_tiers = "three"
            form.construction_commitment_co_tiers = "two"
        form.record.execute()
        self.assertEqual(
            (
                self.env.company.construction_prime_co_tiers,
                self.env.company.construction_commitment_co_tiers,
            ),
            ("three", "two"),
        )
        project = self.env["project.project"].create({"name": "New job"})
        self.assertEqual(
            (project.change_order_tiers, project.commitment_change_order_tiers),
            ("three", "two"),
        )
        # A project can still depart from the company defaults.
        other = self.env["project.project"].create(
            {"name": "Other job", "commitment_change_order_tiers": "one"}
        )
        self.assertEqual(
            (other.change_order_tiers, other.commitment_change_order_tiers),
            ("three", "one"),
        )

    def test_commitment_tiers_column_starts_from_the_former_setting(self):
        # What an update of the addon does on a database where one setting drove
        # both sides: the new column takes each project's value, not the default.
        project, _line = self._project("three")
        other, _line = self._project("two")
        self.env.flush_all()
        self.env.cr.execute(
            "ALTER TABLE project_project "
            "ALTER COLUMN commitment_change_order_tiers DROP NOT NULL"
        )
        self.env.cr.execute(
            "UPDATE project_project SET commitment_change_order_tiers = NULL "
            "WHERE id IN %s",
            [tuple((project | other).ids)],
        )
        self.env["project.project"]._init_column("commitment_change_order_tiers")
        (project | other).invalidate_recordset()
        self.assertEqual(
            (project | other).mapped("commitment_change_order_tiers"), ["three", "two"]
        )
