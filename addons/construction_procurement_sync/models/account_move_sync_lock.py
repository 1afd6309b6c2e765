from odoo import _, api, models


class AccountMove(models.Model):
    """A vendor bill recorded from a supplier portal (``supplier_invoice.status``)
    keeps the supplier's partner, currency, number, date, lines and status (see
    construction.synced.mixin). Only vendor bills and refunds are checked: other
    journal entries are never bound."""

    _name = "account.move"
    _inherit = ["account.move", "construction.synced.mixin"]

    @api.model
    def _construction_locked_fields(self):
        return super()._construction_locked_fields() + [
            "partner_id",
            "currency_id",
            "ref",
            "invoice_date",
            "invoice_line_ids",
            "line_ids",
            "construction_supplier_status",
        ]

    @api.model
    def _construction_locked_hint(self):
        return _(
            "Ask the supplier to submit a new version of the invoice in the portal "
            "(it re-syncs), or unlink the binding."
        )

    def _construction_synced_source(self):
        # Customer invoices and entries never come from supplier_invoice.status:
        # no binding lookup for them.
        return self.filtered(lambda move: move.is_purchase_document())
