import json
import logging
import time
import uuid
from collections import defaultdict
from datetime import timedelta

import requests

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import signing
from ..tools.exceptions import RetryableJobError

_logger = logging.getLogger(__name__)

OUTBOX_STATES = [
    ("pending", "Pending"),
    ("sending", "Sending"),
    ("retrying", "Retrying"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("dead", "Dead"),
    ("cancelled", "Cancelled"),
]
DELIVERABLE_STATES = ("pending", "sending", "retrying")
REPLAYABLE_STATES = ("failed", "dead")
CANCELLABLE_STATES = ("pending", "retrying", "failed", "dead")
# Messages of the same backend and entity that block newer ones until settled.
UNSETTLED_STATES = ("pending", "sending", "retrying", "failed", "dead")
RETRYABLE_STATUSES = (408, 429)
MAX_RESPONSE_CHARS = 2000
# Prefix of the job result when a message waits for an older one (not an attempt).
ORDERING_MARK = "[ordering]"
PARAM_PREFIX = "construction_connector_base."


class ConstructionOutboxMessage(models.Model):
    """Transactional outbox: one outbound event for one external system.

    Written in the business transaction (a rollback leaves nothing to send) and
    delivered by a queue_job after commit, signed, with a stable idempotency key.
    """

    _name = "construction.outbox.message"
    _description = "Construction Outbound Message"
    _order = "id desc"
    _rec_name = "idempotency_key"

    backend_id = fields.Many2one(
        comodel_name="construction.backend",
        required=True,
        index=True,
        ondelete="restrict",
        readonly=True,
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    event_type = fields.Char(required=True, index=True, readonly=True)
    res_model = fields.Char(string="Model", readonly=True, index=True)
    res_id = fields.Many2oneReference(
        string="Record ID", model_field="res_model", readonly=True
    )
    record_name = fields.Char(
        string="Document",
        compute="_compute_record_name",
        help="The record the message is about (its id when it no longer exists).",
    )
    entity_key = fields.Char(
        index=True,
        readonly=True,
        help="Model and id of the record: messages of one entity are delivered in "
        "order, per system.",
    )
    project_id = fields.Many2one(
        comodel_name="project.project",
        index="btree_not_null",
        readonly=True,
        help="Project of the record the message is about, for monitoring.",
    )
    payload = fields.Text(readonly=True, help="The exact JSON body sent.")
    payload_purged = fields.Boolean(
        readonly=True,
        help="The body and the response were cleared by the purge of delivered "
        "messages; the delivery metadata is kept.",
    )
    idempotency_key = fields.Char(
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: str(uuid.uuid4()),
        help="Sent as Idempotency-Key on every attempt.",
    )
    state = fields.Selection(
        selection=OUTBOX_STATES,
        required=True,
        default="pending",
        index=True,
        readonly=True,
        copy=False,
    )
    attempts = fields.Integer(readonly=True)
    replay_count = fields.Integer(readonly=True)
    last_http_status = fields.Integer(string="Last HTTP Status", readonly=True)
    last_response = fields.Text(string="Last Response Body", readonly=True)
    last_error = fields.Text(readonly=True)
    last_attempt_date = fields.Datetime(readonly=True)
    sent_date = fields.Datetime(readonly=True)
    job_id = fields.Many2one(
        comodel_name="queue.job", readonly=True, ondelete="set null", copy=False
    )
    job_state = fields.Selection(related="job_id.state", string="Job State")
    next_retry_date = fields.Datetime(related="job_id.eta")

    _sql_constraints = [
        (
            "idempotency_unique",
            "UNIQUE(idempotency_key)",
            "An outbound message with this idempotency key already exists.",
        ),
    ]

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        ids_by_model = defaultdict(set)
        for message in self:
            if message.res_model in self.env and message.res_id:
                ids_by_model[message.res_model].add(message.res_id)
        names = {}
        for model, ids in ids_by_model.items():
            # sudo: only the name of the document whose data the message (readable
            # by this user) already carries; one query per model, deleted ones out.
            for record in self.env[model].sudo().browse(ids).exists():
                names[model, record.id] = record.display_name
        for message in self:
            key = (message.res_model, message.res_id)
            message.record_name = names.get(key) or (
                message.res_model and f"{message.entity_key} (deleted)"
            )

    @api.depends("event_type", "idempotency_key")
    def _compute_display_name(self):
        for message in self:
            message.display_name = f"{message.event_type} {message.idempotency_key}"

    # ---- PUBLISH ----

    @api.model
    def _outbound_event_types(self):
        """{event type: when it is sent} of what this database can send, for the
        webhooks of the OpenAPI document. Domain addons add their events; the
        on-demand ``*.sync`` types of "Send to External System" come from the
        models using ``construction.outbound.mixin``."""
        types = {
            "job_cost.export": "Job-to-date cost per cost code of a project's "
            "budget (original, changes, revised, open commitments, actual, "
            "forecast to complete, EAC): nightly, or Export Job Cost.",
            "invoice.sync": "On demand (Send to External System): an invoice or "
            "vendor bill as it stands.",
        }
        for name, event_type in self.env["construction.event"]._event_types().items():
            if event_type.financial:
                types[f"{name}.rejected"] = (
                    f"Reply to the system that sent a staged {name} event: an "
                    "accounting approver rejected it (comment included); sent "
                    "whatever the subscriptions."
                )
        Mixin = self.env.registry["construction.outbound.mixin"]
        for model_name in sorted(Mixin._inherit_children):
            Model = self.env[model_name]
            if Model._abstract:
                continue
            types.setdefault(
                Model._construction_outbound_event_type(),
                f"On demand (Send to External System): the {Model._description} "
                "as it stands.",
            )
        return types

    @api.model
    def _subscribed_backends(self, backend, event_type, record):
        domain = [("outbound_url", "!=", False)]
        if backend:
            domain.append(("id", "in", backend.ids))
        company = record and "company_id" in record._fields and record.company_id
        if company:
            domain.append(("company_id", "=", company.id))
        # sudo: subscriptions are integration configuration the business user
        # who triggered the change cannot read; only ids are used.
        backends = self.env["construction.backend"].sudo().search(domain)
        if self.env.context.get("construction_outbox_reply"):
            return backends.filtered("active")
        return backends.filtered(lambda b: b._receives(event_type))

    @api.model
    def _publish(self, backend, event_type, record, payload, subscribed_only=True):
        """Store one message per subscribed backend, in the current transaction.

        With ``subscribed_only=False`` (an explicit "Send to" by a user), every
        given ``backend`` that has an endpoint receives it, subscribed or not.
        """
        if subscribed_only or not backend:
            backends = self._subscribed_backends(backend, event_type, record)
        else:
            # sudo: integration configuration; only the ids of the given systems.
            backends = backend.sudo().filtered(lambda b: b.active and b.outbound_url)
        if not backends:
            return self.browse()
        record = record[:1] if record else None
        project = self._record_project(record)
        vals_list = []
        for target in backends:
            key = str(uuid.uuid4())
            envelope = {
                "event_id": key,
                "event_type": event_type,
                "occurred_at": fields.Datetime.now().isoformat() + "Z",
                "model": record._name if record else None,
                "record_id": record.id if record else None,
                "data": payload,
            }
            vals_list.append(
                {
                    "backend_id": target.id,
                    "event_type": event_type,
                    "res_model": record._name if record else False,
                    "res_id": record.id if record else False,
                    "entity_key": f"{record._name},{record.id}" if record else False,
                    "project_id": project.id,
                    "idempotency_key": key,
                    "payload": json.dumps(
                        envelope, sort_keys=True, separators=(",", ":"), default=str
                    ),
                }
            )
        # sudo: outbox bookkeeping written for any user whose change emits an
        # event; the messages are not returned to callers outside the framework.
        messages = self.sudo().create(vals_list)
        messages._enqueue()
        return messages

    @api.model
    def _publish_reply(self, backend, event_type, payload):
        """A reply to ``backend`` about its own event (e.g. a rejection).

        Sent whenever the system has an outbound URL, subscribed or not: it is
        the answer to what it sent. Returns the message (empty without a URL).
        """
        return self.with_context(construction_outbox_reply=True)._publish(
            backend, event_type, False, payload
        )

    def _record_project(self, record):
        """The project a published record belongs to (empty when none).

        Records may define ``_construction_project()``; otherwise their
        ``project_id`` field is used, or the record itself if it is a project.
        """
        Project = self.env["project.project"]
        if not record:
            return Project
        if hasattr(record, "_construction_project"):
            return record._construction_project()[:1] or Project
        if record._name == "project.project":
            return record
        field = record._fields.get("project_id")
        if field and field.type == "many2one" and field.comodel_name == Project._name:
            return record.sudo().project_id[:1]
        return Project

    def _get_param(self, name, default):
        value = self.env["ir.config_parameter"].sudo().get_param(PARAM_PREFIX + name)
        try:
            return int(value) if value not in (None, False, "") else default
        except ValueError:
            return default

    def _enqueue(self):
        max_retries = self._get_param("outbox_max_retries", 8)
        for message in self:
            backend = message.backend_id
            # sudo: delivery reads signing secrets and writes delivery bookkeeping.
            runner = message.sudo().with_company(backend.company_id)
            channel = backend.channel_id.sudo().complete_name or None
            job = runner.with_delay(
                channel=channel,
                max_retries=max_retries,
                description=_(
                    "Send %(type)s to %(backend)s",
                    type=message.event_type,
                    backend=backend.name,
                ),
                identity_key=f"construction.outbox.message:{message.id}",
            )._deliver()
            message._write_state({"job_id": job.db_record().id or False})

    def _write_state(self, vals):
        # sudo: framework bookkeeping (managers only read outbox messages).
        self.sudo().write(vals)

    # ---- DELIVERY ----

    def _headers(self, body):
        self.ensure_one()
        backend = self.backend_id.sudo()  # sudo: system-only signing secret
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "odoo-construction-outbox/1",
            "Idempotency-Key": self.idempotency_key,
            "X-Construction-Event": self.event_type,
            signing.TIMESTAMP_HEADER: timestamp,
        }
        if backend.signing_secret:
            headers[signing.SIGNATURE_HEADER] = signing.sign(
                backend.signing_secret, timestamp, body
            )
        return headers

    def _blocking_message(self):
        """An older unsettled message of the same backend and entity, if any."""
        self.ensure_one()
        if not self.entity_key:
            return self.browse()
        return self.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("entity_key", "=", self.entity_key),
                ("id", "<", self.id),
                ("state", "in", UNSETTLED_STATES),
            ],
            order="id",
            limit=1,
        )

    def _deliver(self):
        """Job body: POST the message once; 2xx done, 4xx failed, else retry."""
        self.ensure_one()
        # sudo: the job may run as the user whose change emitted the event; it
        # reads the system's URL and secret and writes delivery bookkeeping only.
        return self.sudo()._deliver_now()

    def _deliver_now(self):
        if self.state not in DELIVERABLE_STATES:
            return _("Nothing to do: message is %(state)s.", state=self.state)
        older = self._blocking_message()
        if older:
            raise RetryableJobError(
                f"{ORDERING_MARK} "
                + _("Waiting for older message %(msg)s.", msg=older.display_name),
                seconds=10 if older.state in ("pending", "sending") else 60,
                ignore_retry=older.state in ("pending", "sending", "retrying"),
            )
        backend = self.backend_id
        body = self.payload.encode()
        now = fields.Datetime.now()
        try:
            response = requests.post(
                backend.outbound_url,
                data=body,
                headers=self._headers(body),
                timeout=(
                    backend.outbound_connect_timeout or 5,
                    backend.outbound_read_timeout or 15,
                ),
                allow_redirects=False,
            )
        except (
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidURL,
        ) as err:
            return self._fail("failed", False, False, str(err), now)
        except requests.exceptions.RequestException as err:
            # Connection refused/reset, timeouts: the job is retried; the message
            # follows the job's state (see queue_job.py).
            raise RetryableJobError(
                _("Network error: %(error)s", error=err.__class__.__name__) + f": {err}"
            ) from err
        status = response.status_code
        text = (response.text or "")[:MAX_RESPONSE_CHARS]
        if 200 <= status < 300:
            self._write_state(
                {
                    "state": "done",
                    "attempts": self.attempts + 1,
                    "last_http_status": status,
                    "last_response": text,
                    "last_error": False,
                    "last_attempt_date": now,
                    "sent_date": now,
                }
            )
            return _("Delivered: HTTP %(status)s", status=status)
        if status in RETRYABLE_STATUSES or status >= 500:
            raise RetryableJobError(f"HTTP {status}: {text}")
        return self._fail(
            "failed", status, text, _("HTTP %(status)s refused", status=status), now
        )

    def _fail(self, state, status, text, error, now):
        self._write_state(
            {
                "state": state,
                "attempts": self.attempts + 1,
                "last_http_status": status or False,
                "last_response": text or False,
                "last_error": error,
                "last_attempt_date": now,
            }
        )
        return _("Failed: %(error)s", error=error)

    # ---- ACTIONS ----

    def action_replay(self):
        """Send failed or dead messages again (same idempotency key), once."""
        self.env["construction.event"]._check_operator()
        not_replayable = self.filtered(lambda m: m.state not in REPLAYABLE_STATES)
        if not_replayable:
            raise UserError(
                _(
                    "Only failed or dead messages can be replayed (%(msgs)s).",
                    msgs=", ".join(not_replayable.mapped("display_name")),
                )
            )
        jobs = self.job_id.sudo()  # sudo: queue.job is a technical table
        for message in self:
            message._write_state(
                {
                    "state": "pending",
                    "replay_count": message.replay_count + 1,
                    "job_id": False,
                }
            )
        jobs._cancel_unstarted()
        self._enqueue()
        return True

    def action_cancel(self):
        self.env["construction.event"]._check_operator()
        not_cancellable = self.filtered(lambda m: m.state not in CANCELLABLE_STATES)
        if not_cancellable:
            raise UserError(
                _(
                    "Only pending, retrying, failed or dead messages can be "
                    "cancelled (%(msgs)s).",
                    msgs=", ".join(not_cancellable.mapped("display_name")),
                )
            )
        jobs = self.job_id.sudo()  # sudo: queue.job is a technical table
        self._write_state({"state": "cancelled", "job_id": False})
        jobs._cancel_unstarted()
        return True

    def action_open_record(self):
        self.ensure_one()
        if not self.res_model or self.res_model not in self.env:
            raise UserError(_("This message is not linked to a record."))
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }

    # ---- API ----

    def _to_api(self):
        """The message as the outbox API shows it to its external system."""
        self.ensure_one()

        def stamp(value):
            return fields.Datetime.to_string(value) + "Z" if value else None

        try:
            payload = json.loads(self.payload) if self.payload else None
        except ValueError:
            payload = None
        return {
            "id": self.id,
            "event_type": self.event_type,
            "idempotency_key": self.idempotency_key,
            "state": self.state,
            "attempts": self.attempts,
            "replay_count": self.replay_count,
            "created_at": stamp(self.create_date),
            "last_attempt_at": stamp(self.last_attempt_date),
            "sent_at": stamp(self.sent_date),
            "last_http_status": self.last_http_status or None,
            "last_error": self.last_error or None,
            "record": {"model": self.res_model, "id": self.res_id}
            if self.res_model
            else None,
            "payload_purged": self.payload_purged,
            "payload": payload,
            "links": {
                "replay": f"/api/construction/v1/outbox/{self.id}/replay",
            },
        }

    # ---- PURGE ----

    @api.model
    def _cron_purge_bodies(self):
        """Clear the body and response of messages delivered more than
        ``outbox_purge_days`` days ago (0 disables it); the metadata stays."""
        days = self._get_param("outbox_purge_days", 30)
        if days <= 0:
            return 0
        limit = fields.Datetime.now() - timedelta(days=days)
        # sudo: scheduled housekeeping over every company's outbox.
        messages = self.sudo().search(
            [
                ("state", "=", "done"),
                ("sent_date", "<", limit),
                ("payload_purged", "=", False),
            ]
        )
        if messages:
            messages.write(
                {"payload": False, "last_response": False, "payload_purged": True}
            )
            _logger.info("Outbox: purged the bodies of %s messages.", len(messages))
        return len(messages)

    # ---- JOB STATE ----

    def _sync_with_job(self, job):
        """Follow the delivery job (called from queue.job.write)."""
        self.ensure_one()
        vals = {}
        result = job.result or job.exc_message or ""
        if job.state == "started" and self.state in ("pending", "retrying"):
            vals = {"state": "sending"}
        elif job.state in ("pending", "enqueued") and self.state == "sending":
            if job.retry or result.startswith(ORDERING_MARK):
                if result.startswith(ORDERING_MARK):
                    vals = {"state": "pending", "last_error": result}
                else:
                    vals = {
                        "state": "retrying",
                        "attempts": self.attempts + 1,
                        "last_error": result,
                        "last_attempt_date": fields.Datetime.now(),
                    }
                    if result.startswith("HTTP "):
                        status, _sep, text = result[5:].partition(":")
                        if status.isdigit():
                            vals["last_http_status"] = int(status)
                            vals["last_response"] = text.strip()[:MAX_RESPONSE_CHARS]
            else:  # requeued stuck job
                vals = {"state": "pending"}
        elif job.state == "failed" and self.state in DELIVERABLE_STATES:
            vals = {
                "state": "dead",
                "attempts": self.attempts + 1,
                "last_error": job.exc_message or job.exc_name,
                "last_attempt_date": fields.Datetime.now(),
            }
        elif job.state == "cancelled" and self.state in ("pending", "retrying"):
            vals = {"state": "cancelled"}
        if vals:
            self._write_state(vals)
