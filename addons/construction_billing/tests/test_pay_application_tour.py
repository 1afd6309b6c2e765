from odoo.tests import HttpCase, tagged

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestPayApplicationTour(HttpCase, BillingCommon):
    def test_manager_certifies_pay_application_and_opens_invoice(self):
        self.project.name = "Tour Library"
        self.start_tour(
            "/odoo/action-construction_billing.construction_contract_action",
            "construction_pay_application_tour",
            login="admin",
        )
        app = self.contract.pay_application_ids
        self.assertEqual(len(app), 1)
        self.assertEqual(app.approval_state, "certified")
        self.assertEqual(self._line(app, self.sov1).work_this_period, 10000.0)
        self.assertEqual(app.retainage_this_period, 1000.0)
        self.assertEqual(app.current_payment_due, 9000.0)
        invoice = app.invoice_id
        self.assertEqual(invoice.state, "draft")
        self.assertEqual(invoice.partner_id, self.customer)
        self.assertEqual(invoice.amount_untaxed, 9000.0)

    def test_manager_reopens_certified_pay_application(self):
        app = self._new_application("2026-01-31")
        self._enter(app, {self.sov1: (10000.0, 0.0)})
        invoice = self._certify(app)
        self.start_tour(
            "/odoo/action-construction_billing.construction_pay_application_action/"
            f"{app.id}",
            "construction_pay_application_reopen_tour",
            login="admin",
        )
        self.assertEqual(app.approval_state, "draft")
        self.assertEqual(app.revision_reason, "Steel stored twice")
        self.assertEqual(invoice.payment_state, "reversed")
