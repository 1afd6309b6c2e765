import json

from odoo import _, fields, models
from odoo.exceptions import AccessError

# Id of the queued server action running in its job (so that one runs inline
# there; other queued actions it triggers still get jobs of their own).
QUEUED_CONTEXT = "construction_queued_action_run"
# Context keys handed to the job besides the records (base_automation's filter).
FORWARDED_CONTEXT_KEYS = ("domain_post",)


class IrActionsServer(models.Model):
    """Server actions that run in a queue_job instead of inline.

    Automation rules (base_automation) and the Action menu call ``run()``; a
    queued action only stores a job there, which runs the action later as the
    same user (and superuser flag), company and records.
    """

    _inherit = "ir.actions.server"

    construction_queued = fields.Boolean(
        string="Run in Background",
        help="Run this action in a background job (queue_job) after the "
        "transaction that triggered it commits, instead of at once. The job runs "
        "as the same user and company, on the same records, and is retried on "
        "concurrency errors.",
    )
    construction_queue_channel_id = fields.Many2one(
        comodel_name="queue.job.channel",
        string="Job Channel",
        help="queue_job channel of the background job (default: root).",
    )
    construction_queue_priority = fields.Integer(
        string="Job Priority",
        default=10,
        help="Lower runs first (queue_job priority).",
    )

    def run(self):
        running = self.env.context.get(QUEUED_CONTEXT)
        # sudo: the flag is action configuration; run() reads it as sudo too.
        queued = self.filtered(
            lambda action: action.id != running and action.sudo().construction_queued
        )
        for action in queued:
            action._construction_check_run_access()
            action._construction_enqueue_run()
        inline = self - queued
        if inline:
            return super(IrActionsServer, inline).run()
        if queued:
            # Shown when run from the Action menu or a button; automation rules
            # and crons ignore it.
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": "info",
                    "message": _("Queued: the action runs in the background."),
                },
            }
        return False

    def _construction_check_run_access(self):
        """The checks ``run()`` makes before running an action, made before
        queuing it: a user who may not run it is told now, not by a failed job."""
        context = self.env.context
        groups = self.sudo().groups_id  # sudo: action configuration
        if groups:
            if not groups & self.env.user.groups_id:
                raise AccessError(
                    _("You don't have enough access rights to run this action.")
                )
            return
        model = context.get("active_model") or self.sudo().model_id.model
        records = self.env[model].browse(
            context.get("active_ids") or context.get("active_id") or []
        )
        records.check_access("write")

    def _construction_enqueue_run(self):
        """Store the job that runs this action on the context's records."""
        self.ensure_one()
        context = self.env.context
        model = context.get("active_model") or self.sudo().model_id.model
        res_ids = context.get("active_ids") or (
            [context["active_id"]] if context.get("active_id") else []
        )
        extra = {}
        for key in FORWARDED_CONTEXT_KEYS:
            try:
                json.dumps(context.get(key))
            except (TypeError, ValueError):
                continue
            if context.get(key) is not None:
                extra[key] = context[key]
        # sudo: reading the action's job settings (system configuration).
        settings = self.sudo()
        return self.with_delay(
            channel=settings.construction_queue_channel_id.complete_name or None,
            priority=settings.construction_queue_priority or 10,
            description=_(
                "Server action %(action)s on %(count)s %(model)s record(s)",
                action=settings.name,
                count=len(res_ids),
                model=model,
            ),
        )._construction_run_queued(model, list(res_ids), extra)

    def _construction_run_queued(self, model, res_ids, extra_context=None):
        """Job body: run the action inline on the records that still exist."""
        self.ensure_one()
        ctx = dict(extra_context or {}, **{QUEUED_CONTEXT: self.id})
        ctx["active_model"] = model
        records = self.env[model].browse(res_ids).exists() if res_ids else None
        if res_ids and not records:
            return _("Nothing to do: the records were deleted.")
        if records:
            ctx.update(active_ids=records.ids, active_id=records.ids[0])
        self.with_context(**ctx).run()
        return _("Ran on %(count)s record(s).", count=len(records) if records else 0)
