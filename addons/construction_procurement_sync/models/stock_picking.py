from collections import defaultdict

from odoo import _, models
from odoo.exceptions import UserError
from odoo.tools import float_compare


class StockMove(models.Model):
    _inherit = "stock.move"

    def _action_done(self, cancel_backorder=False):
        self._construction_check_over_receipt()
        moves = super()._action_done(cancel_backorder=cancel_backorder)
        requests = self.purchase_line_id.construction_request_line_id.request_id
        requests._update_progress_state()
        return moves

    def _construction_check_over_receipt(self):
        """Refuse receiving more than ordered + the company's over-receipt tolerance
        on construction purchase lines (lines carrying a project)."""
        incoming = defaultdict(float)
        for move in self:
            pol = move.purchase_line_id
            if (
                not pol.construction_project_id
                or move.state in ("done", "cancel")
                or move.location_dest_id.usage not in ("internal", "transit")
                or move.location_id.usage != "supplier"
            ):
                continue
            incoming[pol] += move.product_uom._compute_quantity(
                move.quantity, pol.product_uom
            )
        for pol, qty in incoming.items():
            tolerance = pol.company_id.construction_receipt_tolerance / 100.0
            allowed = pol.product_qty * (1.0 + tolerance)
            total = pol.qty_received + qty
            if (
                float_compare(
                    total, allowed, precision_rounding=pol.product_uom.rounding or 0.01
                )
                > 0
            ):
                raise UserError(
                    _(
                        "Receiving %(total)s %(uom)s of %(line)s on %(order)s is more "
                        "than ordered (%(ordered)s) plus the over-receipt tolerance.",
                        total=total,
                        uom=pol.product_uom.name,
                        line=pol.name,
                        order=pol.order_id.name,
                        ordered=pol.product_qty,
                    )
                )
