"""Reopening the latest certified pay application to correct it: the invoice is
reversed by a credit note, the application goes back to draft with its reason,
and certifying it again invoices the corrected figures; what cannot be reopened
is refused with a reason and leaves everything as it was."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common_billing import BillingCommon


@tagged("post_install", "-at_install")
class TestBillingReopen(BillingCommon):
    def _certified(self, period_to, progress, post=True):
        app = self._new_application(period_to)
        self._enter(app, progress)
        self._certify(app, post=post)
        return app

    def _reopen(self, app, reason="Forming overstated by the field"):
        wizard = self.env["construction.pay.application.reopen"].create(
            {"application_id": app.id, "reason": reason}
        )
        return wizard.action_reopen()

    def test_reopen_reverses_the_invoice_and_certifies_again(self):
        co = self._approve_change(self.sov1, 5000.0, "2026-01-15", "CO-001")
        app = self._certified(
            "2026-01-31", {self.sov1: (10000.0, 0.0), self.sov2: (8000.0, 0.0)}
        )
        invoice = app.invoice_id
        self.assertEqual(co.application_id, app)
        self.assertEqual(invoice.amount_untaxed, 16200.0)  # 18,000 less 10%
        self.assertEqual(self.contract.billed_to_date, 18000.0)

        self._reopen(app)
        self.assertEqual(app.approval_state, "draft")
        self.assertEqual(app.state, "draft")
        self.assertEqual(app.revision_reason, "Forming overstated by the field")
        self.assertFalse(app.invoice_id)
        self.assertFalse(co.application_id)
        self.assertEqual(invoice.payment_state, "reversed")
        credit_note = invoice.reversal_move_ids
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.amount_untaxed, 16200.0)
        self.assertEqual(credit_note.construction_contract_id, self.contract)
        # documents and ledger agree: nothing billed, nothing held
        self.assertEqual(self.contract.billed_to_date, 0.0)
        self.assertEqual(
            (self.contract.retainage_held, self.contract.retainage_in_ledger),
            (0.0, 0.0),
        )
        self.assertIn("Forming overstated", app.message_ids[0].body)
        self.assertIn(credit_note.name, app.message_ids[0].body)

        # corrected and certified again: a new invoice of the right amount
        self._enter(app, {self.sov2: (6000.0, 0.0)})
        self._certify(app)
        self.assertNotEqual(app.invoice_id, invoice)
        self.assertEqual(app.invoice_id.amount_untaxed, 14400.0)  # 16,000 less 10%
        self.assertEqual(co.application_id, app)
        self.assertEqual(self.contract.billed_to_date, 16000.0)
        self.assertEqual(self.contract.retainage_held, 1600.0)
        self.assertEqual(self.contract.retainage_in_ledger, 1600.0)
        self.assertFalse(self.contract.retainage_ledger_warning)

    def test_draft_invoice_is_cancelled(self):
        app = self._certified("2026-01-31", {self.sov1: (10000.0, 0.0)}, post=False)
        invoice = app.invoice_id
        self.assertEqual(invoice.state, "draft")
        self._reopen(app)
        self.assertEqual(invoice.state, "cancel")
        self.assertFalse(invoice.reversal_move_ids)
        self.assertEqual(app.approval_state, "draft")

    def test_what_cannot_be_reopened(self):
        app1 = self._certified("2026-01-31", {self.sov1: (10000.0, 0.0)})
        app2 = self._certified("2026-02-28", {self.sov1: (10000.0, 0.0)})
        # not the latest
        with self.assertRaisesRegex(UserError, "Only the latest application"):
            self._reopen(app1)
        # a release paying out more than app1 withheld on concrete (1,000.00)
        release = self.env["construction.retainage.release"].create(
            {
                "contract_id": self.contract.id,
                "line_ids": [
                    Command.create({"sov_line_id": self.sov1.id, "amount": 1500})
                ],
            }
        )
        release.action_create_invoice().action_post()
        with self.assertRaisesRegex(UserError, "exceeds what the applications"):
            self._reopen(app2)
        release.invoice_id.button_draft()
        release.invoice_id.button_cancel()
        # paid
        self._pay(app2.invoice_id)
        with self.assertRaisesRegex(UserError, "already has payments"):
            self._reopen(app2)
        # no reason
        with self.assertRaisesRegex(UserError, "Say why"):
            app2._reopen("  ")
        # not a manager
        engineer = new_test_user(
            self.env,
            login="billing_reopen_engineer",
            groups="construction_connector_base.group_construction_user",
        )
        with self.assertRaises(AccessError):
            app2.with_user(engineer)._reopen("mine")
        # nothing changed by the refusals
        self.assertEqual(
            (app1.approval_state, app2.approval_state), ("certified", "certified")
        )
        self.assertEqual(app2.invoice_id.state, "posted")
        self.assertFalse(app2.invoice_id.reversal_move_ids)

    def test_release_within_earlier_retainage_does_not_block(self):
        self._certified("2026-01-31", {self.sov1: (10000.0, 0.0)})
        app2 = self._certified("2026-02-28", {self.sov1: (10000.0, 0.0)})
        release = self.env["construction.retainage.release"].create(
            {
                "contract_id": self.contract.id,
                "line_ids": [
                    Command.create({"sov_line_id": self.sov1.id, "amount": 1000})
                ],
            }
        )
        release.action_create_invoice().action_post()
        self._reopen(app2)
        # what stays held: 1,000.00 withheld in January, all of it released
        self.assertEqual(self.sov1.retainage_held, 0.0)
        self.assertEqual(self.contract.retainage_held, 0.0)
        self.assertEqual(self.contract.retainage_in_ledger, 0.0)
