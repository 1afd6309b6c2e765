from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementCommitments(ProcurementCommon):
    def _approved_request(self, qty=100.0, cost_code=None, product=None):
        request = self.env["construction.material.request"].create(
            {
                "project_id": self.project.id,
                "date_needed": "2026-03-01",
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "cost_code_id": (cost_code or self.cc_concrete).id,
                            "cost_type_id": self.material.id,
                            "product_id": (product or self.cement).id,
                            "product_qty": qty,
                        },
                    )
                ],
            }
        )
        request.action_submit()
        request.action_approve()
        return request

    def test_request_to_paid_bill(self):
        line = self.line_concrete
        request = self._approved_request()
        self.assertEqual(request.state, "approved")
        self.assertEqual(self._budget_amounts(line), (0.0, 0.0))

        request.action_create_rfq()
        order = request.purchase_order_ids
        self.assertEqual(len(order), 1)
        self.assertEqual(order.partner_id, self.vendor)
        self.assertEqual(order.project_id, self.project)
        self.assertEqual(request.state, "in_progress")
        pol = order.order_line
        self.assertEqual(pol.product_qty, 100.0)
        self.assertEqual(pol.price_unit, 50.0)
        self.assertEqual(
            pol.analytic_distribution,
            self._distribution(self.cc_concrete, self.material),
        )
        self.assertEqual(pol.construction_cost_code_id, self.cc_concrete)
        self.assertEqual(request.line_ids.qty_in_progress, 100.0)
        # An RFQ commits nothing.
        self.assertEqual(self._budget_amounts(line), (0.0, 0.0))

        order.button_confirm()
        self.assertEqual(order.state, "purchase")
        # Committed is untaxed: 100 x 50, not 5,750.
        self.assertEqual(self._budget_amounts(line), (5000.0, 0.0))
        self.assertEqual(self.budget.committed_amount, 5000.0)
        self.assertEqual(request.line_ids.qty_ordered, 100.0)
        self.assertEqual(request.line_ids.qty_in_progress, 0.0)

        self._receive(order, {self.cement: 60.0})
        self.assertEqual(pol.qty_received, 60.0)
        self.assertEqual(request.line_ids.qty_received, 60.0)
        self.assertEqual(self._budget_amounts(line), (5000.0, 0.0))

        bill = self._bill_from_order(order)
        self.assertEqual(bill.invoice_line_ids.quantity, 60.0)
        # A draft bill neither relieves the commitment nor costs anything yet.
        self.assertEqual(self._budget_amounts(line), (5000.0, 0.0))
        bill.action_post()
        self.assertEqual(bill.construction_match_state, "matched")
        self.assertEqual(self._budget_amounts(line), (2000.0, 3000.0))
        self.assertEqual(bill.amount_total, 3450.0)
        # Each figure sent out says which committed it is: the job-cost export
        # sends what is still open, reconciliation compares the ordered value.
        budget = self.budget
        payload = budget._job_cost_payload(budget._job_cost_rows()[budget])
        concrete = next(
            row
            for row in payload["cost_codes"]
            if row["cost_code"] == self.cc_concrete.code
        )
        self.assertEqual(
            (concrete["open_commitments"], concrete["actual_cost"]), (2000.0, 3000.0)
        )
        figures = self.env[
            "construction.reconciliation.run"
        ]._reconciliation_odoo_figures(self.project)
        self.assertEqual(
            figures[(self.project.id, self.cc_concrete.id, "committed")], 5000.0
        )

        self._pay(bill)
        self.assertIn(bill.payment_state, ("paid", "in_payment"))
        self.assertEqual(self._budget_amounts(line), (2000.0, 3000.0))

        # The rest arrives and is billed: nothing left committed.
        self._receive(order, {self.cement: 40.0})
        self.assertEqual(request.line_ids.qty_received, 100.0)
        self.assertEqual(request.state, "done")
        bill2 = self._bill_from_order(order)
        bill2.action_post()
        self.assertEqual(self._budget_amounts(line), (0.0, 5000.0))
        self.assertEqual(line.forecast_to_complete, 95000.0)

        # Resetting the bill to draft puts the commitment back.
        bill2.button_draft()
        self.assertEqual(self._budget_amounts(line), (2000.0, 3000.0))

        # The commitments report agrees with the budget.
        rows = self.env["construction.commitment.report"].search(
            [("order_id", "=", order.id)]
        )
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows.project_id, self.project)
        self.assertEqual(rows.cost_code_id, self.cc_concrete)
        self.assertEqual(rows.cost_type_id, self.material)
        self.assertEqual(rows.ordered_amount, 5000.0)
        self.assertEqual(rows.billed_amount, 3000.0)
        self.assertEqual(rows.committed_amount, 2000.0)
        self.assertEqual(order.construction_committed_amount, 2000.0)
        action = self.project.action_view_construction_commitments()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), rows)
        self.assertEqual(self.project.construction_material_request_count, 1)

    def test_budget_reader_sees_committed_cost(self):
        """A construction user without purchase rights reads the committed cost."""
        order = self._create_order(
            [(self.cement, 10.0, 50.0, self.cc_concrete, self.material)]
        )
        order.button_confirm()
        reader = self.env["res.users"].create(
            {
                "name": "Test Budget Reader",
                "login": "test_budget_reader",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            self.env.ref(
                                "construction_connector_base.group_construction_user"
                            ).id
                        ],
                    )
                ],
            }
        )
        self.line_concrete.invalidate_recordset(["committed_amount"])
        self.env.add_to_compute(
            self.line_concrete._fields["committed_amount"], self.line_concrete
        )
        line = self.line_concrete.with_user(reader)
        self.assertEqual(line.committed_amount, 500.0)
        self.assertEqual(line.budget_id.committed_amount, 500.0)

    def test_cancel_and_unbudgeted_cost_code(self):
        cc_rebar = self._create_cost_code("T03-200", "Test Rebar", self.division_03)
        order = self._create_order(
            [
                (self.cement, 10.0, 50.0, self.cc_concrete, self.material),
                (self.rebar, 2.0, 1200.0, cc_rebar, self.material),
            ]
        )
        order.button_confirm()
        self.assertEqual(self._budget_amounts(self.line_concrete), (500.0, 0.0))
        unbudgeted = self.budget.line_ids.filtered(lambda b: b.cost_code_id == cc_rebar)
        self.assertEqual(len(unbudgeted), 1)
        self.assertEqual(unbudgeted.original_amount, 0.0)
        self.assertEqual(unbudgeted.committed_amount, 2400.0)
        # Changing a confirmed line moves the commitment.
        order.order_line[0].product_qty = 12.0
        self.assertEqual(self._budget_amounts(self.line_concrete), (600.0, 0.0))
        order.button_cancel()
        self.assertEqual(self._budget_amounts(self.line_concrete), (0.0, 0.0))
        self.assertEqual(self._budget_amounts(unbudgeted), (0.0, 0.0))

    def test_split_distribution_and_foreign_currency(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.env["res.currency.rate"].create(
            {
                "name": "2026-01-01",
                "rate": 0.8,
                "currency_id": eur.id,
                "company_id": self.company.id,
            }
        )
        if self.currency == eur:
            self.skipTest("needs a company currency other than EUR")
        order = self._create_order(
            [(self.rebar, 1.0, 800.0, self.cc_concrete, self.material)],
            currency_id=eur.id,
            date_order="2026-01-10",
        )
        order.order_line.analytic_distribution = {
            next(iter(self._distribution(self.cc_concrete, self.material))): 75,
            next(iter(self._distribution(self.cc_forming, self.labor))): 25,
        }
        order.button_confirm()
        # 800 EUR at 0.8 = 1,000 in company currency, split 75/25.
        self.assertEqual(self._budget_amounts(self.line_concrete), (750.0, 0.0))
        self.assertEqual(self._budget_amounts(self.line_forming), (250.0, 0.0))

    def test_request_bad_input(self):
        with self.assertRaisesMsg(ValidationError, "greater than zero"):
            self.env["construction.material.request"].create(
                {
                    "project_id": self.project.id,
                    "line_ids": [
                        (0, 0, {"product_id": self.cement.id, "product_qty": -1})
                    ],
                }
            )
        request = self.env["construction.material.request"].create(
            {
                "project_id": self.project.id,
                "line_ids": [(0, 0, {"product_id": self.cement.id, "product_qty": 5})],
            }
        )
        with self.assertRaisesMsg(ValidationError, "needs a cost code"):
            request.action_submit()
        self.assertEqual(request.state, "draft")
        request.line_ids.cost_code_id = self.cc_concrete
        request.action_submit()
        user = self.env["res.users"].create(
            {
                "name": "Test Site Engineer",
                "login": "test_site_engineer",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            self.env.ref(
                                "construction_connector_base.group_construction_user"
                            ).id
                        ],
                    )
                ],
            }
        )
        with self.assertRaisesMsg(UserError, "project manager"):
            request.with_user(user).action_approve()
        self.project.user_id = user
        request.with_user(user).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.approver_id, user)

    def test_rfq_grouped_by_vendor_and_errors(self):
        other = self.env["res.partner"].create({"name": "Test Other Vendor"})
        request = self.env["construction.material.request"].create(
            {
                "project_id": self.project.id,
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "cost_code_id": self.cc_concrete.id,
                            "product_id": self.cement.id,
                            "product_qty": 10,
                        },
                    ),
                    (
                        0,
                        0,
                        {
                            "cost_code_id": self.cc_concrete.id,
                            "product_id": self.rebar.id,
                            "product_qty": 2,
                        },
                    ),
                ],
            }
        )
        with self.assertRaisesMsg(UserError, "not approved"):
            request.action_create_rfq()
        request.action_submit()
        request.action_approve()
        with self.assertRaisesMsg(UserError, "has no vendor"):
            request.action_create_rfq()
        self.assertFalse(request.purchase_order_ids)
        request.line_ids[1].vendor_id = other
        request.line_ids[0].vendor_id = False
        request.action_create_rfq()
        orders = request.purchase_order_ids
        self.assertEqual(len(orders), 2)
        self.assertEqual(
            set(orders.mapped("partner_id").ids), {self.vendor.id, other.id}
        )
        with self.assertRaisesMsg(UserError, "Nothing is left to order"):
            request.action_create_rfq()
        # Cancelled quantities are tracked and can be ordered again.
        orders.filtered(lambda o: o.partner_id == other).button_cancel()
        rebar_line = request.line_ids[1]
        self.assertEqual(rebar_line.qty_cancelled, 2.0)
        self.assertEqual(rebar_line.qty_to_order, 2.0)

    def test_order_line_without_cost_code(self):
        order = self._create_order(
            [(self.rebar, 1.0, 100.0, self.cc_concrete, self.material)]
        )
        order.order_line.analytic_distribution = {str(self.cc_concrete.id): 100}
        with self.assertRaisesMsg(ValidationError, "has no project"):
            order.button_confirm()
        order.order_line.analytic_distribution = {str(self.project.account_id.id): 100}
        with self.assertRaisesMsg(ValidationError, "needs a cost code"):
            order.button_confirm()
        self.assertEqual(order.state, "draft")
        self.project.construction_require_cost_code = False
        order.button_confirm()
        self.assertEqual(order.state, "purchase")

    def test_negative_order_quantity_refused(self):
        order = self._create_order(
            [(self.rebar, 1.0, 100.0, self.cc_concrete, self.material)]
        )
        with self.assertRaisesMsg(ValidationError, "negative quantity"):
            order.order_line.product_qty = -2.0

    def test_over_receipt_refused(self):
        order = self._create_order(
            [(self.cement, 10.0, 50.0, self.cc_concrete, self.material)]
        )
        order.button_confirm()
        with self.assertRaisesMsg(UserError, "more than ordered"):
            self._receive(order, {self.cement: 11.0})
        self.company.construction_receipt_tolerance = 10.0
        self._receive(order, {self.cement: 11.0})
        self.assertEqual(order.order_line.qty_received, 11.0)
