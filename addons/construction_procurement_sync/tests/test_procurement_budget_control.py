from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementBudgetControl(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.buyer = cls.env["res.users"].create(
            {
                "name": "Test Buyer",
                "login": "test_construction_buyer",
                "email": "buyer@example.com",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            cls.env.ref("purchase.group_purchase_manager").id,
                            cls.env.ref(
                                "construction_connector_base.group_construction_user"
                            ).id,
                        ],
                    )
                ],
            }
        )
        # 95,000 already billed on concrete (budget 100,000).
        cls._post_vendor_bill(95000.0, cls.cc_concrete, cls.material)

    def _over_order(self):
        # 95,000 billed + 2,000 committed elsewhere + 4,000 = 101,000 > 100,000.
        committed = self._create_order(
            [(self.rebar, 1.0, 2000.0, self.cc_concrete, self.material)]
        )
        committed.button_confirm()
        return self._create_order(
            [(self.cement, 80.0, 50.0, self.cc_concrete, self.material)]
        )

    def test_within_budget(self):
        order = self._create_order(
            [(self.cement, 100.0, 50.0, self.cc_concrete, self.material)]
        )
        self.project.construction_budget_policy = "block"
        self.assertEqual(order.construction_budget_state, "ok")
        order.button_confirm()
        self.assertEqual(order.state, "purchase")
        self.assertEqual(self.line_concrete.committed_amount, 5000.0)
        self.assertEqual(self.line_concrete.actual_amount, 95000.0)

    def test_warn(self):
        self.project.construction_budget_policy = "warn"
        order = self._over_order()
        self.assertEqual(order.construction_budget_state, "over")
        self.assertIn("over by", order.construction_budget_message)
        order.with_user(self.buyer).button_confirm()
        self.assertEqual(order.state, "purchase")
        self.assertEqual(self.line_concrete.committed_amount, 6000.0)
        message = order.message_ids.filtered(
            lambda m: "Confirmed over budget" in (m.body or "")
        )
        self.assertEqual(len(message), 1)
        self.assertIn("over by", message.body)
        activity = order.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn("over budget", activity.summary)

    def test_block(self):
        self.project.construction_budget_policy = "block"
        order = self._over_order()
        with self.assertRaisesMsg(
            UserError, "cannot be confirmed: it goes over budget"
        ):
            order.button_confirm()
        self.assertEqual(order.state, "draft")
        self.assertEqual(self.line_concrete.committed_amount, 2000.0)
        # A budget modification makes room: then it confirms.
        modification = self.env["construction.budget.modification"].create(
            {
                "budget_id": self.budget.id,
                "reason": "Test transfer",
                "line_ids": [
                    (0, 0, {"budget_line_id": self.line_concrete.id, "amount": 1000}),
                    (0, 0, {"budget_line_id": self.line_steel.id, "amount": -1000}),
                ],
            }
        )
        modification.action_apply()
        order.button_confirm()
        self.assertEqual(order.state, "purchase")

    def test_override(self):
        self.project.construction_budget_policy = "override"
        order = self._over_order()
        with self.assertRaisesMsg(UserError, "only a Construction Manager"):
            order.with_user(self.buyer).button_confirm()
        self.assertEqual(order.state, "draft")
        action = order.button_confirm()
        self.assertEqual(action["res_model"], "construction.budget.override.wizard")
        self.assertEqual(order.state, "draft")
        wizard = self.env["construction.budget.override.wizard"].browse(
            action["res_id"]
        )
        self.assertIn("over by", wizard.overrun_text)
        wizard.reason = "Owner-directed upgrade, CO to follow"
        wizard.action_confirm()
        self.assertEqual(order.state, "purchase")
        self.assertEqual(
            order.construction_budget_override_reason,
            "Owner-directed upgrade, CO to follow",
        )
        self.assertEqual(order.construction_budget_override_user_id, self.env.user)
        self.assertTrue(
            order.message_ids.filtered(
                lambda m: "Owner-directed upgrade" in (m.body or "")
            )
        )
        self.assertEqual(self.line_concrete.committed_amount, 6000.0)
