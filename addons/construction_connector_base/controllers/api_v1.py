"""Versioned REST API of the construction suite: /api/construction/v1/.

Thin handlers: every check raises ``ApiProblem``; the dispatcher rolls back and
answers an RFC 9457 ``application/problem+json`` body. Requests run as the
backend's integration user (Odoo API key as ``Authorization: Bearer``).
"""

import hashlib
import json
import logging
import secrets

import psycopg2

from odoo import http
from odoo.http import request
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from odoo.addons.base.models.res_users import INDEX_SIZE, KEY_CRYPT_CONTEXT

from ..tools.exceptions import IdempotencyConflict, ReconciliationRunning
from ..tools.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER

_logger = logging.getLogger(__name__)

PREFIX = "/api/construction/v1"
PROBLEM_BASE = "https://construction-suite.example/problems/"
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_MAX_BATCH = 100
MAX_KEY_LENGTH = 255


MAX_DEPTH = 32
MAX_VALUE_ERRORS = 50
INT32 = 2**31 - 1
# Largest magnitude of a decimal number (an amount, a quantity) the API accepts.
MAX_NUMBER = 1e15


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text):
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def _check_string(value, pointer, errors):
    if "\x00" in value:
        errors.append({"pointer": pointer, "detail": "NUL characters are not allowed."})
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.append({"pointer": pointer, "detail": "Not valid Unicode text."})


def _check_json_values(value, pointer, depth, errors):
    """Collect {"pointer", "detail"} for values no Odoo field can store."""
    if len(errors) >= MAX_VALUE_ERRORS:
        return
    if depth > MAX_DEPTH:
        errors.append(
            {"pointer": pointer, "detail": f"Nested deeper than {MAX_DEPTH} levels."}
        )
    elif isinstance(value, dict):
        for key, item in value.items():
            token = str(key).replace("~", "~0").replace("/", "~1")
            _check_string(key, f"{pointer}/{token}", errors)
            _check_json_values(item, f"{pointer}/{token}", depth + 1, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_values(item, f"{pointer}/{index}", depth + 1, errors)
    elif isinstance(value, str):
        _check_string(value, pointer, errors)
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > INT32:
            errors.append(
                {"pointer": pointer, "detail": "Integer out of range (32 bits)."}
            )
    elif isinstance(value, float) and abs(value) > MAX_NUMBER:
        errors.append(
            {
                "pointer": pointer,
                "detail": f"Number out of range (above {MAX_NUMBER:g}).",
            }
        )


# Stored API-key hashes this worker has verified, by (database, sha256 of the key).
# pbkdf2 makes every verification cost tens of milliseconds by design; a key already
# verified against a stored hash is accepted again while that very row still passes
# Odoo's own conditions (active user, scope, not expired): revoking, expiring or
# deactivating takes effect at once, and only hashes are kept in memory.
_VERIFIED_KEYS = {}
_VERIFIED_KEYS_MAX = 1024


def _api_key_uid(env, key):
    """The user of an RPC-scope API key, or None: res.users.apikeys._check_credentials
    (same query) without re-running pbkdf2 for a key this worker already verified."""
    env.cr.execute(
        SQL(
            """
            SELECT k.user_id, k.key
              FROM res_users_apikeys k
              JOIN res_users u ON u.id = k.user_id
             WHERE u.active AND k.index = %s
               AND (k.scope IS NULL OR k.scope = 'rpc')
               AND (k.expiration_date IS NULL
                    OR k.expiration_date >= now() at time zone 'utc')
            """,
            key[:INDEX_SIZE],
        )
    )
    rows = env.cr.fetchall()
    cache_key = (env.cr.dbname, hashlib.sha256(key.encode()).digest())
    known = _VERIFIED_KEYS.get(cache_key)
    for uid, stored in rows:
        if known and stored == known:
            return uid
    for uid, stored in rows:
        if KEY_CRYPT_CONTEXT.verify(key, stored):
            if len(_VERIFIED_KEYS) >= _VERIFIED_KEYS_MAX:
                _VERIFIED_KEYS.clear()
            _VERIFIED_KEYS[cache_key] = stored
            return uid
    return None


def api_route(path, method=None):
    """Route of the API under ``PREFIX``: plain HTTP with JSON bodies, our own API-key
    authentication (``auth="none"``), no session, no CSRF. Not read-only, GET
    included: every authenticated request counts toward the rate limit."""
    routing = {
        "type": "http",
        "auth": "none",
        "csrf": False,
        "save_session": False,
        "readonly": False,
    }
    if method:
        routing["methods"] = [method]
    paths = [PREFIX + p for p in path] if isinstance(path, list) else PREFIX + path
    return http.route(paths, **routing)


class ApiProblem(Exception):
    """An RFC 9457 problem: status, type slug, title, detail, extra members."""

    def __init__(self, status, slug, title, detail=None, headers=None, **extra):
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def body(self):
        body = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return body


def _json_response(data, status, headers=None):
    return request.make_json_response(data, headers=headers, status=status)


def _problem_response(problem):
    headers = dict(problem.headers, **{"Content-Type": "application/problem+json"})
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="construction"')
    return request.make_response(
        json.dumps(problem.body()), headers=list(headers.items()), status=problem.status
    )


def _param(name, default):
    # sudo: reading technical settings (limits), nothing user-specific.
    value = (
        request.env["ir.config_parameter"]
        .sudo()
        .get_param(f"construction_connector_base.{name}")
    )
    try:
        return int(value) if value else default
    except ValueError:
        return default


class ConstructionApiV1(http.Controller):
    # ---- routes ----

    @api_route("/events/<string:event_type>", "POST")
    def post_event(self, event_type, **kwargs):
        return self._dispatch(self._post_event, event_type)

    @api_route("/events/<string:event_type>/batch", "POST")
    def post_batch(self, event_type, **kwargs):
        return self._dispatch(self._post_batch, event_type)

    @api_route("/events", "GET")
    def list_events(self, **kwargs):
        return self._dispatch(self._list_events)

    @api_route("/events/<int:event_id>", "GET")
    def get_event(self, event_id, **kwargs):
        return self._dispatch(self._get_event, event_id)

    @api_route("/events/<int:event_id>/replay", "POST")
    def replay_event(self, event_id, **kwargs):
        return self._dispatch(self._replay_event, event_id)

    @api_route("/outbox", "GET")
    def list_outbox(self, **kwargs):
        return self._dispatch(self._list_outbox)

    @api_route("/outbox/<int:message_id>", "GET")
    def get_outbox_message(self, message_id, **kwargs):
        return self._dispatch(self._get_outbox_message, message_id)

    @api_route("/outbox/<int:message_id>/replay", "POST")
    def replay_outbox_message(self, message_id, **kwargs):
        return self._dispatch(self._replay_outbox_message, message_id)

    @api_route("/health", "GET")
    def health(self, **kwargs):
        return self._dispatch(self._health)

    @api_route("/reconciliation/snapshot", "POST")
    def post_reconciliation_snapshot(self, **kwargs):
        return self._dispatch(self._post_reconciliation_snapshot)

    @api_route("/openapi.json", "GET")
    def openapi(self, **kwargs):
        # sudo: the document only lists the registered event types and schemas.
        document = request.env["construction.event"].sudo()._openapi()
        return _json_response(document, 200)

    @api_route(["", "/<path:rest>"])
    def not_found(self, rest=None, **kwargs):
        """Any other path or method under the API answers a problem, not a page."""
        return _problem_response(
            ApiProblem(
                404,
                "not-found",
                "Not found",
                f"No {request.httprequest.method} operation at this path.",
            )
        )

    # ---- plumbing ----

    def _dispatch(self, handler, *args):
        response = self._handle(handler, *args)
        for name, value in getattr(request, "construction_rate_headers", {}).items():
            response.headers.setdefault(name, value)
        return response

    def _handle(self, handler, *args):
        try:
            self._check_request_text()
            return handler(*args)
        except ApiProblem as problem:
            request.env.cr.rollback()
            return _problem_response(problem)
        except psycopg2.errors.OperationalError as err:
            if err.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
                raise  # Odoo rolls back and runs the whole request again
            request.env.cr.rollback()
            _logger.exception("construction API: database error")
            return _problem_response(
                ApiProblem(500, "internal", "Internal error", "The error was logged.")
            )
        except Exception:
            request.env.cr.rollback()
            _logger.exception("construction API: unexpected error")
            return _problem_response(
                ApiProblem(500, "internal", "Internal error", "The error was logged.")
            )

    def _check_request_text(self):
        """400 for a NUL character in a header or query parameter: PostgreSQL
        cannot compare or store it (body values are checked with the payload)."""
        httprequest = request.httprequest
        for name, value in [
            *httprequest.headers.items(),
            *httprequest.args.items(multi=True),
        ]:
            if "\x00" in name or "\x00" in value:
                raise ApiProblem(
                    400,
                    "invalid-character",
                    "Invalid character",
                    f"{name.replace(chr(0), '')!r} contains a NUL character.",
                )

    def _authenticate(self):
        """401 without a valid bearer key; then act as that user, find its backend;
        429 when the backend's requests this minute (refused ones included, reads
        too: id guessing is throttled) are over its rate limit."""
        header = request.httprequest.headers.get("Authorization", "")
        scheme, _sep, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiProblem(
                401, "unauthorized", "Unauthorized", "Missing bearer API key."
            )
        uid = _api_key_uid(request.env, key.strip())
        if not uid:
            raise ApiProblem(401, "unauthorized", "Unauthorized", "Invalid API key.")
        request.update_env(user=uid)
        user = request.env.user
        backend = (
            request.env["construction.backend"]
            .with_context(active_test=False)
            .search([("user_id", "=", uid)], limit=1)
        )
        if not backend or not backend.active:
            raise ApiProblem(
                403,
                "forbidden",
                "Forbidden",
                "This key is not linked to an active external system.",
            )
        if backend.company_id not in user.company_ids:
            raise ApiProblem(
                403,
                "forbidden",
                "Forbidden",
                "The external system belongs to a company this key cannot access.",
            )
        request.update_env(
            context=dict(
                request.env.context, allowed_company_ids=backend.company_id.ids
            )
        )
        backend = backend.with_env(request.env)
        self._check_rate(backend)
        return backend

    def _event_type(self, backend, event_type):
        types = request.env["construction.event"]._event_types()
        if event_type not in types or not backend._allows_event_type(event_type):
            raise ApiProblem(
                404,
                "unknown-event-type",
                "Unknown event type",
                f"No event type {event_type!r} for this system.",
            )
        return types[event_type]

    def _read_body(self):
        """415 unless JSON, 413 above the configured size; returns the raw bytes."""
        httprequest = request.httprequest
        if httprequest.mimetype != "application/json":
            raise ApiProblem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as application/json.",
            )
        limit = _param("max_body_bytes", DEFAULT_MAX_BODY)
        if (httprequest.content_length or 0) > limit:
            raise ApiProblem(
                413,
                "payload-too-large",
                "Payload too large",
                f"The body exceeds {limit} bytes.",
            )
        raw = httprequest.get_data(cache=True)
        if len(raw) > limit:
            raise ApiProblem(
                413,
                "payload-too-large",
                "Payload too large",
                f"The body exceeds {limit} bytes.",
            )
        return raw

    def _parse(self, raw):
        """JSON (RFC 8259: no NaN or Infinity), then the values no field can store
        (NUL characters, lone surrogates, integers beyond 32 bits, deep nesting)
        refused with a 422 instead of failing later in the database."""
        try:
            body = json.loads(
                raw, parse_constant=_refuse_constant, parse_float=_finite_float
            )
        except (ValueError, RecursionError) as err:
            detail = (
                "The body is nested too deeply."
                if isinstance(err, RecursionError)
                else f"The body is not JSON: {err}"
            )
            raise ApiProblem(400, "malformed-json", "Malformed JSON", detail) from err
        errors = []
        _check_json_values(body, "", 0, errors)
        if errors:
            raise self._validation_problem(errors[:MAX_VALUE_ERRORS])
        return body

    def _validation_problem(self, errors):
        return ApiProblem(
            422,
            "validation-error",
            "Validation failed",
            f"{len(errors)} field(s) failed validation.",
            errors=errors,
        )

    def _check_signature(self, backend, raw):
        if not backend.require_signature:
            return
        headers = request.httprequest.headers
        error = backend._verify_signature(
            headers.get(TIMESTAMP_HEADER), raw, headers.get(SIGNATURE_HEADER)
        )
        if error:
            raise ApiProblem(401, "invalid-signature", "Invalid signature", error)

    def _check_rate(self, backend):
        """Count the request; 429 over the limit. Every answer after this point
        carries the RateLimit-* headers, so clients can pace themselves."""
        counted = backend._count_request()
        if not counted:
            return
        count, reset = counted
        limit = backend.rate_limit
        request.construction_rate_headers = headers = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(limit - count, 0)),
            "RateLimit-Reset": str(reset),
        }
        if count > limit:
            raise ApiProblem(
                429,
                "rate-limited",
                "Too many requests",
                f"Rate limit of {limit} requests per minute reached.",
                headers=dict(headers, **{"Retry-After": str(reset)}),
            )

    def _idempotency_key(self, key, pointer):
        if not key:
            raise ApiProblem(
                400,
                "idempotency-key-missing",
                "Idempotency key missing",
                f"Send an Idempotency-Key header ({pointer}).",
            )
        if len(key) > MAX_KEY_LENGTH:
            raise self._validation_problem(
                [{"pointer": pointer, "detail": "Longer than 255 characters."}]
            )
        return key

    def _conflict(self, err):
        return ApiProblem(
            409,
            "idempotency-conflict",
            "Idempotency key conflict",
            str(err),
            event_id=err.event.id or None,
        )

    def _remote_addr(self):
        return request.httprequest.remote_addr

    # ---- handlers ----

    def _post_event(self, event_type):
        backend = self._authenticate()
        self._event_type(backend, event_type)
        raw = self._read_body()
        payload = self._parse(raw)
        Event = request.env["construction.event"]
        errors = Event._validate_payload(event_type, payload)
        if errors:
            raise self._validation_problem(errors)
        self._check_signature(backend, raw)
        key = self._idempotency_key(
            request.httprequest.headers.get("Idempotency-Key"),
            "/headers/Idempotency-Key",
        )
        try:
            event, created = Event._receive(
                backend, event_type, key, payload, remote_addr=self._remote_addr()
            )
        except IdempotencyConflict as err:
            raise self._conflict(err) from err
        return _json_response(
            event._to_api(),
            202 if created else 200,
            headers={"Location": f"{PREFIX}/events/{event.id}"},
        )

    def _post_batch(self, event_type):
        backend = self._authenticate()
        self._event_type(backend, event_type)
        raw = self._read_body()
        body = self._parse(raw)
        Event = request.env["construction.event"]
        errors = self._validate_envelope(body)
        if errors:
            raise self._validation_problem(errors)
        self._check_signature(backend, raw)
        batch_ref = secrets.token_hex(8)
        items, events = [], Event
        for index, item in enumerate(body["events"]):
            result, event, created = self._batch_item(
                Event, backend, event_type, index, item, batch_ref
            )
            items.append((result, event))
            if created:
                events |= event
        # The new events of the batch are processed by one job (a savepoint each).
        events._enqueue_batch(batch_ref)
        return _json_response(
            {
                "batch": batch_ref,
                "items": [
                    dict(result, event=event._to_api()) if event else result
                    for result, event in items
                ],
            },
            207,
        )

    def _validate_envelope(self, body):
        max_items = _param("max_batch_items", DEFAULT_MAX_BATCH)
        if not isinstance(body, dict):
            return [{"pointer": "", "detail": "The body must be an object."}]
        events = body.get("events")
        if not isinstance(events, list) or not events:
            return [{"pointer": "/events", "detail": "A non-empty array is required."}]
        if len(events) > max_items:
            return [
                {
                    "pointer": "/events",
                    "detail": f"At most {max_items} events per batch.",
                }
            ]
        return []

    def _batch_item(self, Event, backend, event_type, index, item, batch_ref):
        result = {"index": index}
        pointer = f"/events/{index}"
        if not isinstance(item, dict):
            return (
                dict(
                    result,
                    status=422,
                    errors=[{"pointer": pointer, "detail": "An object is required."}],
                ),
                None,
                False,
            )
        key = item.get("event_id")
        result["event_id"] = key
        errors = []
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            errors.append(
                {
                    "pointer": f"{pointer}/event_id",
                    "detail": "A string of 1 to 255 characters is required.",
                }
            )
        payload = item.get("payload")
        if not isinstance(payload, dict):
            errors.append(
                {"pointer": f"{pointer}/payload", "detail": "An object is required."}
            )
        else:
            errors += [
                dict(error, pointer=f"{pointer}/payload{error['pointer']}")
                for error in Event._validate_payload(event_type, payload)
            ]
        if errors:
            return dict(result, status=422, errors=errors), None, False
        try:
            # One savepoint per item: a failing item never sinks the others.
            with request.env.cr.savepoint():
                event, created = Event._receive(
                    backend,
                    event_type,
                    key,
                    payload,
                    remote_addr=self._remote_addr(),
                    batch_ref=batch_ref,
                    enqueue=False,
                )
        except IdempotencyConflict as err:
            problem = self._conflict(err)
            return (
                dict(
                    result,
                    status=409,
                    errors=[{"pointer": pointer, "detail": str(err)}],
                    **problem.extra,
                ),
                None,
                False,
            )
        return dict(result, status=202 if created else 200), event, created

    def _own_record(self, model, backend, record_id, what):
        # ids are 32-bit: a larger guess is simply not found (not a database error)
        record = request.env[model]
        if 0 < record_id <= INT32:
            record = record.search(
                [("id", "=", record_id), ("backend_id", "=", backend.id)]
            )
        if not record:
            raise ApiProblem(404, "not-found", "Not found", f"No such {what}.")
        return record

    def _own_event(self, backend, event_id):
        return self._own_record("construction.event", backend, event_id, "event")

    def _health(self):
        backend = self._authenticate()
        return _json_response(backend._health(), 200)

    def _get_event(self, event_id):
        backend = self._authenticate()
        return _json_response(self._own_event(backend, event_id)._to_api(), 200)

    def _replay_event(self, event_id):
        backend = self._authenticate()
        event = self._own_event(backend, event_id)
        if event.state not in ("failed", "dead"):
            raise ApiProblem(
                409,
                "not-replayable",
                "Event not replayable",
                "Only failed or dead events can be replayed; "
                f"this one is {event.state}.",
            )
        event.action_replay()
        return _json_response(event._to_api(), 202)

    # ---- outbox ----

    def _own_message(self, backend, message_id):
        return self._own_record(
            "construction.outbox.message", backend, message_id, "message"
        )

    def _int_arg(self, name, default, minimum, maximum):
        raw = request.httprequest.args.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            raise self._validation_problem(
                [
                    {
                        "pointer": f"/query/{name}",
                        "detail": f"An integer from {minimum} to {maximum}.",
                    }
                ]
            )
        return value

    def _list_events(self):
        backend = self._authenticate()
        external_id = request.httprequest.args.get("external_id")
        return self._list_page(
            request.env["construction.event"],
            backend,
            [("entity_external_id", "=", external_id)] if external_id else [],
        )

    def _list_outbox(self):
        backend = self._authenticate()
        return self._list_page(request.env["construction.outbox.message"], backend)

    def _list_page(self, Model, backend, domain=()):
        """One page of the system's own events or messages, newest first, by
        state(s) and event type."""
        args = request.httprequest.args
        domain = [("backend_id", "=", backend.id), *domain]
        states = [s for s in args.getlist("state") for s in s.split(",") if s]
        known = dict(Model._fields["state"].selection)
        unknown = [s for s in states if s not in known]
        if unknown:
            raise self._validation_problem(
                [
                    {
                        "pointer": "/query/state",
                        "detail": f"Unknown state(s) {', '.join(unknown)}; one of "
                        f"{', '.join(known)}.",
                    }
                ]
            )
        if states:
            domain.append(("state", "in", states))
        if args.get("event_type"):
            domain.append(("event_type", "=", args["event_type"]))
        limit = self._int_arg("limit", 50, 1, 200)
        offset = self._int_arg("offset", 0, 0, 10**9)
        total = Model.search_count(domain)
        records = Model.search(domain, limit=limit, offset=offset, order="id desc")
        return _json_response(
            {
                "total": total,
                "limit": limit,
                "offset": offset,
                "items": [record._to_api() for record in records],
            },
            200,
        )

    def _get_outbox_message(self, message_id):
        backend = self._authenticate()
        return _json_response(self._own_message(backend, message_id)._to_api(), 200)

    def _replay_outbox_message(self, message_id):
        backend = self._authenticate()
        message = self._own_message(backend, message_id)
        if message.state not in ("failed", "dead"):
            raise ApiProblem(
                409,
                "not-replayable",
                "Message not replayable",
                "Only failed or dead messages can be replayed; "
                f"this one is {message.state}.",
            )
        message.action_replay()
        return _json_response(message._to_api(), 202)

    def _post_reconciliation_snapshot(self):
        backend = self._authenticate()
        raw = self._read_body()
        payload = self._parse(raw)
        Snapshot = request.env["construction.reconciliation.snapshot"]
        errors = Snapshot._api_errors(payload)
        if errors:
            raise self._validation_problem(errors)
        self._check_signature(backend, raw)
        snapshot, errors = Snapshot._create_from_api(backend, payload)
        if errors:
            raise ApiProblem(
                422,
                "unknown-reference",
                "Unknown project or cost code",
                f"{len(errors)} reference(s) are not mapped for this system; "
                "nothing was stored.",
                errors=errors,
            )
        body = snapshot._to_api()
        if payload.get("reconcile"):
            # sudo: the run reads the budget, ledger and documents behind the
            # figures; only counts are returned to the integration user.
            Run = request.env["construction.reconciliation.run"].sudo()
            try:
                run = Run._reconcile(backend.sudo(), trigger="api")
            except ReconciliationRunning as err:
                raise ApiProblem(
                    409, "reconciliation-running", "Reconciliation running", str(err)
                ) from err
            body["run"] = run._to_api()
        return _json_response(body, 201)
