from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestNavigation(ProcurementCommon):
    """Smart buttons between project, budget, change orders, contracts, pay
    applications and purchase orders."""

    def test_smart_buttons(self):
        order = self._create_order(
            [(self.cement, 10.0, 50.0, self.cc_concrete, self.material)]
        )
        order.button_confirm()
        cancelled = self._create_order(
            [(self.cement, 1.0, 50.0, self.cc_concrete, self.material)]
        )
        cancelled.button_cancel()
        ChangeOrder = self.env["construction.change.order"]
        prime = ChangeOrder.create(
            {
                "title": "Owner extra",
                "project_id": self.project.id,
                "side": "prime",
                "partner_id": self.customer.id,
            }
        )
        commitment = ChangeOrder.create(
            {
                "title": "Supplier extra",
                "project_id": self.project.id,
                "side": "commitment",
                "partner_id": self.vendor.id,
                "purchase_order_id": order.id,
            }
        )
        contract = self.env["construction.contract"].create(
            {
                "project_id": self.project.id,
                "partner_id": self.customer.id,
                "original_contract_sum": 1000.0,
            }
        )
        budget = self.budget
        self.assertEqual(
            (
                budget.change_order_count,
                budget.contract_count,
                budget.pay_application_count,
                budget.purchase_order_count,
            ),
            (2, 1, 0, 1),
        )
        self.assertEqual(
            ChangeOrder.search(budget.action_view_change_orders()["domain"]),
            prime | commitment,
        )
        self.assertEqual(
            self.env["purchase.order"].search(
                budget.action_view_purchase_orders()["domain"]
            ),
            order,
        )
        self.assertEqual(
            self.env["construction.contract"].search(
                budget.action_view_construction_contracts()["domain"]
            ),
            contract,
        )
        # every document leads back to the project's budget
        for record in (prime, contract, order):
            action = record.action_view_construction_budget()
            self.assertEqual(
                (action["res_model"], action["res_id"]),
                ("construction.budget", budget.id),
            )
        self.assertEqual(contract.change_order_count, 1)
        self.assertEqual(
            ChangeOrder.search(contract.action_view_change_orders()["domain"]), prime
        )
        self.assertEqual(order.construction_change_order_count, 1)
        self.assertEqual(
            ChangeOrder.search(
                order.action_view_construction_change_orders()["domain"]
            ),
            commitment,
        )
        self.assertEqual(commitment.action_view_purchase_order()["res_id"], order.id)
