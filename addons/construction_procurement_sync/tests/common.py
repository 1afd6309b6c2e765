from odoo import Command

from odoo.addons.construction_connector_base.tests.common import ConstructionCommon


class ProcurementCommon(ConstructionCommon):
    """A vendor with priced products, goods and services, for procurement tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.groups_id |= cls.env.ref("purchase.group_purchase_manager") | (
            cls.env.ref("stock.group_stock_manager")
        )
        cls.company.write(
            {
                "construction_match_qty_tolerance": 0.0,
                "construction_match_price_tolerance": 0.0,
                "construction_receipt_tolerance": 0.0,
                "po_double_validation": "one_step",
            }
        )
        # A recoverable tax (posted to a tax account, not to the job cost).
        cls.tax_15 = cls.company.account_purchase_tax_id.copy(
            {"name": "Test purchase tax 15%", "amount": 15.0}
        )
        cls.cement = cls.env["product.product"].create(
            {
                "name": "Test Cement Bag",
                "default_code": "T-CEMENT",
                "type": "consu",
                "is_storable": True,
                "purchase_method": "receive",
                "standard_price": 40.0,
                "supplier_taxes_id": [Command.set(cls.tax_15.ids)],
                "seller_ids": [
                    Command.create({"partner_id": cls.vendor.id, "price": 50.0})
                ],
            }
        )
        cls.rebar = cls.env["product.product"].create(
            {
                "name": "Test Rebar Ton",
                "type": "consu",
                "purchase_method": "receive",
                "supplier_taxes_id": [Command.clear()],
            }
        )
        cls.steel_vendor = cls.env["res.partner"].create(
            {"name": "Test Steel Erectors Inc"}
        )
        cls.erection = cls.env["product.product"].create(
            {
                "name": "Test Steel Erection",
                "type": "service",
                "purchase_method": "purchase",
                "supplier_taxes_id": [Command.clear()],
            }
        )

    @classmethod
    def _create_order(cls, lines, partner=None, project=None, **values):
        """lines: [(product, qty, price, cost_code, cost_type)]"""
        project = project or cls.project
        return cls.env["purchase.order"].create(
            dict(
                {
                    "partner_id": (partner or cls.vendor).id,
                    "project_id": project.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "product_qty": qty,
                                "price_unit": price,
                                "analytic_distribution": cls._distribution(
                                    cost_code, cost_type, project
                                ),
                            }
                        )
                        for product, qty, price, cost_code, cost_type in lines
                    ],
                },
                **values,
            )
        )

    def _receive(self, order, quantities, backorder=True):
        """Receive {product: qty} on the order's open receipt."""
        picking = order.picking_ids.filtered(
            lambda p: p.state not in ("done", "cancel")
        )
        self.assertEqual(len(picking), 1)
        for move in picking.move_ids:
            move.quantity = quantities.get(move.product_id, 0.0)
            move.picked = True
        result = picking.button_validate()
        if isinstance(result, dict) and result.get("res_model") == (
            "stock.backorder.confirmation"
        ):
            wizard = self.env["stock.backorder.confirmation"].with_context(
                **result["context"]
            )
            if backorder:
                wizard.process()
            else:
                wizard.process_cancel_backorder()
        return picking

    def _bill_from_order(self, order, date="2026-02-01"):
        action = order.action_create_invoice()
        bill = self.env["account.move"].browse(action["res_id"])
        bill.invoice_date = date
        return bill

    def _pay(self, bills):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bills.ids)
            .create({"payment_date": "2026-02-15"})
            ._create_payments()
        )

    @staticmethod
    def _outstanding_line(payment, bill):
        """The payment's journal item that can be added to the bill's payable."""
        payable = bill.line_ids.filtered(lambda b: b.display_type == "payment_term")
        return payment.move_id.line_ids.filtered(
            lambda line: line.account_id == payable.account_id
        )

    def _budget_amounts(self, line):
        line.invalidate_recordset(["committed_amount", "actual_amount"])
        return (line.committed_amount, line.actual_amount)
