import hashlib
import json
import logging
import re
from datetime import timedelta

import psycopg2
from jsonschema import Draft202012Validator
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, format_date, html2plaintext, mute_logger

from ..tools.event_types import EventType
from ..tools.exceptions import (
    IdempotencyConflict,
    ParentMissing,
    PermanentEventError,
    RetryableJobError,
)
from ..tools.openapi import build_openapi
from ..tools.security import MANAGER_GROUP
from .queue_job import UNSTARTED_JOB_STATES

_logger = logging.getLogger(__name__)

EVENT_STATES = [
    ("received", "Received"),
    ("queued", "Queued"),
    ("processing", "Processing"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("dead", "Dead"),
    ("superseded", "Superseded"),
    ("parked", "Parked"),
    ("cancelled", "Cancelled"),
    ("awaiting_approval", "Awaiting Approval"),
    ("rejected", "Rejected"),
]
# States in which processing may (still) happen.
PROCESSABLE_STATES = ("queued", "processing", "failed", "parked")
REPLAYABLE_STATES = ("failed", "dead")
CANCELLABLE_STATES = (
    "received",
    "queued",
    "failed",
    "dead",
    "parked",
    "awaiting_approval",
)
APPROVER_GROUP = "construction_connector_base.group_construction_accounting_approver"
INTEGRATION_GROUP = "construction_connector_base.group_construction_integration"
APPROVAL_DECISIONS = [("accepted", "Accepted"), ("rejected", "Rejected")]
# Field types compared field by field between a payload and the bound record.
DIFF_FIELD_TYPES = (
    "char",
    "text",
    "html",
    "integer",
    "float",
    "monetary",
    "boolean",
    "date",
    "datetime",
    "selection",
)
PARAM_PREFIX = "construction_connector_base."
REQUIRED_RE = re.compile(r"^'(.+)' is a required property$")


def _pointer_token(part):
    return str(part).replace("~", "~0").replace("/", "~1")


class ConstructionEvent(models.Model):
    """Inbox of events received from external systems (audit trail and queue).

    Every accepted request becomes one event, unique per (backend, idempotency key);
    its processing runs in a queue_job on the backend's channel.
    """

    _name = "construction.event"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Construction Integration Event"
    _order = "id desc"

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
    idempotency_key = fields.Char(required=True, readonly=True)
    payload = fields.Text(readonly=True, help="Canonical JSON of the event body.")
    payload_hash = fields.Char(
        readonly=True, index=True, help="SHA-256 of the event type and body."
    )
    payload_purged = fields.Boolean(readonly=True)
    payload_pretty = fields.Text(compute="_compute_payload_pretty")
    entity_external_id = fields.Char(index=True, readonly=True)
    entity_version = fields.Integer(readonly=True)
    project_id = fields.Many2one(
        comodel_name="project.project", index="btree_not_null", readonly=True
    )
    received_date = fields.Datetime(
        required=True, default=fields.Datetime.now, readonly=True, index=True
    )
    remote_addr = fields.Char(string="Remote Address", readonly=True)
    user_id = fields.Many2one(
        comodel_name="res.users",
        default=lambda self: self.env.user,
        readonly=True,
        help="The user the request was authenticated as.",
    )
    batch_ref = fields.Char(string="Batch", readonly=True, index="btree_not_null")
    state = fields.Selection(
        selection=EVENT_STATES,
        required=True,
        default="received",
        index=True,
        readonly=True,
        copy=False,
    )
    attempts = fields.Integer(readonly=True)
    replay_count = fields.Integer(readonly=True)
    last_error = fields.Text(readonly=True)
    processed_date = fields.Datetime(readonly=True)
    result_model = fields.Char(readonly=True)
    result_ids = fields.Char(
        string="Result IDs", readonly=True, help="JSON list of the resulting ids."
    )
    result_display = fields.Char(string="Result", compute="_compute_result_display")
    job_id = fields.Many2one(
        comodel_name="queue.job", readonly=True, ondelete="set null", copy=False
    )
    job_state = fields.Selection(related="job_id.state", string="Job State")
    next_retry_date = fields.Datetime(related="job_id.eta")
    approval_required = fields.Boolean(
        readonly=True,
        copy=False,
        help="Staged by the system's accounting approval policy: processed only "
        "once an accounting approver accepts it.",
    )
    approval_decision = fields.Selection(
        selection=APPROVAL_DECISIONS, readonly=True, copy=False
    )
    approval_user_id = fields.Many2one(
        comodel_name="res.users", string="Decided By", readonly=True, copy=False
    )
    approval_date = fields.Datetime(string="Decided On", readonly=True, copy=False)
    approval_comment = fields.Text(
        readonly=True,
        copy=False,
        help="The approver's comment: logged on the resulting document when "
        "accepted, sent back to the external system when rejected.",
    )
    approval_accounting_date = fields.Date(
        string="Approved Accounting Date",
        readonly=True,
        copy=False,
        help="Odoo-side data added by the approver: the date the resulting bill, "
        "invoice or claim is recorded in the ledger (its posting period).",
    )
    approval_message_id = fields.Many2one(
        comodel_name="construction.outbox.message",
        string="Rejection Message",
        readonly=True,
        copy=False,
        ondelete="set null",
    )
    payload_diff_html = fields.Html(
        string="Differences",
        compute="_compute_payload_diff_html",
        sanitize=False,
        help="Payload values against what Odoo holds now for the bound record "
        "(computed when shown).",
    )

    _sql_constraints = [
        (
            "idempotency_unique",
            "UNIQUE(backend_id, idempotency_key)",
            "An event with this idempotency key was already received from this system.",
        ),
    ]

    @api.depends("payload")
    def _compute_payload_pretty(self):
        for event in self:
            try:
                event.payload_pretty = (
                    json.dumps(json.loads(event.payload), indent=2, ensure_ascii=False)
                    if event.payload
                    else False
                )
            except ValueError:
                event.payload_pretty = event.payload

    @api.depends("result_model", "result_ids")
    def _compute_result_display(self):
        for event in self:
            records = event._result_records()
            event.result_display = (
                ", ".join(records.exists().mapped("display_name")) if records else False
            )

    @api.depends("event_type", "idempotency_key")
    def _compute_display_name(self):
        for event in self:
            event.display_name = f"{event.event_type} {event.idempotency_key}"

    # ---- REGISTRY ----

    @api.model
    def _event_types(self):
        """{name: EventType}; domain addons extend it (see the README)."""
        return {
            "cost_code.upsert": EventType(
                schema="construction_connector_base/schemas/cost_code_upsert.v1.json",
                handler="_handle_cost_code_upsert",
                entity_key="external_id",
                version_key="version",
                model="account.analytic.account",
                summary="Create or update a cost code pushed by a PM platform",
            ),
        }

    def _event_type(self):
        self.ensure_one()
        return self._event_types().get(self.event_type)

    # ---- RECEIVING ----

    @api.model
    def _validate_payload(self, event_type, payload):
        """Every schema violation as {"pointer": JSON pointer, "detail": message}."""
        return self._schema_errors(
            self._event_types()[event_type].load_schema(), payload
        )

    @api.model
    def _schema_errors(self, schema, payload):
        """Every violation of ``schema`` as {"pointer", "detail"}, sorted."""
        errors = []
        validator = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for error in validator.iter_errors(payload):
            path = [_pointer_token(p) for p in error.absolute_path]
            missing = error.validator == "required" and REQUIRED_RE.match(error.message)
            if missing:
                path.append(_pointer_token(missing.group(1)))
            errors.append(
                {"pointer": "".join(f"/{p}" for p in path), "detail": error.message}
            )
        return sorted(errors, key=lambda e: (e["pointer"], e["detail"]))

    @api.model
    def _canonical(self, payload):
        return json.dumps(
            payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )

    @api.model
    def _hash_payload(self, event_type, payload):
        text = f"{event_type}\n{self._canonical(payload)}"
        return hashlib.sha256(text.encode()).hexdigest()

    @api.model
    def _receive(
        self,
        backend,
        event_type,
        key,
        payload,
        remote_addr=None,
        batch_ref=None,
        enqueue=True,
    ):
        """Store an event exactly once and enqueue its processing.

        Returns ``(event, created)``. The same key with the same body returns the
        first event (``created`` False); with another body it raises
        ``IdempotencyConflict``. The database unique constraint decides between
        concurrent twins. With ``enqueue=False`` the caller enqueues the new
        event itself (a batch enqueues its new events in one job).
        """
        etype = self._event_types()[event_type]
        digest = self._hash_payload(event_type, payload)
        existing = self.search(
            [("backend_id", "=", backend.id), ("idempotency_key", "=", key)], limit=1
        )
        if existing:
            return self._check_twin(existing.id, existing.payload_hash, digest), False
        vals = self._prepare_event_vals(
            backend, etype, event_type, key, payload, digest, remote_addr, batch_ref
        )
        try:
            with self.env.cr.savepoint():
                event = self.create(vals)
        except psycopg2.errors.UniqueViolation:
            # A concurrent twin committed first. Our snapshot cannot see it
            # (repeatable read): read it with a fresh cursor.
            twin = self._read_committed_twin(backend, key)
            if not twin:
                raise IdempotencyConflict(
                    self.browse(),
                    _("A request with this idempotency key is being processed."),
                ) from None
            # Our snapshot cannot read the twin: its API view is read from a
            # fresh cursor too (see _to_api).
            event = self._check_twin(*twin, digest)
            return event.with_context(construction_committed_twin=True), False
        if enqueue:
            event._stage_or_enqueue()
        return event, True

    def _check_twin(self, event_id, twin_hash, digest):
        event = self.browse(event_id)
        if twin_hash != digest:
            raise IdempotencyConflict(
                event,
                _(
                    "Idempotency key already used with a different body "
                    "(event %(id)s).",
                    id=event_id,
                ),
            )
        return event

    @api.model
    def _read_committed_twin(self, backend, key):
        # A fresh cursor (the test cursor in tests) sees what others committed.
        with self.env.registry.cursor() as cr:
            cr.execute(
                "SELECT id, payload_hash FROM construction_event "
                "WHERE backend_id = %s AND idempotency_key = %s",
                (backend.id, key),
            )
            return cr.fetchone()

    @api.model
    def _prepare_event_vals(
        self, backend, etype, event_type, key, payload, digest, remote_addr, batch_ref
    ):
        vals = {
            "backend_id": backend.id,
            "event_type": event_type,
            "idempotency_key": key,
            "payload": self._canonical(payload),
            "payload_hash": digest,
            "remote_addr": remote_addr,
            "batch_ref": batch_ref,
            "user_id": self.env.uid,
        }
        if etype.entity_key and payload.get(etype.entity_key) is not None:
            vals["entity_external_id"] = str(payload[etype.entity_key])
        if etype.version_key and isinstance(payload.get(etype.version_key), int):
            vals["entity_version"] = payload[etype.version_key]
        if etype.project_key and payload.get(etype.project_key):
            try:
                vals["project_id"] = backend._map_project(payload[etype.project_key]).id
            except PermanentEventError:
                vals["project_id"] = False  # the handler reports it when it matters
        return vals

    # ---- QUEUE ----

    @api.model
    def _get_param(self, name, default):
        value = self.env["ir.config_parameter"].sudo().get_param(PARAM_PREFIX + name)
        try:
            return int(value) if value not in (None, False, "") else default
        except ValueError:
            return default

    def _enqueue(self, eta=None, state="queued"):
        """Create the processing job of each event (as its integration user)."""
        for event in self:
            job = event._delayed(
                eta=eta,
                description=_(
                    "Process %(type)s event %(key)s",
                    type=event.event_type,
                    key=event.idempotency_key,
                ),
                identity_key=f"construction.event:{event.id}",
            )._process()
            event._write_state({"state": state, "job_id": job.db_record().id or False})

    @api.model_create_multi
    def create(self, vals_list):
        # The inbox is a hot path and its own audit trail: no creation message,
        # no follower, no tracking (the chatter holds approval activities).
        return super(
            ConstructionEvent,
            self.with_context(
                tracking_disable=True,
                mail_create_nolog=True,
                mail_create_nosubscribe=True,
                mail_notrack=True,
            ),
        ).create(vals_list)

    def _stage(self):
        """Stage the events the backend wants an accounting approver to accept
        first; return the others."""
        staged = self.filtered(lambda e: e.backend_id._requires_approval(e.event_type))
        staged._write_state({"state": "awaiting_approval", "approval_required": True})
        staged._schedule_approval_activity()
        return self - staged

    def _stage_or_enqueue(self):
        """Enqueue, or stage for an accounting approver when the backend says so."""
        self._stage()._enqueue()

    def _delayed(self, **job_options):
        """``with_delay`` for events of one system: as its integration user, in
        its company and job channel, with the configured retry budget."""
        backend = self.backend_id
        backend.ensure_one()
        runner = self.with_company(backend.company_id)
        if backend.user_id:
            runner = runner.with_user(backend.user_id)
        return runner.with_delay(
            # sudo: the channel name is technical queue configuration.
            channel=backend.channel_id.sudo().complete_name or None,
            max_retries=self._get_param("max_retries", 5),
            **job_options,
        )

    def _enqueue_batch(self, batch_ref):
        """One job for the events of one API batch (same backend), one savepoint
        per event inside it: the queue overhead is paid once per batch. Events
        staged for an accounting approver stay out of the job."""
        events = self._stage()
        if not events:
            return
        backend = events.backend_id
        backend.ensure_one()
        job = events._delayed(
            description=_(
                "Process %(count)s %(type)s events of batch %(batch)s",
                count=len(events),
                type=", ".join(sorted(set(events.mapped("event_type")))),
                batch=batch_ref,
            ),
            identity_key=f"construction.event.batch:{backend.id}:{batch_ref}",
        )._process_batch()
        events._write_state({"state": "queued", "job_id": job.db_record().id or False})

    def _process_batch(self):
        """Job body of a batch: each event in its own savepoint, in id order.

        A transient error of one event (lock held elsewhere) gives that event its
        own job with the usual backoff instead of retrying the whole batch.
        Idempotent like ``_process``: a rerun skips what is done.
        """
        # Parked events are woken once for the whole batch, not per event.
        events = self.with_context(construction_batch=True).sorted("id")
        results = events._process_batch_at_once()
        for event in events:
            if event.state not in PROCESSABLE_STATES:
                continue
            try:
                results.append(event._process())
            except psycopg2.OperationalError:
                raise  # the database itself: queue_job retries the whole batch
            except Exception as err:  # noqa: BLE001 - one event never sinks the batch
                # Its savepoint is rolled back; a transient error gets the usual
                # backoff, anything else a job of its own (retried, then dead
                # with its traceback) while the rest of the batch goes on.
                retryable = isinstance(err, RetryableJobError)
                event._write_state(
                    {
                        "state": "failed",
                        "last_error": str(err) or err.__class__.__name__,
                        "attempts": event.attempts + 1,
                    }
                )
                eta = (err.seconds or 10) if retryable else None
                event._requeue(eta=eta, state="failed")
                results.append(str(err))
        done = self.filtered(lambda event: event.state == "done")
        for backend in done.backend_id:
            backend._wake_parked_events(exclude=self)
        return _(
            "%(count)s events processed: %(results)s",
            count=len(results),
            results="; ".join(str(result) for result in results[:20]),
        )

    def _process_batch_at_once(self):
        """Hook for domain addons: apply what can be applied in one go (e.g. one
        ``create`` for the new records of a batch) and mark those events done;
        return their results. Whatever is left is processed one by one, each in
        its own savepoint, so a failure here must leave nothing behind."""
        return []

    def _requeue(self, eta=None, state="queued"):
        """Detach and cancel the pending job, then enqueue a fresh one."""
        jobs = self.job_id.sudo()  # sudo: queue.job is a technical table
        self._write_state({"job_id": False})
        jobs._cancel_unstarted()
        self._enqueue(eta=eta, state=state)

    def _write_state(self, vals):
        # sudo: framework bookkeeping on events the caller may read; integration
        # users have no write access so they cannot rewrite their own audit trail.
        self.sudo().write(vals)

    def _process(self):
        """Job body: apply the event once. Idempotent; safe to run again."""
        self.ensure_one()
        if self.state not in PROCESSABLE_STATES:
            return _("Nothing to do: event is %(state)s.", state=self.state)
        etype = self._event_type()
        try:
            with self.env.cr.savepoint():
                if not etype:
                    raise PermanentEventError(
                        _("Unknown event type %(type)s.", type=self.event_type)
                    )
                state, records = self._apply(etype)
                result = self._mark_applied(etype, state, records)
        except RetryableJobError:
            raise  # the job is postponed; construction.event state follows the job
        except ParentMissing as err:
            return self._park(str(err))
        except (PermanentEventError, UserError) as err:
            self._write_state(
                {
                    "state": "failed",
                    "last_error": str(err),
                    "attempts": self.attempts + 1,
                    "processed_date": fields.Datetime.now(),
                    "project_id": self._derive_project(etype).id,
                }
            )
            return _("Failed: %(error)s", error=err)
        if state == "done" and not self.env.context.get("construction_batch"):
            self.backend_id._wake_parked_events(exclude=self)
        return result

    def _mark_applied(self, etype, state, records):
        """Record the outcome of an applied event (the audit trail)."""
        self._write_state(
            {
                "state": state,
                "last_error": False,
                "attempts": self.attempts + 1,
                "processed_date": fields.Datetime.now(),
                "result_model": records._name if records else False,
                "result_ids": json.dumps(records.ids) if records else False,
                "project_id": self._derive_project(etype, records).id,
            }
        )
        if state == "done":
            self._apply_approval(records)
        return _("%(state)s: %(records)s", state=state, records=records)

    def _derive_project(self, etype, records=None):
        """The event's project for monitoring: kept when known on receipt, else
        mapped from the payload (a mapping added since), else the project of the
        resulting record."""
        if self.project_id:
            return self.project_id
        if etype and etype.project_key and not self.payload_purged and self.payload:
            ref = json.loads(self.payload).get(etype.project_key)
            if ref:
                try:
                    return self.backend_id._map_project(ref)
                except PermanentEventError as err:
                    _logger.debug("event %s has no project yet: %s", self.id, err)
        return self.env["construction.outbox.message"]._record_project(
            records[:1] if records else None
        )

    def _apply(self, etype):
        """Supersede/no-op checks on the binding, then the handler."""
        binding = self.env["construction.binding"]
        if etype.model and etype.entity_key and self.entity_external_id:
            binding = binding._find_binding(
                self.backend_id, etype.model, self.entity_external_id
            )
        record = self.env[etype.model].browse(binding.res_id) if binding else None
        if binding and etype.version_key:
            if self.entity_version < binding.last_version:
                return "superseded", record
        if binding and binding.last_payload_hash == self.payload_hash:
            return "done", record  # already applied: a rerun changes nothing
        handler_self = self._handler_context()
        records = getattr(handler_self, etype.handler)()
        # Recompute stored fields now, in the handler's context: a later flush
        # from the job's own context would log tracking messages for them.
        handler_self.env.flush_all()
        if records is None or not isinstance(records, models.BaseModel):
            records = self.env[etype.model] if etype.model else None
        return "done", records

    def _handler_context(self):
        # Integration users are not internal users: no chatter side effects (the
        # event and its binding are the audit trail of what the system changed).
        return self.with_context(
            construction_sync=True,  # may write the synced (locked) fields
            tracking_disable=True,
            mail_create_nolog=True,
            mail_create_nosubscribe=True,
            mail_notrack=True,
        )

    def _park(self, reason):
        delay = self._get_param("park_delay", 600)
        self._write_state(
            {"state": "parked", "last_error": reason, "attempts": self.attempts + 1}
        )
        self._enqueue(eta=delay, state="parked")
        return _("Parked: %(reason)s", reason=reason)

    # ---- HANDLER HELPERS (public API for domain addons) ----

    def _payload(self):
        """The event body as a dict."""
        self.ensure_one()
        if self.payload_purged or not self.payload:
            raise PermanentEventError(_("The payload of this event was purged."))
        return json.loads(self.payload)

    def _bind(self, record):
        """Bind ``record`` to this event's entity (external id, version, hash)."""
        self.ensure_one()
        return self.env["construction.binding"]._bind(
            self.backend_id,
            record,
            self.entity_external_id,
            self.entity_version,
            self.payload_hash,
        )

    def _lock(self, records):
        """Lock ``records`` for this transaction, or retry later if another holds them.

        Lock contention is transient: it becomes a RetryableJobError (jittered
        backoff of the job function) instead of waiting or failing.
        """
        if not records:
            return
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM %s WHERE id IN %s FOR UPDATE NOWAIT",
                        SQL.identifier(records._table),
                        tuple(records.ids),
                    )
                )
        except psycopg2.errors.LockNotAvailable as err:
            raise RetryableJobError(
                _(
                    "%(records)s is locked by another transaction; retrying later.",
                    records=", ".join(records.mapped("display_name")),
                )
            ) from err

    def _result_records(self):
        self.ensure_one()
        if not self.result_model or not self.result_ids:
            return None
        if self.result_model not in self.env:
            return None
        return self.env[self.result_model].browse(json.loads(self.result_ids))

    @api.model
    def _publish(self, backend, event_type, record, payload):
        """Outbound hook: store the event in the transactional outbox.

        One ``construction.outbox.message`` per active backend subscribed to
        ``event_type`` (only ``backend`` when given), in the current transaction, so
        a rollback sends nothing; delivery runs in a job after commit. Returns the
        messages (empty when nobody subscribes: nothing is stored).
        """
        return self.env["construction.outbox.message"]._publish(
            backend, event_type, record, payload
        )

    # ---- HANDLERS ----

    def _handle_cost_code_upsert(self):
        """cost_code.upsert: create or update our cost code in the backend's company.

        The target is, in order: the record bound to the external id, a cost-code
        mapping of the external code, our cost code with the same code (when the
        backend matches identical codes), else a new cost code in the division.
        """
        payload = self._payload()
        backend = self.backend_id
        Account = self.env["account.analytic.account"].with_company(backend.company_id)
        account = self.env["construction.binding"]._find(
            backend, Account._name, payload["external_id"]
        )
        if not account:
            try:
                account = backend._map_cost_code(payload["code"])
            except PermanentEventError:
                account = Account
        if account and account.company_id != backend.company_id:
            raise PermanentEventError(
                _(
                    "Cost code %(code)s belongs to another company than %(backend)s.",
                    code=account.code,
                    backend=backend.name,
                )
            )
        vals = {"name": payload["name"], "active": payload.get("active", True)}
        division_number = payload.get("division") or payload["code"][:2]
        if payload.get("division") or not account:
            vals["plan_id"] = self._cost_code_division(division_number, payload).id
        if account:
            self._lock(account)
            account.write(vals)
        else:
            vals.update(code=payload["code"], company_id=backend.company_id.id)
            account = Account.create(vals)
        self._bind(account)
        mapping = self.env["construction.mapping"].search(
            [
                ("backend_id", "=", backend.id),
                ("kind", "=", "cost_code"),
                ("external_code", "=", payload["code"]),
            ],
            limit=1,
        )
        if not mapping:
            mapping.create(
                {
                    "backend_id": backend.id,
                    "kind": "cost_code",
                    "external_code": payload["code"],
                    "target_ref": f"{account._name},{account.id}",
                }
            )
        return account

    def _cost_code_division(self, number, payload):
        root = self.env["account.analytic.plan"]._construction_plan("cost_code")
        division = self.env["account.analytic.plan"].search(
            [("parent_id", "=", root.id), ("name", "=like", f"{number} %")], limit=1
        )
        if not division or not re.fullmatch(r"\d\d", number):
            raise PermanentEventError(
                _(
                    "No CSI division %(division)s for cost code %(code)s.",
                    division=number,
                    code=payload["code"],
                )
            )
        return division

    # ---- ACTIONS ----

    def action_replay(self):
        """Replay failed or dead events: a new job, taking effect once."""
        self._check_operator()
        not_replayable = self.filtered(lambda e: e.state not in REPLAYABLE_STATES)
        if not_replayable:
            raise UserError(
                _(
                    "Only failed or dead events can be replayed (%(events)s).",
                    events=", ".join(not_replayable.mapped("display_name")),
                )
            )
        for event in self:
            event._write_state({"replay_count": event.replay_count + 1})
        self._requeue()
        return True

    def action_cancel(self):
        self._check_operator()
        not_cancellable = self.filtered(lambda e: e.state not in CANCELLABLE_STATES)
        if not_cancellable:
            raise UserError(
                _(
                    "Done, superseded or cancelled events cannot be cancelled "
                    "(%(events)s).",
                    events=", ".join(not_cancellable.mapped("display_name")),
                )
            )
        # Cancelled while staged: nothing left to decide.
        self.filtered(
            lambda e: e.state == "awaiting_approval"
        )._close_approval_activity(_("Cancelled"))
        jobs = self.job_id.sudo()  # sudo: queue.job is a technical table
        self._write_state({"state": "cancelled", "job_id": False})
        jobs._cancel_unstarted()
        return True

    def action_open_result(self):
        self.ensure_one()
        records = self._result_records()
        if not records:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": records._name,
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", records.ids)],
            "name": _("Result"),
        }

    def _check_operator(self):
        """Replay and cancel: managers, and the system itself through the API.

        Accounting approvers read events to decide on staged ones; they do not
        operate the queue.
        """
        if self.env.su or self.env.user.has_group(MANAGER_GROUP):
            return
        if self.env.user.has_group(INTEGRATION_GROUP):
            return
        raise AccessError(
            _(
                "Only a Construction Manager can replay or cancel integration "
                "events and outbound messages."
            )
        )

    # ---- ACCOUNTING APPROVAL ----

    def _check_approver(self):
        """Only accounting approvers decide; integration users never do."""
        user = self.env.user
        if not user.has_group(APPROVER_GROUP) or user.has_group(INTEGRATION_GROUP):
            raise AccessError(
                _(
                    "Only a Construction Accounting Approver can accept or reject "
                    "staged events."
                )
            )

    def _check_awaiting_approval(self, lock=False):
        if lock and self:
            # Two approvers deciding at once: the second waits, then fails with a
            # serialization error (retried by Odoo) and sees the first decision.
            self.env.cr.execute(
                "SELECT id FROM construction_event WHERE id IN %s FOR UPDATE",
                (tuple(self.ids),),
            )
            self.invalidate_recordset(["state"])
        not_staged = self.filtered(lambda e: e.state != "awaiting_approval")
        if not_staged:
            raise UserError(
                _(
                    "Only events awaiting approval can be accepted or rejected "
                    "(%(events)s).",
                    events=", ".join(not_staged.mapped("display_name")),
                )
            )

    def _approval_vals(self, decision, comment, accounting_date=False):
        return {
            "approval_decision": decision,
            "approval_user_id": self.env.uid,
            "approval_date": fields.Datetime.now(),
            "approval_comment": (comment or "").strip() or False,
            "approval_accounting_date": accounting_date or False,
        }

    def _accept(self, comment=False, accounting_date=False):
        """Accept staged events: processed through the normal job path.

        Odoo-side information the source does not know is kept on the event and
        applied to the resulting document once processed: ``comment`` is logged on
        it, ``accounting_date`` (the posting period) is set on the documents that
        take one (see ``_construction_set_accounting_date``).
        """
        self._check_approver()
        self._check_awaiting_approval(lock=True)
        accounting_date = fields.Date.to_date(accounting_date)
        if accounting_date:
            self._check_accounting_date(accounting_date)
        self._write_state(self._approval_vals("accepted", comment, accounting_date))
        self._close_approval_activity(_("Accepted"), comment)
        self._enqueue()
        return True

    def _reject(self, comment):
        """Reject staged events with a mandatory comment sent back to the source.

        The event ends ``rejected`` (nothing is applied) and a
        ``<event type>.rejected`` message goes to the system's outbox.
        """
        self._check_approver()
        if not (comment or "").strip():
            raise UserError(_("A comment is required to reject an event."))
        self._check_awaiting_approval(lock=True)
        for event in self:
            vals = dict(
                event._approval_vals("rejected", comment),
                state="rejected",
                processed_date=fields.Datetime.now(),
            )
            event._write_state(vals)
            messages = self.env["construction.outbox.message"]._publish_reply(
                event.backend_id,
                f"{event.event_type}.rejected",
                event._rejection_payload(),
            )
            event._write_state({"approval_message_id": messages[:1].id})
        self._close_approval_activity(_("Rejected"), comment)
        return True

    def _approval_assignee(self):
        """Who gets the to-do of a staged event.

        The approver set on the system's policy line for the event type when
        still an accounting approver of the company; else the company's first
        accounting approver (oldest account). Integration users never decide.
        """
        self.ensure_one()
        company = self.company_id
        # sudo: group membership is read to assign the to-do, nothing is shown.
        Users = self.env["res.users"].sudo()
        approver_group = self.env.ref(APPROVER_GROUP)
        integration_group = self.env.ref(INTEGRATION_GROUP)
        domain = [
            ("groups_id", "in", approver_group.id),
            ("groups_id", "not in", integration_group.id),
            ("company_ids", "in", company.id),
            ("share", "=", False),
        ]
        line = self.backend_id.sudo().approval_policy_ids.filtered(
            lambda p: p.event_type == self.event_type
        )[:1]
        if line.approver_id:
            preferred = Users.search(domain + [("id", "=", line.approver_id.id)])
            if preferred:
                return preferred
        return Users.search(domain, order="id", limit=1)

    def _schedule_approval_activity(self):
        """One to-do per staged event for its accounting approver (looked up
        once per system and event type)."""
        assignees = {}
        for event in self:
            key = (event.backend_id, event.event_type)
            if key not in assignees:
                assignees[key] = event._approval_assignee()
            user = assignees[key]
            if not user:
                _logger.warning(
                    "Event %s awaits approval but company %s has no accounting "
                    "approver to notify.",
                    event.id,
                    event.company_id.name,
                )
                continue
            # sudo: the integration user stages the event; the to-do is the
            # framework's notification to the approver, who can read the event.
            event.sudo().activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=user.id,
                summary=_("Accept or reject %(type)s", type=event.event_type),
                note=_(
                    "%(system)s sent %(type)s %(entity)s: staged for accounting "
                    "approval.",
                    system=event.backend_id.name,
                    type=event.event_type,
                    entity=event.entity_external_id or event.idempotency_key,
                ),
            )

    def _close_approval_activity(self, decision, comment=False):
        """Mark the staged events' to-dos done with the decision."""
        feedback = decision if not comment else f"{decision}: {comment}"
        # sudo: whoever decides (or cancels) closes the to-do assigned to another
        # approver; the done message is authored by the current user.
        self.sudo().activity_feedback(
            ["mail.mail_activity_data_todo"], feedback=feedback
        )

    def _rejection_payload(self):
        self.ensure_one()
        return {
            "event_id": self.idempotency_key,
            "event_type": self.event_type,
            "entity_external_id": self.entity_external_id or None,
            "entity_version": self.entity_version or None,
            "decision": "rejected",
            "comment": self.approval_comment,
            "decided_by": self.approval_user_id.name,
            "decided_at": fields.Datetime.to_string(self.approval_date),
        }

    def _takes_accounting_date(self):
        """Whether the documents these events produce take an accounting date."""
        types = self._event_types()
        return any(
            (etype := types.get(event.event_type))
            and etype.model
            and hasattr(self.env[etype.model], "_construction_set_accounting_date")
            for event in self
        )

    def _check_accounting_date(self, accounting_date):
        """An approved accounting date must fall in an open period: Odoo's lock
        dates of the company (fiscal year, hard, and the sale or purchase lock
        date of the documents' journal, ``_construction_accounting_journal_type``
        of their model)."""
        types = self._event_types()
        for event in self:
            etype = types.get(event.event_type)
            model = self.env[etype.model] if etype and etype.model else None
            journal_type = getattr(model, "_construction_accounting_journal_type", None)
            company = event.company_id
            violations = company._get_lock_date_violations(
                accounting_date,
                tax=False,
                sale=journal_type == "sale",
                purchase=journal_type == "purchase",
            )
            if violations:
                raise UserError(
                    _(
                        "The accounting date %(date)s falls in a locked period of "
                        "%(company)s: %(locks)s.",
                        date=format_date(self.env, accounting_date),
                        company=company.name,
                        locks=company._format_lock_dates(violations),
                    )
                )

    def _apply_approval(self, records):
        """Apply the approver's Odoo-side data to the resulting documents: the
        accounting date where they take one, the acceptance and comment logged."""
        self.ensure_one()
        if self.approval_decision != "accepted" or not records:
            return
        if self.approval_accounting_date and hasattr(
            records, "_construction_set_accounting_date"
        ):
            # sudo: the date an accounting approver decided, applied by the job to
            # the documents it has just written.
            records.sudo()._construction_set_accounting_date(
                self.approval_accounting_date
            )
        if not hasattr(records, "_message_log"):
            return
        lines = [
            _(
                "Accepted by %(user)s (accounting approval of %(event)s).",
                user=self.approval_user_id.name,
                event=self.display_name,
            )
        ]
        if self.approval_accounting_date:
            lines.append(
                _(
                    "Accounting date: %(date)s",
                    date=format_date(self.env, self.approval_accounting_date),
                )
            )
        if self.approval_comment:
            lines.append(self.approval_comment)
        body = Markup("<br/>").join(lines)
        # sudo: the integration user logs the approver's audit note on the
        # document it just wrote; nothing is read back.
        for record in records.sudo():
            record._message_log(body=body)

    def action_open_approval_wizard(self):
        decision = self.env.context.get("approval_decision", "accepted")
        self._check_approver()
        self._check_awaiting_approval()
        return {
            "type": "ir.actions.act_window",
            "res_model": "construction.event.approval.wizard",
            "view_mode": "form",
            "target": "new",
            "name": _("Accept") if decision == "accepted" else _("Reject"),
            "context": {
                "default_event_ids": self.ids,
                "default_decision": decision,
            },
        }

    # ---- DIFF (payload against what Odoo holds) ----

    def _diff_record(self):
        """The record the event's entity is bound to now (else its result)."""
        self.ensure_one()
        etype = self._event_type()
        if etype and etype.model and self.entity_external_id:
            # sudo: approvers have no access to bindings; only the bound id is
            # used, the record itself is read with the caller's rights.
            binding = (
                self.env["construction.binding"]
                .sudo()
                ._find_binding(self.backend_id, etype.model, self.entity_external_id)
            )
            record = self.env[etype.model].browse(binding.res_id).exists()
            if record:
                return record
        records = self._result_records()
        return records.exists()[:1] if records else None

    def _payload_diff(self):
        """Rows {field, payload, odoo, differs} for the bound record (or [])."""
        self.ensure_one()
        record = self._diff_record()
        if not record or self.payload_purged or not self.payload:
            return []
        payload = json.loads(self.payload)
        etype = self._event_type()
        skip = {etype.entity_key, etype.version_key} if etype else set()
        rows = []
        for key, value in payload.items():
            field = record._fields.get(key)
            if key in skip or not field or field.type not in DIFF_FIELD_TYPES:
                continue
            if isinstance(value, (dict, list)):
                continue
            rows.append(self._diff_row(field.string, value, record, field))
        return rows + self._payload_diff_extra(record, payload)

    def _payload_diff_extra(self, record, payload):
        """Hook: rows of domain addons (mapped references, totals of lines)."""
        return []

    def _diff_row(self, label, payload_value, record, field=None, odoo_value=None):
        """One diff row; with ``field`` the Odoo value is read from ``record``."""
        if field is not None:
            odoo_value = record[field.name]
            if field.type == "html":
                odoo_value = html2plaintext(odoo_value or "").strip() or False
                payload_value = (
                    html2plaintext(payload_value).strip() if payload_value else False
                )
            elif field.type in ("date", "datetime"):
                odoo_value = field.to_string(odoo_value) if odoo_value else False
        if isinstance(odoo_value, models.BaseModel):
            odoo_value = ", ".join(odoo_value.mapped("display_name")) or False
        if isinstance(odoo_value, float) or (
            isinstance(payload_value, float) and isinstance(odoo_value, int)
        ):
            differs = (
                float_compare(
                    float(payload_value or 0.0),
                    float(odoo_value or 0.0),
                    precision_digits=2,
                )
                != 0
            )
        else:
            differs = (payload_value or False) != (odoo_value or False)
        return {
            "field": label,
            "payload": payload_value,
            "odoo": odoo_value,
            "differs": differs,
        }

    @api.depends("payload", "state")
    def _compute_payload_diff_html(self):
        for event in self:
            try:
                rows = event._payload_diff()
            except (
                AccessError,
                PermanentEventError,
                UserError,
                ValueError,
                KeyError,
            ) as err:
                event.payload_diff_html = Markup("<p>%s</p>") % str(err)
                continue
            event.payload_diff_html = event._render_diff(rows)

    def _render_diff(self, rows):
        if not rows:
            return Markup("<p>%s</p>") % _(
                "No bound record to compare with (not processed yet, or purged)."
            )

        def show(value):
            return "" if value is False or value is None else str(value)

        body = Markup("").join(
            Markup('<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>')
            % (
                "table-warning" if row["differs"] else "",
                row["field"],
                show(row["payload"]),
                show(row["odoo"]),
                _("Yes") if row["differs"] else _("No"),
            )
            for row in rows
        )
        head = Markup(
            '<table class="table table-sm o_construction_diff"><thead><tr>'
            "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>"
        ) % (_("Field"), _("Payload"), _("Odoo now"), _("Differs"))
        return head + body + Markup("</tbody></table>")

    # ---- API REPRESENTATION ----

    def _to_api(self):
        """The event as the API returns it (no payload, no internal ids but its own)."""
        self.ensure_one()
        if self.env.context.get("construction_committed_twin"):
            return self._to_api_committed()
        records = self._result_records()
        result = {
            "id": self.id,
            "type": self.event_type,
            "idempotency_key": self.idempotency_key,
            "state": self.state,
            "attempts": self.attempts,
            "received_at": fields.Datetime.to_string(self.received_date),
            "processed_at": fields.Datetime.to_string(self.processed_date)
            if self.processed_date
            else None,
            "error": self.last_error or None,
            "result": {"model": records._name, "ids": records.ids} if records else None,
            "links": {"self": f"/api/construction/v1/events/{self.id}"},
        }
        if self.approval_required:
            result["approval"] = {
                "decision": self.approval_decision or "pending",
                "decided_at": fields.Datetime.to_string(self.approval_date)
                if self.approval_date
                else None,
                # The comment is an Odoo-side note when accepted; only a
                # rejection's reason is meant for the source system.
                "comment": self.approval_comment
                if self.approval_decision == "rejected"
                else None,
            }
        return result

    def _to_api_committed(self):
        """``_to_api`` of an event committed by a concurrent request after our
        snapshot was taken: read with a fresh cursor, as the same user."""
        # A fresh cursor (the test cursor in tests) sees what others committed.
        with self.env.registry.cursor() as cr:
            context = dict(self.env.context, construction_committed_twin=False)
            env = api.Environment(cr, self.env.uid, context, su=self.env.su)
            return self.with_env(env)._to_api()

    @api.model
    def _openapi(self):
        """The OpenAPI 3.1 document generated from the event-type registry."""
        return build_openapi(
            self._event_types(),
            outbound_types=self.env[
                "construction.outbox.message"
            ]._outbound_event_types(),
        )

    # ---- JOB STATE ----

    def _sync_with_job(self, job):
        """Follow the processing job (called from queue.job.write).

        started -> processing; postponed after a RetryableJobError -> failed
        (retrying); requeued by hand in Job Queue -> queued (a replay); failed
        (retries exhausted or crash) -> dead; cancelled -> cancelled.
        """
        self.ensure_one()
        vals = {}
        if job.state == "started" and self.state in ("queued", "failed", "parked"):
            vals = {"state": "processing"}
        elif job.state in ("pending", "enqueued") and self.state == "processing":
            if job.retry:  # postponed by a RetryableJobError
                vals = {
                    "state": "failed",
                    "last_error": job.result or job.exc_message,
                    "attempts": self.attempts + 1,
                    "processed_date": fields.Datetime.now(),
                }
            else:  # requeued (stuck job found by the garbage collector)
                vals = {"state": "queued"}
        elif (
            job.state == "pending" and not job.retry and self.state in REPLAYABLE_STATES
        ):
            vals = {"state": "queued", "replay_count": self.replay_count + 1}
        elif job.state == "failed" and self.state in (
            "queued",
            "processing",
            "failed",
            "parked",
        ):
            vals = {
                "state": "dead",
                "last_error": job.exc_message or job.exc_name,
                "attempts": self.attempts + 1,
                "processed_date": fields.Datetime.now(),
            }
        elif job.state == "cancelled" and self.state in ("queued", "failed", "parked"):
            vals = {"state": "cancelled"}
        if vals:
            self.write(vals)

    # ---- CRONS ----

    @api.model
    def _cron_requeue_parked(self):
        """Parked events without a pending job get one: none is ever dropped."""
        parked = self.search([("state", "=", "parked")])
        orphans = parked.filtered(
            lambda e: e.job_id.sudo().state not in UNSTARTED_JOB_STATES + ("started",)
        )
        orphans._requeue(state="parked")

    @api.model
    def _cron_purge_payloads(self):
        """Drop payload bodies of finished events older than the retention."""
        days = self._get_param("payload_retention_days", 90)
        if days <= 0:
            return
        limit = fields.Datetime.now() - timedelta(days=days)
        events = self.search(
            [
                ("received_date", "<", limit),
                ("state", "in", ("done", "superseded", "cancelled", "rejected")),
                ("payload_purged", "=", False),
            ]
        )
        events._write_state({"payload": False, "payload_purged": True})
        self.env["construction.api.signature"]._gc_signatures()
        self.env["construction.api.rate"]._gc_counters()
