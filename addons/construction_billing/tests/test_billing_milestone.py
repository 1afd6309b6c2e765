from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingMilestone(BillingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Milestone = cls.env["project.milestone"]
        cls.pm_foundation = Milestone.create(
            {"name": "Foundations done", "project_id": cls.project.id}
        )
        cls.pm_roof = Milestone.create(
            {"name": "Roof on", "project_id": cls.project.id}
        )
        cls.ms_contract = cls.env["construction.contract"].create(
            {
                "project_id": cls.project.id,
                "partner_id": cls.customer.id,
                "billing_method": "milestone",
                "original_contract_sum": 200000.00,
                "retainage_rate_work": 10.0,
                "milestone_retainage": True,
                "milestone_ids": [
                    Command.create(
                        {
                            "name": "Foundations",
                            "project_milestone_id": cls.pm_foundation.id,
                            "amount_type": "percent",
                            "percent": 40.0,
                        }
                    ),
                    Command.create(
                        {
                            "name": "Roof",
                            "project_milestone_id": cls.pm_roof.id,
                            "amount_type": "fixed",
                            "fixed_amount": 120000.00,
                        }
                    ),
                ],
            }
        )
        cls.ms_contract.action_activate()
        cls.ms_foundation, cls.ms_roof = cls.ms_contract.milestone_ids

    def test_milestone_billing_with_retainage(self):
        self.assertEqual(self.ms_foundation.state, "pending")
        self.assertEqual(self.ms_foundation.amount, 80000.0)
        with self.assertRaisesMsg(UserError, "No reached milestone"):
            self.ms_contract.action_invoice_milestones()
        self.pm_foundation.is_reached = True
        self.assertEqual(self.ms_foundation.state, "billable")
        self.assertEqual(self.ms_roof.state, "pending")
        invoice = self.ms_contract.action_invoice_milestones()
        self.assertEqual(invoice.amount_total, 72000.0)
        self.assertEqual(self.ms_foundation.retainage_amount, 8000.0)
        self.assertEqual(self.ms_foundation.state, "invoiced")
        invoice.action_post()
        retention = invoice.line_ids.filtered(
            lambda line: line.account_id == self.ms_contract.retention_account_id
        )
        self.assertEqual(retention.debit, 8000.0)
        receivable = invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        self.assertEqual(receivable.debit, 72000.0)
        # Not billed twice.
        with self.assertRaisesMsg(UserError, "No reached milestone"):
            self.ms_contract.action_invoice_milestones()
        self._pay(invoice)
        self.assertEqual(self.ms_foundation.state, "paid")

        self.pm_roof.is_reached = True
        invoice2 = self.ms_contract.action_invoice_milestones()
        self.assertEqual(invoice2.amount_total, 108000.0)
        invoice2.action_post()
        self.assertEqual(self.ms_contract.retainage_held, 20000.0)
        self.assertEqual(self.ms_contract.retainage_in_ledger, 20000.0)

        release = self.env["construction.retainage.release"].create(
            {"contract_id": self.ms_contract.id}
        )
        release.action_release_all()
        self.assertEqual(
            {line.milestone_id: line.amount for line in release.line_ids},
            {self.ms_foundation: 8000.0, self.ms_roof: 12000.0},
        )
        release.action_create_invoice().action_post()
        self.assertEqual(self.ms_contract.retainage_held, 0.0)
        self.assertEqual(self.ms_contract.retainage_in_ledger, 0.0)

    def test_milestone_without_retainage(self):
        self.ms_contract.milestone_retainage = False
        self.pm_foundation.is_reached = True
        invoice = self.ms_contract.action_invoice_milestones()
        self.assertEqual(invoice.amount_total, 80000.0)
        self.assertEqual(self.ms_foundation.retainage_amount, 0.0)
