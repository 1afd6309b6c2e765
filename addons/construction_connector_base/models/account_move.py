from odoo import _, api, fields, models
from odoo.exceptions import UserError


class AccountMove(models.Model):
    """Customer invoices and vendor bills can be sent to external systems."""

    _name = "account.move"
    _inherit = ["account.move", "construction.outbound.mixin"]

    # Accounting approval: staged documents of this model post to purchase journals.
    _construction_accounting_journal_type = "purchase"

    def _construction_set_accounting_date(self, date):
        """Accounting approval of a staged supplier invoice: its posting date
        (drafts only; a posted entry keeps the date it was posted with)."""
        self.filtered(lambda move: move.state == "draft").date = date

    @api.model
    def _construction_due_terms(self, payment_term, invoice_date):
        """Invoice values that make a document fall due by ``payment_term``, or
        on ``invoice_date`` without one (Odoo would otherwise take the day the
        document is created)."""
        if payment_term:
            return {"invoice_payment_term_id": payment_term.id}
        return {"invoice_payment_term_id": False, "invoice_date_due": invoice_date}

    def _construction_outbound_event_type(self):
        return "invoice.sync"

    def _construction_outbound_check(self):
        wrong = self.filtered(lambda m: not m.is_invoice(include_receipts=False))
        if wrong:
            raise UserError(
                _(
                    "Only customer invoices, vendor bills and their credit notes can "
                    "be sent (%(moves)s).",
                    moves=", ".join(wrong.mapped("display_name")),
                )
            )

    def _construction_outbound_payload(self):
        self.ensure_one()
        return {
            "invoice": self.name,
            "move_type": self.move_type,
            "state": self.state,
            "partner": self.commercial_partner_id.name,
            "partner_vat": self.commercial_partner_id.vat or None,
            "reference": self.ref or None,
            "invoice_date": fields.Date.to_string(self.invoice_date)
            if self.invoice_date
            else None,
            "due_date": fields.Date.to_string(self.invoice_date_due)
            if self.invoice_date_due
            else None,
            "currency": self.currency_id.name,
            "amount_untaxed": self.amount_untaxed,
            "amount_tax": self.amount_tax,
            "amount_total": self.amount_total,
            "amount_residual": self.amount_residual,
            "payment_state": self.payment_state,
            "lines": [
                {
                    "description": line.name,
                    "account": line.account_id.code,
                    "quantity": line.quantity,
                    "price_unit": line.price_unit,
                    "price_subtotal": line.price_subtotal,
                    "analytic_distribution": line.analytic_distribution or {},
                }
                for line in self.invoice_line_ids
                if line.display_type == "product"
            ],
        }
