from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderSecurity(ChangeOrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Rival Builders"})
        other_code = cls._create_cost_code(
            "R03-300", "Concrete", cls.division_03, cls.other_company
        )
        other_project = cls.env["project.project"].create(
            {"name": "Rival Tower", "company_id": cls.other_company.id}
        )
        cls.other_co = cls._create_co(
            [(other_code, None, 1, 10.0, 0.0)],
            user=cls.env.user,
            project=other_project,
        )
        cls.employee = new_test_user(
            cls.env, login="co_employee", groups="base.group_user"
        )
        cls.integration = new_test_user(
            cls.env,
            login="co_integration",
            groups="construction_connector_base.group_construction_integration",
        )

    def test_other_company_change_orders_hidden(self):
        mine = self._create_co([(self.cc_concrete, self.material, 1, 10.0, 0.0)])
        visible = self.ChangeOrder.with_user(self.engineer).search([])
        self.assertIn(mine, visible)
        self.assertNotIn(self.other_co, visible)
        with self.assertRaises(AccessError):
            self.other_co.with_user(self.engineer).read(["amount_cost"])
        with self.assertRaises(AccessError):
            self.other_co.line_ids.with_user(self.engineer).read(["cost_amount"])

    def test_employee_without_construction_rights(self):
        with self.assertRaises(AccessError):
            self.ChangeOrder.with_user(self.employee).search([])
        with self.assertRaises(AccessError):
            self._create_co(
                [(self.cc_concrete, self.material, 1, 10.0, 0.0)],
                user=self.employee,
            )

    def test_user_cannot_configure(self):
        with self.assertRaises(AccessError):
            self.Status.with_user(self.engineer).browse(
                self.Status._get_default("pending").id
            ).budget_effect = "none"
        with self.assertRaises(AccessError):
            self.Rule.with_user(self.engineer).create(
                {"name": "Me", "user_ids": [(6, 0, self.engineer.ids)]}
            )
        rule = self.Rule.with_user(self.manager).create(
            {"name": "PM", "user_ids": [(6, 0, self.pm.ids)]}
        )
        self.assertEqual(rule.company_id, self.company)

    def test_user_enters_and_submits_manager_approves(self):
        co = self._create_co([(self.cc_concrete, self.material, 1, 10.0, 0.0)])
        co.with_user(self.engineer).action_submit()
        with self.assertRaises(AccessError):
            co.with_user(self.pm).action_approve()
        co.with_user(self.manager).action_approve()
        self.assertEqual(co.stage_kind, "approved")
        # Voiding an approved change order is for managers.
        with self.assertRaisesMsg(AccessError, "Construction Manager"):
            co.with_user(self.engineer).action_void("oops")

    def test_integration_user_reads_change_orders(self):
        mine = self._create_co([(self.cc_concrete, self.material, 1, 10.0, 0.0)])
        found = self.ChangeOrder.with_user(self.integration).search([])
        self.assertIn(mine, found)
        self.assertNotIn(self.other_co, found)
        self.ChangeOrder.with_user(self.integration).check_access("create")
        with self.assertRaises(AccessError):
            self.ChangeOrder.with_user(self.integration).check_access("unlink")
