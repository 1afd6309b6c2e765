from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import ConstructionCommon


@tagged("post_install", "-at_install")
class TestSecurity(ConstructionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Rival Builders"})
        division = cls.division_03
        other_code = cls._create_cost_code(
            "R03-300", "Concrete", division, cls.other_company
        )
        other_project = cls.env["project.project"].create(
            {"name": "Rival Tower", "company_id": cls.other_company.id}
        )
        cls.other_budget = cls.env["construction.budget"].create(
            {
                "project_id": other_project.id,
                "line_ids": [
                    Command.create(
                        {"cost_code_id": other_code.id, "original_amount": 999.0}
                    )
                ],
            }
        )
        cls.user = new_test_user(
            cls.env,
            login="construction_user",
            groups="construction_connector_base.group_construction_user,project.group_project_user",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.manager = new_test_user(
            cls.env,
            login="construction_manager",
            groups="construction_connector_base.group_construction_manager",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )

    def test_other_company_budget_is_hidden(self):
        Budget = self.env["construction.budget"].with_user(self.user)
        self.assertIn(self.budget, Budget.search([]))
        self.assertNotIn(self.other_budget, Budget.search([]))
        self.assertFalse(
            self.env["construction.budget.line"]
            .with_user(self.user)
            .search([("budget_id", "=", self.other_budget.id)])
        )
        with self.assertRaises(AccessError):
            self.other_budget.with_user(self.user).read(["original_amount"])

    def test_only_managers_lock(self):
        with self.assertRaisesMsg(UserError, "Construction Manager"):
            self.budget.with_user(self.user).action_lock()
        self.budget.with_user(self.manager).action_lock()
        self.assertEqual(self.budget.state, "locked")
        self.assertEqual(self.budget.locked_by_id, self.manager)

    def test_user_reads_actual_cost_without_accounting_rights(self):
        self._post_vendor_bill(1234.56, self.cc_concrete, self.material)
        line = self.line_concrete.with_user(self.user)
        line.invalidate_recordset()
        self.assertAlmostEqual(line.actual_amount, 1234.56, places=2)

    def test_integration_group_has_no_menus(self):
        integration = new_test_user(
            self.env,
            login="integration_bot",
            groups="construction_connector_base.group_construction_integration",
        )
        root = self.env.ref("construction_connector_base.menu_construction_root")
        self.assertFalse(integration._is_internal())
        visible = (
            self.env["ir.ui.menu"].with_user(integration).sudo()._visible_menu_ids()
        )
        self.assertNotIn(root.id, visible)
