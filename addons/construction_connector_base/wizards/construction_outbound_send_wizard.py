from odoo import _, api, fields, models
from odoo.exceptions import UserError


class ConstructionOutboundSendWizard(models.TransientModel):
    """Send selected documents to the chosen external systems, via the outbox."""

    _name = "construction.outbound.send.wizard"
    _description = "Send Documents to External Systems"

    res_model = fields.Char(required=True, readonly=True)
    res_ids = fields.Char(required=True, readonly=True)
    event_type = fields.Char(compute="_compute_records", string="Event Type")
    record_count = fields.Integer(compute="_compute_records", string="Documents")
    backend_ids = fields.Many2many(
        comodel_name="construction.backend",
        string="External Systems",
        domain="[('outbound_url', '!=', False)]",
        default=lambda self: self._default_backends(),
        help="Each document is sent to each chosen system of its company, signed "
        "and retried like any outbound event. Systems subscribed to the event type "
        "are proposed.",
    )

    def _records(self):
        self.ensure_one()
        if self.res_model not in self.env:
            raise UserError(_("Unknown document type %(model)s.", model=self.res_model))
        ids = [int(i) for i in (self.res_ids or "").split(",") if i.strip()]
        records = self.env[self.res_model].browse(ids).exists()
        if not hasattr(records, "_construction_send"):
            raise UserError(
                _(
                    "%(model)s cannot be sent to external systems.",
                    model=records._description,
                )
            )
        return records

    @api.depends("res_model", "res_ids")
    def _compute_records(self):
        for wizard in self:
            records = wizard._records() if wizard.res_model else None
            wizard.record_count = len(records) if records else 0
            wizard.event_type = (
                records._construction_outbound_event_type() if records else False
            )

    @api.model
    def _default_backends(self):
        model = self.env.context.get("default_res_model")
        if not model or model not in self.env:
            return self.env["construction.backend"]
        ids = [
            int(i)
            for i in (self.env.context.get("default_res_ids") or "").split(",")
            if i.strip()
        ]
        records = self.env[model].browse(ids)
        if not hasattr(records, "_construction_outbound_event_type"):
            return self.env["construction.backend"]
        event_type = records._construction_outbound_event_type()
        Outbox = self.env["construction.outbox.message"]
        backends = self.env["construction.backend"]
        for company in (
            records.mapped("company_id") if "company_id" in records._fields else []
        ):
            backends |= Outbox._subscribed_backends(
                False,
                event_type,
                records.filtered(lambda r, c=company: r.company_id == c)[:1],
            )
        return self.env["construction.backend"].browse(backends.ids)

    def action_send(self):
        self.ensure_one()
        if not self.backend_ids:
            raise UserError(_("Choose at least one external system."))
        records = self._records()
        if not records:
            raise UserError(_("The selected documents no longer exist."))
        messages = records._construction_send(self.backend_ids)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "%(count)s message(s) queued for %(systems)s.",
                    count=len(messages),
                    systems=", ".join(self.backend_ids.mapped("name")),
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
