from odoo import Command
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestBudgetUi(HttpCase):
    def test_manager_locks_budget_in_the_browser(self):
        cost_code = self.env["account.analytic.account"].create(
            {
                "code": "TOUR-01",
                "name": "Tour concrete",
                "plan_id": self.env.ref(
                    "construction_connector_base.analytic_plan_division_03"
                ).id,
            }
        )
        project = self.env["project.project"].create({"name": "Tour Clinic"})
        budget = self.env["construction.budget"].create(
            {
                "project_id": project.id,
                "line_ids": [
                    Command.create(
                        {
                            "cost_code_id": cost_code.id,
                            "original_amount": 1000.0,
                            "forecast_method": "manual",
                            "forecast_manual_amount": 3500.0,
                        }
                    )
                ],
            }
        )
        self.start_tour(
            "/odoo/action-construction_connector_base.construction_budget_action",
            "construction_budget_lock_tour",
            login="admin",
        )
        self.assertEqual(budget.state, "locked")
        self.assertEqual(budget.locked_by_id, self.env.ref("base.user_admin"))
