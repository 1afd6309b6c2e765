from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import ProcurementCommon


@tagged("post_install", "-at_install")
class TestProcurementSubcontract(ProcurementCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.retention_account = cls.env["account.account"].create(
            {
                "name": "Test Retention Payable",
                "code": "219900",
                "account_type": "liability_current",
            }
        )
        cls.company.construction_retention_payable_account_id = cls.retention_account

    def _subcontract(self):
        order = self._create_order(
            [(self.erection, 1.0, 20000.0, self.cc_steel, self.subcontract)],
            partner=self.steel_vendor,
            construction_is_subcontract=True,
            construction_retainage_percent=10.0,
        )
        order.button_confirm()
        return order

    def test_retainage_withheld_and_released(self):
        order = self._subcontract()
        self.assertEqual(self._budget_amounts(self.line_steel), (20000.0, 0.0))
        bill = self._bill_from_order(order)
        work = bill.invoice_line_ids.filtered("purchase_line_id")
        work.quantity = 0.4  # 40 % of the schedule of values
        bill.action_post()
        retainage = bill.invoice_line_ids.filtered(
            lambda line: line.construction_retainage_kind == "withhold"
        )
        self.assertEqual(len(retainage), 1)
        self.assertEqual(retainage.account_id, self.retention_account)
        self.assertEqual(retainage.price_subtotal, -800.0)
        self.assertFalse(retainage.analytic_distribution)
        self.assertEqual(bill.amount_total, 7200.0)
        self.assertEqual(bill.construction_retainage_amount, 800.0)
        items = bill.line_ids
        self.assertEqual(sum(items.mapped("debit")), sum(items.mapped("credit")))
        by_account = {
            account: (
                sum(
                    items.filtered(lambda i, a=account: i.account_id == a).mapped(
                        "debit"
                    )
                ),
                sum(
                    items.filtered(lambda i, a=account: i.account_id == a).mapped(
                        "credit"
                    )
                ),
            )
            for account in items.account_id
        }
        self.assertEqual(by_account[work.account_id], (8000.0, 0.0))
        self.assertEqual(by_account[self.retention_account], (0.0, 800.0))
        payable = bill.partner_id.property_account_payable_id
        self.assertEqual(by_account[payable], (0.0, 7200.0))
        # Full cost to the job, the rest of the subcontract still committed.
        self.assertEqual(self._budget_amounts(self.line_steel), (12000.0, 8000.0))
        self.assertEqual(order.construction_retainage_withheld, 800.0)
        self.assertEqual(order.construction_retainage_balance, 800.0)

        # Partial release.
        wizard = (
            self.env["construction.retainage.release.wizard"]
            .with_context(default_order_id=order.id)
            .create({})
        )
        self.assertEqual(wizard.amount, 800.0)
        wizard.amount = 500.0
        release = self.env["account.move"].browse(wizard.action_release()["res_id"])
        release.action_post()
        self.assertEqual(release.amount_total, 500.0)
        items = release.line_ids
        self.assertEqual(
            items.filtered(lambda i: i.account_id == self.retention_account).debit,
            500.0,
        )
        self.assertEqual(
            items.filtered(lambda i: i.account_id == payable).credit, 500.0
        )
        self.assertEqual(order.construction_retainage_released, 500.0)
        self.assertEqual(order.construction_retainage_balance, 300.0)
        # Releasing retainage is no new cost.
        self.assertEqual(self._budget_amounts(self.line_steel), (12000.0, 8000.0))
        with self.assertRaisesMsg(UserError, "holds .*300.00"):
            order._construction_release_retainage(400.0)
        final = order._construction_release_retainage(300.0)
        final.action_post()
        self.assertEqual(order.construction_retainage_balance, 0.0)
        self.assertEqual(
            sum(
                self.env["account.move.line"]
                .search(
                    [
                        ("account_id", "=", self.retention_account.id),
                        ("parent_state", "=", "posted"),
                    ]
                )
                .mapped("balance")
            ),
            0.0,
        )

    def test_subcontract_rules(self):
        with self.assertRaisesMsg(ValidationError, "not a subcontract"):
            self._create_order(
                [(self.erection, 1.0, 100.0, self.cc_steel, self.subcontract)],
                construction_retainage_percent=5.0,
            )
        order = self._create_order(
            [(self.rebar, 1.0, 100.0, self.cc_steel, self.subcontract)],
            construction_is_subcontract=True,
        )
        with self.assertRaisesMsg(ValidationError, "must be a service"):
            order.button_confirm()

    def test_retention_account_created_on_first_use(self):
        self.company.construction_retention_payable_account_id = False
        account = self.company._construction_retention_payable_account()
        self.assertEqual(account.account_type, "liability_current")
        self.assertTrue(account.code.startswith("2195"))
        self.assertEqual(
            self.company.construction_retention_payable_account_id, account
        )
        self.assertEqual(
            self.company._construction_retention_payable_account(), account
        )
