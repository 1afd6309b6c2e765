from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import ConstructionCommon


@tagged("post_install", "-at_install")
class TestBudgetForecast(ConstructionCommon):
    def test_forecast_saved_and_compared(self):
        user = new_test_user(
            self.env,
            login="forecast_pm",
            groups="construction_connector_base.group_construction_user,"
            "project.group_project_user",
        )
        budget = self.budget.with_user(user)
        action = budget.action_save_forecast()
        first = self.env["construction.budget.forecast"].browse(action["res_id"])
        self.assertEqual(
            {
                (line.cost_code_id, line.revised_amount, line.estimate_at_completion)
                for line in first.line_ids
            },
            {
                (self.cc_concrete, 100000.00, 100000.00),
                (self.cc_forming, 40000.00, 40000.00),
                (self.cc_steel, 250000.00, 250000.00),
            },
        )
        self.assertEqual(
            (first.estimate_at_completion, first.over_under_amount), (390000.00, 0.0)
        )
        self.assertEqual(self.budget.forecast_count, 1)
        self.assertIn("Forecast saved", self.budget.message_ids[0].body)
        self.assertEqual(self.line_concrete.forecast_eac_change, 0.0)

        # 120,000.00 of concrete booked: that line's estimate grows by 20,000.00.
        self._post_vendor_bill(120000.00, self.cc_concrete, self.material)
        self.assertEqual(self.line_concrete.estimate_at_completion, 120000.00)
        self.assertEqual(
            (
                self.line_concrete.last_forecast_eac,
                self.line_concrete.forecast_eac_change,
                self.line_steel.forecast_eac_change,
            ),
            (100000.00, 20000.00, 0.0),
        )
        # The next month's forecast becomes the reference; the first is kept.
        budget.action_save_forecast()
        self.assertEqual(self.budget.forecast_count, 2)
        self.assertEqual(self.line_concrete.forecast_eac_change, 0.0)
        self.assertEqual(first.estimate_at_completion, 390000.00)
        action = self.budget.action_view_forecasts()
        self.assertEqual(
            self.env["construction.budget.forecast"]
            .search(action["domain"])
            .mapped("estimate_at_completion"),
            [410000.00, 390000.00],
        )

    def test_forecasts_by_company(self):
        self.budget.action_save_forecast()
        other = self.env["res.company"].create({"name": "Other Forecast GC"})
        user = new_test_user(
            self.env,
            login="forecast_other",
            groups="construction_connector_base.group_construction_user",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        Forecast = self.env["construction.budget.forecast"].with_user(user)
        self.assertFalse(Forecast.search([("budget_id", "=", self.budget.id)]))
        self.assertFalse(
            self.env["construction.budget.forecast.line"]
            .with_user(user)
            .search([("project_id", "=", self.project.id)])
        )
        with self.assertRaises(AccessError):
            self.budget.forecast_ids.with_user(user).read(["estimate_at_completion"])
