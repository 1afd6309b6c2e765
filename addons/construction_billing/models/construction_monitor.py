from odoo import _, api, models


class ConstructionMonitorTile(models.TransientModel):
    _inherit = "construction.monitor.tile"

    @api.model
    def _overview_tiles(self):
        return super()._overview_tiles() + self._billing_tiles()

    @api.model
    def _billing_tiles(self):
        """Invoice posting exceptions: invoice messages that failed to leave, and
        certified pay applications whose invoice is still a draft."""
        section = _("Billing")
        base = self._company_domain()
        Outbox = self.env["construction.outbox.message"]
        failed_domain = base + [
            ("event_type", "=like", "billing.invoice_%"),
            ("state", "in", ("failed", "dead")),
        ]
        failed = dict(Outbox._read_group(failed_domain, ["state"], ["__count"]))
        # certified but not invoiced yet although its invoice exists: a draft
        # (no join on account.move, which operators may not read)
        draft_domain = base + [
            ("state", "=", "certified"),
            ("invoice_id", "!=", False),
        ]
        drafts = self.env["construction.pay.application"].search_count(draft_domain)
        return [
            self._tile(
                "billing_invoice_failed",
                section,
                400,
                _("Invoice messages not delivered"),
                sum(failed.values()),
                "construction.outbox.message",
                failed_domain,
                detail=_(
                    "%(failed)s failed, %(dead)s dead",
                    failed=failed.get("failed", 0),
                    dead=failed.get("dead", 0),
                ),
            ),
            self._tile(
                "billing_draft_invoices",
                section,
                401,
                _("Certified pay applications not invoiced"),
                drafts,
                "construction.pay.application",
                draft_domain,
                severity="warning" if drafts else "ok",
                detail=_("invoice created but not posted"),
                action_xmlid="construction_billing.construction_pay_application_action",
            ),
        ]
