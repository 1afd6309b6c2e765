from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import ConstructionCommon


@tagged("post_install", "-at_install")
class TestCostCodes(ConstructionCommon):
    def test_masterformat_divisions_and_cost_types_are_shipped(self):
        root = self.env.ref("construction_connector_base.analytic_plan_cost_code")
        divisions = root.children_ids
        self.assertEqual(len(divisions), 50)
        self.assertEqual(
            sorted(divisions.mapped("name"))[:4],
            [
                "00 Procurement and Contracting Requirements",
                "01 General Requirements",
                "02 Existing Conditions",
                "03 Concrete",
            ],
        )
        self.assertIn("26 Electrical", divisions.mapped("name"))
        cost_types = self.env["account.analytic.account"].search(
            [("construction_role", "=", "cost_type")]
        )
        self.assertEqual(
            set(cost_types.mapped("cost_type_kind")),
            {"labor", "material", "equipment", "subcontract", "other"},
        )

    def test_cost_code_is_an_analytic_account_of_its_division(self):
        self.assertEqual(self.cc_concrete.construction_role, "cost_code")
        self.assertEqual(self.cc_concrete.plan_id, self.division_03)
        self.assertEqual(
            self.cc_concrete.root_plan_id,
            self.env.ref("construction_connector_base.analytic_plan_cost_code"),
        )

    def test_duplicate_code_in_one_company_is_refused(self):
        with self.assertRaisesMsg(ValidationError, "T03-300 already exists"):
            self._create_cost_code("T03-300", "Duplicate", self.division_03)
        # archived codes still count: codes are never reused for something else
        self.cc_forming.active = False
        with self.assertRaisesMsg(ValidationError, "T03-100 already exists"):
            self._create_cost_code("T03-100", "Duplicate", self.division_03)

    def test_same_code_in_another_company_is_fine(self):
        other = self.env["res.company"].create({"name": "Sister Company"})
        code = self._create_cost_code(
            "T03-300", "Cast-in-Place", self.division_03, other
        )
        self.assertEqual(code.company_id, other)

    def test_cost_code_needs_code_and_company(self):
        with self.assertRaisesMsg(ValidationError, "needs a code"):
            self.env["account.analytic.account"].create(
                {"name": "No code", "plan_id": self.division_03.id}
            )
        with self.assertRaisesMsg(ValidationError, "must belong to a company"):
            self.env["account.analytic.account"].create(
                {
                    "name": "Shared",
                    "code": "T99",
                    "plan_id": self.division_03.id,
                    "company_id": False,
                }
            )
