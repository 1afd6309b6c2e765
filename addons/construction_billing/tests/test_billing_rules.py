from datetime import date

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingRules(BillingCommon):
    def test_line_override_rate(self):
        # Steel has its own 2% on work and stored materials, no reduction.
        self.sov3.write({"retainage_override": True, "retainage_rate": 2.0})
        app = self._new_application("2026-01-31")
        self._enter(
            app,
            {self.sov1: (10000.00, 0.0), self.sov3: (20000.00, 5000.00)},
        )
        self.assertEqual(self._line(app, self.sov1).retainage_to_date, 1000.0)
        steel = self._line(app, self.sov3)
        self.assertEqual(steel.retainage_work_this_period, 400.0)
        self.assertEqual(steel.retainage_stored, 100.0)
        self.assertEqual(steel.retainage_to_date, 500.0)
        self.assertIn("line rate", steel.retainage_explanation)
        self.assertEqual(app.retainage_total, 1500.0)
        self.assertEqual(app.current_payment_due, 33500.0)

    def test_percent_entry(self):
        app = self._new_application("2026-01-31")
        line = self._line(app, self.sov2)
        line.percent_this_period = 33.3333
        self.assertEqual(line.work_this_period, 6666.66)
        self.assertEqual(line.retainage_to_date, 666.67)

    def test_retention_account_created_on_demand(self):
        company = self.env["res.company"].create({"name": "Test GC West"})
        self.env["account.chart.template"].try_loading(
            "generic_coa", company=company, install_demo=False
        )
        company.construction_retention_receivable_account_id = False
        account = company._construction_retention_receivable_account()
        self.assertEqual(account.account_type, "asset_current")
        self.assertTrue(account.reconcile)
        self.assertEqual(account.company_ids, company)
        self.assertEqual(company.construction_retention_receivable_account_id, account)
        self.assertEqual(company._construction_retention_receivable_account(), account)

    def test_user_prepares_manager_certifies(self):
        user = new_test_user(
            self.env,
            login="billing_user",
            groups="construction_connector_base.group_construction_user,"
            "account.group_account_invoice",
        )
        app = self._new_application("2026-01-31").with_user(user)
        self._line(app, self.sov1).work_this_period = 1000.0
        app.action_submit()
        self.assertEqual(app.state, "submitted")
        with self.assertRaises(AccessError):
            app.action_certify()
        self.assertEqual(app.state, "submitted")
        self.assertFalse(app.sudo().invoice_id)

    def test_multi_company_rule(self):
        other = self.env["res.company"].create({"name": "Other GC"})
        user = new_test_user(
            self.env,
            login="other_gc_user",
            groups="construction_connector_base.group_construction_user",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        self.assertFalse(
            self.env["construction.contract"]
            .with_user(user)
            .search([("id", "=", self.contract.id)])
        )

    def test_project_history_actions(self):
        app = self._new_application("2026-01-31")
        action = self.project.action_view_construction_pay_applications()
        self.assertEqual(
            self.env["construction.pay.application"].search(action["domain"]), app
        )
        action = self.project.action_view_construction_contracts()
        self.assertEqual(
            self.env["construction.contract"].search(action["domain"]), self.contract
        )

    def test_forms(self):
        with Form(self.env["construction.contract"]) as form:
            form.project_id = self.project
            form.partner_id = self.customer
            form.original_contract_sum = 5000.0
            form.retainage_rate_work = 10.0
            with form.sov_line_ids.new() as line:
                line.item_no = "1"
                line.name = "Everything"
                line.original_value = 5000.0
        contract = form.record
        self.assertTrue(contract.retention_account_id)
        self.assertTrue(contract.revenue_account_id)
        contract.action_activate()
        with Form(self.env["construction.pay.application"]) as form:
            form.contract_id = contract
            form.period_to = date(2026, 1, 31)
        app = form.record
        with Form(app) as form:
            with form.line_ids.edit(0) as line:
                line.work_this_period = 2500.0
        self.assertEqual(app.current_payment_due, 2250.0)
