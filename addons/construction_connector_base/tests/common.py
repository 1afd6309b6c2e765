import io
from contextlib import contextmanager

from odoo import Command
from odoo.tests import TransactionCase
from odoo.tools import config
from odoo.tools.pdf import PdfFileReader


class ConstructionCommon(TransactionCase):
    """Cost codes, cost types, a project and its budget for the suite's tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(
            context=dict(cls.env.context, tracking_disable=True, mail_notrack=True)
        )
        cls.company = cls.env.company
        cls.currency = cls.company.currency_id
        cls.division_03 = cls.env.ref(
            "construction_connector_base.analytic_plan_division_03"
        )
        cls.division_05 = cls.env.ref(
            "construction_connector_base.analytic_plan_division_05"
        )
        cls.labor = cls.env.ref("construction_connector_base.cost_type_labor")
        cls.material = cls.env.ref("construction_connector_base.cost_type_material")
        cls.subcontract = cls.env.ref(
            "construction_connector_base.cost_type_subcontract"
        )
        cls.cc_forming = cls._create_cost_code(
            "T03-100", "Test Concrete Forming", cls.division_03
        )
        cls.cc_concrete = cls._create_cost_code(
            "T03-300", "Test Cast-in-Place", cls.division_03
        )
        cls.cc_steel = cls._create_cost_code(
            "T05-100", "Test Structural Steel", cls.division_05
        )
        cls.customer = cls.env["res.partner"].create({"name": "Test Owner LLC"})
        cls.vendor = cls.env["res.partner"].create({"name": "Test Ready-Mix Supplier"})
        cls.project = cls.env["project.project"].create(
            {"name": "Test Clinic", "partner_id": cls.customer.id}
        )
        cls.budget = cls.env["construction.budget"].create(
            {
                "project_id": cls.project.id,
                "line_ids": [
                    Command.create(
                        {
                            "cost_code_id": cls.cc_concrete.id,
                            "cost_type_id": cls.material.id,
                            "original_amount": 100000.00,
                        }
                    ),
                    Command.create(
                        {
                            "cost_code_id": cls.cc_forming.id,
                            "cost_type_id": cls.labor.id,
                            "original_amount": 40000.00,
                        }
                    ),
                    Command.create(
                        {
                            "cost_code_id": cls.cc_steel.id,
                            "cost_type_id": cls.subcontract.id,
                            "original_amount": 250000.00,
                        }
                    ),
                ],
            }
        )
        lines = cls.budget.line_ids
        cls.line_concrete = lines.filtered(
            lambda line: line.cost_code_id == cls.cc_concrete
        )
        cls.line_forming = lines.filtered(
            lambda line: line.cost_code_id == cls.cc_forming
        )
        cls.line_steel = lines.filtered(lambda line: line.cost_code_id == cls.cc_steel)

    @contextmanager
    def assertRaisesMsg(self, exception, regex):
        """Odoo's assertRaises (savepoint and cache reset) plus a message check."""
        with self.assertRaises(exception) as caught:
            yield caught
        self.assertRegex(str(caught.exception), regex)

    @classmethod
    def _create_cost_code(cls, code, name, division, company=None):
        return cls.env["account.analytic.account"].create(
            {
                "code": code,
                "name": name,
                "plan_id": division.id,
                "company_id": (company or cls.company).id,
            }
        )

    @classmethod
    def _distribution(cls, cost_code, cost_type=None, project=None):
        """A distribution putting 100% on project + cost code (+ cost type)."""
        accounts = [(project or cls.project).account_id, cost_code, cost_type]
        return {",".join(str(a.id) for a in accounts if a): 100}

    @classmethod
    def _post_vendor_bill(
        cls, amount, cost_code, cost_type=None, project=None, partner=None
    ):
        bill = cls.env["account.move"].create(
            {
                "move_type": "in_invoice",
                "partner_id": (partner or cls.vendor).id,
                "invoice_date": "2026-01-15",
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Test cost",
                            "quantity": 1,
                            "price_unit": amount,
                            "tax_ids": [Command.clear()],
                            "analytic_distribution": cls._distribution(
                                cost_code, cost_type, project
                            ),
                        }
                    )
                ],
            }
        )
        bill.action_post()
        return bill

    def _render_pdf(self, report_ref, records):
        """Render a PDF report for real with wkhtmltopdf: (PDF bytes, its text
        with runs of white space made single spaces).

        Odoo renders HTML instead of PDF in tests unless asked; the test is
        skipped when wkhtmltopdf is missing. wkhtmltopdf loads the report's
        styles from the test HTTP server.
        """
        report = self.env["ir.actions.report"]
        state = report.get_wkhtmltopdf_state()
        if state != "ok":
            self.skipTest(f"wkhtmltopdf is not usable here (state: {state})")
        self.env["ir.config_parameter"].sudo().set_param(
            "report.url", f"http://127.0.0.1:{config['http_port']}"
        )
        pdf, kind = report.with_context(force_report_rendering=True)._render_qweb_pdf(
            report_ref, records.ids
        )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        reader = PdfFileReader(io.BytesIO(pdf))
        text = " ".join(page.extract_text() for page in reader.pages)
        return pdf, " ".join(text.split())
