import io

from odoo import Command
from odoo.tests import tagged
from odoo.tools.pdf import PdfFileReader

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingProgress(BillingCommon):
    """Three periods: stored materials later installed, change orders between
    periods 1 and 2, the reduction threshold crossed in period 2, the cap
    reached in period 3; then a partial and a final retainage release."""

    def _period_1(self):
        app = self._new_application("2026-01-31")
        self._enter(
            app,
            {
                self.sov1: (10000.00, 0.0),
                self.sov2: (5000.00, 0.0),
                self.sov3: (0.0, 8000.00),  # steel delivered, stored on site
            },
        )
        return app

    def _change_orders(self):
        # CO-001 adds 10,000 to steel, CO-002 adds a new canopy line of 5,000,
        # CO-003 deducts 2,000 from forming: net +13,000.
        self._approve_change(self.sov3, 10000.00, "2026-02-10", "CO-001")
        self.sov4 = self.env["construction.sov.line"].create(
            {
                "contract_id": self.contract.id,
                "sequence": 4,
                "item_no": "4",
                "name": "Canopy",
                "origin": "change_order",
                "cost_code_id": self.cc_steel.id,
            }
        )
        self._approve_change(self.sov4, 5000.00, "2026-02-15", "CO-002")
        self._approve_change(self.sov2, -2000.00, "2026-02-20", "CO-003")

    def _period_2(self):
        app = self._new_application("2026-02-28")
        self._enter(
            app,
            {
                self.sov1: (30000.00, 0.0),
                self.sov2: (8000.00, 0.0),
                # the 8,000 stored is installed, with 32,000 more work;
                # 6,000 of new material is stored
                self.sov3: (40000.00, 6000.00),
                self.sov4: (5000.00, 0.0),
            },
        )
        return app

    def _period_3(self):
        app = self._new_application("2026-03-31")
        self._enter(
            app,
            {
                self.sov2: (5000.00, 0.0),
                self.sov3: (10000.00, 0.0),  # the 6,000 stored is installed
            },
        )
        return app

    def test_01_period_1_stored_materials(self):
        budget_lines = self.budget.line_ids
        app = self._period_1()
        self.assertEqual(app.number, 1)
        self.assertEqual(app.state, "draft")
        self.assertG703(
            app,
            {
                # C, D, E, F, G, %, H, I
                self.sov1: (40000.0, 0.0, 10000.0, 0.0, 10000.0, 25.0, 30000.0, 1000.0),
                self.sov2: (20000.0, 0.0, 5000.0, 0.0, 5000.0, 25.0, 15000.0, 500.0),
                self.sov3: (40000.0, 0.0, 0.0, 8000.0, 8000.0, 20.0, 32000.0, 400.0),
            },
        )
        self.assertG702(
            app,
            {
                "1": 100000.0,
                "2": 0.0,
                "3": 100000.0,
                "4": 23000.0,
                "5a": 1500.0,
                "5b": 400.0,
                "5": 1900.0,
                "6": 21100.0,
                "7": 0.0,
                "8": 21100.0,
                "9": 78900.0,
            },
        )
        self.assertIn("5%", self._line(app, self.sov3).retainage_explanation)
        invoice = self._certify(app)
        self.assertEqual(app.state, "invoiced")
        self.assertEqual(invoice.move_type, "out_invoice")
        self.assertEqual(invoice.amount_total, 21100.0)
        self.assertEqual(invoice.construction_pay_application_id, app)
        # Journal items: receivable = current payment due, retainage apart.
        lines = invoice.line_ids
        receivable = lines.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        retention = lines.filtered(
            lambda line: line.account_id == self.retention_account
        )
        revenue = lines.filtered(
            lambda line: line.account_id == self.contract.revenue_account_id
        )
        self.assertEqual(sum(receivable.mapped("debit")), 21100.0)
        self.assertEqual(sum(retention.mapped("debit")), 1900.0)
        self.assertEqual(sum(retention.mapped("credit")), 0.0)
        self.assertEqual(sum(revenue.mapped("credit")), 23000.0)
        self.assertEqual(sorted(revenue.mapped("credit")), [5000.0, 8000.0, 10000.0])
        self.assertEqual(sum(lines.mapped("debit")), sum(lines.mapped("credit")))
        self.assertEqual(lines - receivable - retention - revenue, lines.browse())
        # Revenue carries project and cost code analytics.
        steel = revenue.filtered(lambda line: line.credit == 8000.0)
        key = f"{self.project.account_id.id},{self.cc_steel.id}"
        self.assertEqual(steel.analytic_distribution, {key: 100})
        # Revenue is not cost: the job-cost budget gets no new line.
        self.assertEqual(self.budget.line_ids, budget_lines)
        self.assertEqual(self.line_steel.actual_amount, 0.0)
        # Payment flows back.
        self._pay(invoice)
        self.assertEqual(app.state, "paid")

    def test_02_three_periods(self):
        app1 = self._period_1()
        self._certify(app1)
        self._change_orders()
        self.assertEqual(self.contract.contract_sum_to_date, 113000.0)
        self.assertEqual(self.contract.sov_total, 113000.0)

        app2 = self._period_2()
        self.assertEqual(app2.previous_id, app1)
        self.assertEqual(
            (
                app2.co_additions_previous,
                app2.co_deductions_previous,
                app2.co_additions_this,
                app2.co_deductions_this,
            ),
            (0.0, 0.0, 15000.0, 2000.0),
        )
        # Threshold 50% of 113,000 = 56,500; 15,000 done before, so 41,500 of
        # the period's 83,000 is withheld at 10% and 41,500 at 5%: half of each
        # line's work at each rate.
        self.assertG703(
            app2,
            {
                self.sov1: (
                    40000.0,
                    10000.0,
                    30000.0,
                    0.0,
                    40000.0,
                    100.0,
                    0.0,
                    3250.0,
                ),
                self.sov2: (
                    18000.0,
                    5000.0,
                    8000.0,
                    0.0,
                    13000.0,
                    72.22,
                    5000.0,
                    1100.0,
                ),
                self.sov3: (
                    50000.0,
                    0.0,
                    40000.0,
                    6000.0,
                    46000.0,
                    92.0,
                    4000.0,
                    3300.0,
                ),
                self.sov4: (5000.0, 0.0, 5000.0, 0.0, 5000.0, 100.0, 0.0, 375.0),
            },
        )
        self.assertG702(
            app2,
            {
                "1": 100000.0,
                "2": 13000.0,
                "3": 113000.0,
                "4": 104000.0,
                "5a": 7725.0,
                "5b": 300.0,
                "5": 8025.0,
                "6": 95975.0,
                "7": 21100.0,
                "8": 74875.0,
                "9": 17025.0,
            },
        )
        self.assertIn("reduced", app2.retainage_note)
        invoice2 = self._certify(app2)
        self.assertEqual(invoice2.amount_total, 74875.0)
        retention = invoice2.line_ids.filtered(
            lambda line: line.account_id == self.retention_account
        )
        self.assertEqual(retention.debit, 6125.0)

        app3 = self._period_3()
        self.assertEqual(
            (
                app3.co_additions_previous,
                app3.co_deductions_previous,
                app3.co_additions_this,
                app3.co_deductions_this,
            ),
            (15000.0, 2000.0, 0.0, 0.0),
        )
        # All of period 3 is past the threshold: 5% of 5,000 and 10,000 = 750,
        # but the cap 7.25% x 113,000 = 8,192.50 leaves 167.50, split 1:2.
        self.assertG703(
            app3,
            {
                self.sov1: (40000.0, 40000.0, 0.0, 0.0, 40000.0, 100.0, 0.0, 3250.0),
                self.sov2: (
                    18000.0,
                    13000.0,
                    5000.0,
                    0.0,
                    18000.0,
                    100.0,
                    0.0,
                    1255.83,
                ),
                self.sov3: (
                    50000.0,
                    40000.0,
                    10000.0,
                    0.0,
                    50000.0,
                    100.0,
                    0.0,
                    3311.67,
                ),
                self.sov4: (5000.0, 5000.0, 0.0, 0.0, 5000.0, 100.0, 0.0, 375.0),
            },
        )
        self.assertG702(
            app3,
            {
                "1": 100000.0,
                "2": 13000.0,
                "3": 113000.0,
                "4": 113000.0,
                "5a": 8192.5,
                "5b": 0.0,
                "5": 8192.5,
                "6": 104807.5,
                "7": 95975.0,
                "8": 8832.5,
                "9": 8192.5,
            },
        )
        self.assertIn("Cap", app3.retainage_note)
        self.assertIn("Cap", self._line(app3, self.sov3).retainage_explanation)
        invoice3 = self._certify(app3)
        self.assertEqual(invoice3.amount_total, 8832.5)
        revenue = invoice3.invoice_line_ids.filtered(
            lambda line: line.account_id == self.contract.revenue_account_id
        )
        # forming 5,000; steel 10,000 installed less 6,000 no longer stored
        self.assertEqual(sorted(revenue.mapped("price_subtotal")), [4000.0, 5000.0])

        # Ledger: retention account balance = retainage held = line 5.
        self.assertEqual(self._retention_balance(), 8192.5)
        self.assertEqual(self.contract.retainage_held, 8192.5)
        self.assertEqual(self.contract.retainage_in_ledger, 8192.5)
        self.assertEqual(self.sov2.retainage_held, 1255.83)

        # Partial release, then the rest.
        release = self.env["construction.retainage.release"].create(
            {
                "contract_id": self.contract.id,
                "date": "2026-04-15",
                "line_ids": [
                    Command.create({"sov_line_id": self.sov1.id, "amount": 1000.0}),
                    Command.create({"sov_line_id": self.sov3.id, "amount": 2000.0}),
                ],
            }
        )
        self.assertEqual(release.line_ids[0].held_amount, 3250.0)
        invoice_r1 = release.action_create_invoice()
        invoice_r1.action_post()
        self.assertEqual(release.state, "invoiced")
        self.assertEqual(invoice_r1.amount_total, 3000.0)
        receivable = invoice_r1.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        self.assertEqual(receivable.debit, 3000.0)
        self.assertEqual(
            sum(
                invoice_r1.line_ids.filtered(
                    lambda line: line.account_id == self.retention_account
                ).mapped("credit")
            ),
            3000.0,
        )
        self.assertEqual(self._retention_balance(), 5192.5)
        self.assertEqual(self.contract.retainage_held, 5192.5)
        self.assertEqual(self.contract.retainage_in_ledger, 5192.5)
        self.assertEqual(self.sov1.retainage_held, 2250.0)

        final = self.env["construction.retainage.release"].create(
            {"contract_id": self.contract.id, "date": "2026-06-30"}
        )
        final.action_release_all()
        self.assertEqual(
            {line.sov_line_id: line.amount for line in final.line_ids},
            {
                self.sov1: 2250.0,
                self.sov2: 1255.83,
                self.sov3: 1311.67,
                self.sov4: 375.0,
            },
        )
        final.action_create_invoice().action_post()
        self.assertEqual(final.invoice_id.amount_total, 5192.5)
        self.assertEqual(self._retention_balance(), 0.0)
        self.assertEqual(self.contract.retainage_held, 0.0)
        self.assertEqual(self.contract.retainage_in_ledger, 0.0)
        self.assertFalse(self.contract.retainage_ledger_warning)
        retention_lines = self._retention_lines()
        self.assertTrue(all(retention_lines.mapped("reconciled")))
        # Receivable of all invoices = everything billed = contract sum.
        receivable = self.env["account.move.line"].search(
            [
                ("move_id.construction_contract_id", "=", self.contract.id),
                ("account_id.account_type", "=", "asset_receivable"),
                ("parent_state", "=", "posted"),
            ]
        )
        self.assertEqual(sum(receivable.mapped("balance")), 113000.0)
        # Aging: nothing held any more; withheld and released are equal.
        aging = self.env["construction.retainage.aging"].search(
            [("contract_id", "=", self.contract.id)]
        )
        self.assertEqual(sum(aging.mapped("held")), 0.0)
        self.assertEqual(
            round(sum(aging.mapped("withheld")) - sum(aging.mapped("released")), 2),
            0.0,
        )

    def test_03_aging_and_print(self):
        app = self._period_1()
        self._certify(app)
        aging = self.env["construction.retainage.aging"].search(
            [("contract_id", "=", self.contract.id)]
        )
        self.assertEqual(aging.held, 1900.0)
        self.assertEqual(aging.partner_id, self.customer)
        self.assertEqual(aging.project_id, self.project)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("construction_billing.report_pay_application", app.ids)[
                0
            ]
            .decode()
        )
        self.assertIn("Current Payment Due", html)
        self.assertIn("Materials Presently Stored", html)
        self.assertNotIn('<th class="text-end">J</th>', html)
        app.lettering = "aj"
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("construction_billing.report_pay_application", app.ids)[
                0
            ]
            .decode()
        )
        self.assertIn('<th class="text-end">J</th>', html)

    def test_03b_invoice_due_by_contract_terms(self):
        # No payment terms: due on the application date, not on the day invoiced.
        invoice = self._certify(self._period_1())
        self.assertEqual(str(invoice.invoice_date), "2026-01-31")
        self.assertEqual(str(invoice.invoice_date_due), "2026-01-31")
        # 30 days on the contract: due 30 days after the application date.
        self.contract.payment_term_id = self.env.ref(
            "account.account_payment_term_30days"
        )
        self._change_orders()
        invoice = self._certify(self._period_2())
        self.assertEqual(str(invoice.invoice_date), "2026-02-28")
        self.assertEqual(str(invoice.invoice_date_due), "2026-03-30")

    def test_04_taxes_on_earned_work_only(self):
        tax = self.env["account.tax"].create(
            {
                "name": "Test sales tax 10%",
                "amount": 10.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
            }
        )
        self.contract.tax_ids = tax
        app = self._period_1()
        invoice = self._certify(app)
        # 23,000 earned + 2,300 tax - 1,900 retainage
        self.assertEqual(invoice.amount_untaxed, 21100.0)
        self.assertEqual(invoice.amount_tax, 2300.0)
        self.assertEqual(invoice.amount_total, 23400.0)

    def test_retainage_in_the_ledger_flags_a_reversed_invoice(self):
        app = self._period_1()
        self._certify(app)
        held = self.contract.retainage_held
        self.assertEqual(held, 1900.0)  # 10% of 15,000 work, 5% of 8,000 stored
        self.assertEqual(self.contract.retainage_in_ledger, held)
        self.assertFalse(self.contract.retainage_ledger_warning)
        # A credit note entered in Accounting, outside the pay applications:
        # the documents still say what was certified, the ledger no longer does.
        app.invoice_id._reverse_moves(cancel=True)
        self.contract.invalidate_recordset()
        self.assertEqual(self.contract.retainage_held, held)
        self.assertEqual(self.contract.retainage_in_ledger, 0.0)
        warning = self.contract.retainage_ledger_warning
        self.assertIn("Retention Receivable account holds", warning)
        action = self.contract.action_view_retention_items()
        items = self.env["account.move.line"].search(action["domain"])
        self.assertEqual(len(items.move_id), 2)
        self.assertEqual(sum(items.mapped("balance")), 0.0)
        # the credit note stays on the contract, not on the application
        credit_note = items.move_id - app.invoice_id
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.construction_contract_id, self.contract)
        self.assertFalse(credit_note.construction_pay_application_id)

    def _retention_lines(self):
        return self.env["account.move.line"].search(
            [
                ("move_id.construction_contract_id", "=", self.contract.id),
                ("account_id", "=", self.retention_account.id),
                ("parent_state", "=", "posted"),
            ]
        )

    def _retention_balance(self):
        return round(sum(self._retention_lines().mapped("balance")), 2)

    def test_05_pay_application_pdf(self):
        """G702 and G703 printed as a real PDF, on US Letter, amounts as text."""
        app = self._period_1()
        pdf, text = self._render_pdf("construction_billing.report_pay_application", app)
        reader = PdfFileReader(io.BytesIO(pdf))
        # US Letter: the G702 portrait (612 x 792 points), then the wide G703 on
        # its own landscape page.
        self.assertEqual(
            [tuple(map(float, page.mediabox[2:])) for page in reader.pages],
            [(612.0, 792.0), (792.0, 612.0)],
        )
        g702, g703 = (page.extract_text() for page in reader.pages)
        self.assertIn("(G702)", g702)
        self.assertIn("(G703)", g703)
        for expected in (
            "1. Original Contract Sum $ 100,000.00",
            "4. Total Completed and Stored to Date (Column G on G703) $ 23,000.00",
            "a. 10.00 % of Completed Work",
            "b. 5.00 % of Stored Material",
            "$ 1,500.00 $ 400.00 $ 1,900.00",
            "6. Total Earned Less Retainage (Line 4 Less Line 5 Total) $ 21,100.00",
            "8. Current Payment Due $ 21,100.00",
            "(Line 3 less Line 6) $ 78,900.00",
            # G703: item 3, 8,000 stored, 20% complete, 400 retainage.
            "3 Steel $ 40,000.00 $ 0.00 $ 0.00 $ 8,000.00 $ 8,000.00 20.00% "
            "$ 32,000.00 $ 400.00",
            "Grand Total $ 100,000.00 $ 0.00 $ 15,000.00 $ 8,000.00 $ 23,000.00 "
            "23.00% $ 77,000.00 $ 1,900.00",
        ):
            self.assertIn(expected, text)
        # Signature blocks on the G702: nothing certified until it is.
        g702 = " ".join(g702.split())
        self.assertIn("From contractor: " + self.contract.company_id.name, g702)
        self.assertIn("CERTIFICATION", g702)
        self.assertIn("Amount Certified: ______________", g702)
        app.action_submit()
        app.action_certify()
        _pdf, text = self._render_pdf(
            "construction_billing.report_pay_application", app
        )
        self.assertIn("Amount Certified: $ 21,100.00", text)

    def test_06_pay_application_pdf_with_change_orders(self):
        """Period 2 as printed: change order summary, blended retainage rate,
        previous certificates, the canopy line added by a change order."""
        self._certify(self._period_1())
        self._change_orders()
        app2 = self._period_2()
        _pdf, text = self._render_pdf(
            "construction_billing.report_pay_application", app2
        )
        for expected in (
            "2. Net change by Change Orders $ 13,000.00",
            "3. Contract Sum to Date (Line 1 ± 2) $ 113,000.00",
            "(Column G on G703) $ 104,000.00",
            # 7,725 withheld on 98,000 of work: 10% then 5% past the threshold.
            "a. 7.88 % of Completed Work",
            "b. 5.00 % of Stored Material",
            "$ 7,725.00 $ 300.00 $ 8,025.00",
            "Certificate) $ 21,100.00",
            "8. Current Payment Due $ 74,875.00",
            "(Line 3 less Line 6) $ 17,025.00",
            "Total changes approved in previous months by Owner $ 0.00 $ 0.00",
            "Total approved this Month $ 15,000.00 $ 2,000.00",
            "Totals $ 15,000.00 $ 2,000.00",
            "Net changes by Change Order $ 13,000.00",
            "4 Canopy $ 5,000.00 $ 0.00 $ 5,000.00 $ 0.00 $ 5,000.00 100.00% "
            "$ 0.00 $ 375.00",
            "Grand Total $ 113,000.00 $ 15,000.00 $ 83,000.00 $ 6,000.00 "
            "$ 104,000.00 92.04% $ 9,000.00 $ 8,025.00",
        ):
            self.assertIn(expected, text)

        # Both applications printed at once: each G702 followed by its own G703.
        app1 = app2.previous_id
        pdf, _text = self._render_pdf(
            "construction_billing.report_pay_application", app1 | app2
        )
        reader = PdfFileReader(io.BytesIO(pdf))
        pages = [" ".join(page.extract_text().split()) for page in reader.pages]
        self.assertEqual(
            [tuple(map(float, page.mediabox[2:])) for page in reader.pages],
            [(612.0, 792.0), (792.0, 612.0)] * 2,
        )
        self.assertEqual(
            [("(G702)" in page, "(G703)" in page) for page in pages],
            [(True, False), (False, True)] * 2,
        )
        self.assertIn("8. Current Payment Due $ 21,100.00", pages[0])
        self.assertIn("Application No. 1 ,", pages[1])
        self.assertIn("8. Current Payment Due $ 74,875.00", pages[2])
        self.assertIn("Application No. 2 ,", pages[3])
