from odoo.tests import HttpCase, tagged

from .common import ChangeOrderCommon


@tagged("post_install", "-at_install")
class TestChangeOrderTour(HttpCase, ChangeOrderCommon):
    def test_manager_approves_change_order_and_sees_the_budget(self):
        self.project.name = "Tour Library"
        order = self._create_co(
            [(self.cc_concrete, self.material, 20.0, 150.0, 10.0)],
            title="Tour slab thickening",
        )
        order.with_user(self.engineer).action_submit()
        budget_line = self.budget.line_ids.filtered(
            lambda line: line.cost_code_id == self.cc_concrete
        )
        self.assertEqual(self._columns(budget_line), (3000.0, 0.0, 100000.0, 103000.0))
        self.start_tour(
            "/odoo/action-construction_connector_base.construction_budget_action",
            "construction_change_order_approval_tour",
            login=self.manager.login,
        )
        self.assertEqual(order.stage_kind, "approved")
        self.assertEqual(order.approved_by_id, self.manager)
        self.assertEqual(self._columns(budget_line), (0.0, 3000.0, 103000.0, 103000.0))
