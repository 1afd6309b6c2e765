from datetime import timedelta

from odoo import _, api, fields, models

UNDELIVERED_STATES = ("pending", "sending", "retrying", "failed", "dead")


class ConstructionMonitorTile(models.TransientModel):
    _inherit = "construction.monitor.tile"

    @api.model
    def _overview_tiles(self):
        return super()._overview_tiles() + self._purchase_transmission_tiles()

    @api.model
    def _purchase_transmission_tiles(self):
        """Purchase orders whose outbound message is not delivered after the
        configured delay (Settings > Purchase > Construction)."""
        minutes = self._param_int("monitor_po_delay_minutes", 30)
        domain = self._company_domain() + [
            ("res_model", "=", "purchase.order"),
            ("state", "in", UNDELIVERED_STATES),
        ]
        if minutes > 0:
            # (with no delay allowed, every undelivered order is late, even one
            # created within the current second)
            limit = fields.Datetime.now() - timedelta(minutes=minutes)
            domain.append(("create_date", "<", fields.Datetime.to_string(limit)))
        Outbox = self.env["construction.outbox.message"]
        groups = Outbox._read_group(domain, ["state"], ["__count"])
        counts = dict(groups)
        labels = dict(Outbox._fields["state"].selection)
        detail = ", ".join(
            f"{counts[state]} {labels[state].lower()}"
            for state in UNDELIVERED_STATES
            if counts.get(state)
        )
        return [
            self._tile(
                "po_delayed",
                _("Procurement"),
                300,
                _("Delayed purchase order transmissions"),
                sum(counts.values()),
                "construction.outbox.message",
                domain,
                detail=detail
                or _("all delivered within %(minutes)s min", minutes=minutes),
            )
        ]
