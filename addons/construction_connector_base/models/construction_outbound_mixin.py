from odoo import _, models
from odoo.exceptions import UserError


class ConstructionOutboundMixin(models.AbstractModel):
    """Documents an administrator can send to an external system on demand.

    Inheriting models implement ``_construction_outbound_event_type`` and
    ``_construction_outbound_payload``; the "Send to External System" server
    action (Action menu) opens ``construction.outbound.send.wizard``.
    """

    _name = "construction.outbound.mixin"
    _description = "Construction document sent to external systems"

    def _construction_outbound_event_type(self):
        """Event type of the on-demand snapshot, e.g. ``change_order.sync``."""
        raise NotImplementedError

    def _construction_outbound_payload(self):
        """JSON-serialisable snapshot of one document."""
        raise NotImplementedError

    def _construction_outbound_check(self):
        """Raise UserError for documents that cannot be sent (e.g. drafts)."""

    def action_construction_send(self):
        """Open the wizard choosing the systems these documents go to."""
        if not self:
            raise UserError(_("Select the documents to send first."))
        self._construction_outbound_check()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send to External System"),
            "res_model": "construction.outbound.send.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_res_model": self._name,
                "default_res_ids": ",".join(str(i) for i in self.ids),
            },
        }

    def _construction_send(self, backends):
        """Write one outbox message per document and system (transactional)."""
        self._construction_outbound_check()
        Outbox = self.env["construction.outbox.message"]
        messages = Outbox
        event_type = self._construction_outbound_event_type()
        for record in self:
            company = "company_id" in record._fields and record.company_id
            targets = backends.filtered(lambda b, c=company: not c or b.company_id == c)
            if not targets:
                raise UserError(
                    _(
                        "%(record)s belongs to %(company)s: none of the chosen "
                        "systems works for that company.",
                        record=record.display_name,
                        company=company.name,
                    )
                )
            messages |= Outbox._publish(
                targets,
                event_type,
                record,
                record._construction_outbound_payload(),
                subscribed_only=False,
            )
        return messages
