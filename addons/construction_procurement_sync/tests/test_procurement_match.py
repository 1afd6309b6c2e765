from ast import literal_eval

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementMatch(ProcurementCommon):
    def _order(self):
        order = self._create_order(
            [(self.rebar, 10.0, 100.0, self.cc_concrete, self.material)]
        )
        order.button_confirm()
        return order

    def _bill(self, order, qty, price):
        pol = order.order_line
        bill = self.env["account.move"].create(
            {
                "move_type": "in_invoice",
                "partner_id": order.partner_id.id,
                "invoice_date": "2026-02-01",
                "invoice_line_ids": [
                    (
                        0,
                        0,
                        {
                            "product_id": pol.product_id.id,
                            "quantity": qty,
                            "price_unit": price,
                            "tax_ids": [(5, 0, 0)],
                            "purchase_line_id": pol.id,
                            "analytic_distribution": pol.analytic_distribution,
                        },
                    )
                ],
            }
        )
        return bill

    def test_billed_before_received_blocks_payment(self):
        order = self._order()
        bill = self._bill(order, 10.0, 100.0)
        self.assertEqual(bill.construction_match_state, "exception")
        self.assertIn("before anything was received", bill.construction_match_message)
        bill.action_post()
        with self.assertRaisesMsg(UserError, "three-way match exception"):
            bill.action_register_payment()
        with self.assertRaisesMsg(UserError, "three-way match exception"):
            self._pay(bill)
        self.assertEqual(bill.payment_state, "not_paid")
        # The goods arrive: the exception resolves itself.
        self._receive(order, {self.rebar: 10.0})
        self.assertEqual(bill.construction_match_state, "matched")
        self._pay(bill)
        self.assertIn(bill.payment_state, ("paid", "in_payment"))

    def test_match_exception_blocks_every_way_of_paying(self):
        """Not only Register Payment: a payment confirmed for the bill, or an
        outstanding payment added to it, is refused while the exception is open."""
        order = self._order()
        bill = self._bill(order, 10.0, 100.0)
        bill.action_post()
        self.assertEqual(bill.construction_match_state, "exception")

        def payment(bills=None):
            return self.env["account.payment"].create(
                {
                    "payment_type": "outbound",
                    "partner_type": "supplier",
                    "partner_id": order.partner_id.id,
                    "amount": 1000.0,
                    "date": "2026-02-15",
                    "invoice_ids": [Command.set(bills.ids)] if bills else [],
                }
            )

        linked = payment(bill)
        with self.assertRaisesMsg(UserError, "three-way match exception"):
            linked.action_post()
        self.assertEqual(linked.state, "draft")
        on_account = payment()
        on_account.action_post()
        outstanding = self._outstanding_line(on_account, bill)
        self.assertEqual(len(outstanding), 1)
        with (
            self.assertRaisesMsg(UserError, "three-way match exception"),
            self.env.cr.savepoint(),
        ):
            bill.js_assign_outstanding_line(outstanding.id)
        self.assertEqual(bill.payment_state, "not_paid")
        # Accepted by a manager: the same payment now pays the bill.
        bill._construction_accept_match("Supplier delivers on Monday")
        self.assertEqual(bill.construction_match_state, "accepted")
        bill.js_assign_outstanding_line(outstanding.id)
        self.assertIn(bill.payment_state, ("paid", "in_payment"))
        self.assertEqual(bill.amount_residual, 0.0)

    def test_quantity_tolerance(self):
        order = self._order()
        self._receive(order, {self.rebar: 8.0})
        bill = self._bill(order, 8.4, 100.0)
        self.assertEqual(bill.construction_match_state, "exception")
        self.assertIn("billed 8.4, received 8.0", bill.construction_match_message)
        self.company.construction_match_qty_tolerance = 5.0
        bill.invoice_line_ids.quantity = 8.4
        bill.invalidate_recordset()
        bill._compute_construction_match()
        self.assertEqual(bill.construction_match_state, "matched")

    def test_price_exception_fixed_or_accepted(self):
        self.company.construction_match_price_tolerance = 2.0
        order = self._order()
        self._receive(order, {self.rebar: 10.0})
        bill = self._bill(order, 10.0, 103.0)
        self.assertEqual(bill.construction_match_state, "exception")
        self.assertIn("billed at 103.0", bill.construction_match_message)
        # Within tolerance once fixed.
        bill.invoice_line_ids.price_unit = 101.5
        self.assertEqual(bill.construction_match_state, "matched")
        bill.invoice_line_ids.price_unit = 103.0
        self.assertEqual(bill.construction_match_state, "exception")
        bill.action_post()
        clerk = self.env["res.users"].create(
            {
                "name": "Test AP Clerk",
                "login": "test_ap_clerk",
                "groups_id": [
                    (6, 0, [self.env.ref("account.group_account_invoice").id])
                ],
            }
        )
        with self.assertRaisesMsg(UserError, "Only a Construction Manager"):
            bill.with_user(clerk)._construction_accept_match("ok")
        wizard = (
            self.env["construction.match.accept.wizard"]
            .with_context(default_move_ids=bill.ids)
            .create({"reason": "Fuel surcharge agreed by phone"})
        )
        wizard.action_accept()
        self.assertEqual(bill.construction_match_state, "accepted")
        self.assertEqual(
            bill.construction_match_accepted_reason, "Fuel surcharge agreed by phone"
        )
        self._pay(bill)
        self.assertIn(bill.payment_state, ("paid", "in_payment"))
        # The acceptance shows in the AP list.
        action = self.env.ref(
            "construction_procurement_sync.account_move_match_exception_action"
        )
        listed = self.env["account.move"].search(literal_eval(action.domain))
        self.assertIn(bill, listed)
