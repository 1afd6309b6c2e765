"""OpenAPI 3.1 document of /api/construction/v1, built from the event-type registry
(the same JSON Schemas that validate requests)."""

import copy

from .event_types import EventType

PREFIX = "/api/construction/v1"
# Not an event type: the schema of POST /reconciliation/snapshot (no handler).
RECONCILIATION_SNAPSHOT = EventType(
    schema="construction_connector_base/schemas/reconciliation_snapshot.v1.json",
    handler="",
)


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _problem_response(description):
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _parameter(name, where, schema, description=None, required=False):
    parameter = {"name": name, "in": where, "required": required, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _page(item):
    return {
        "type": "object",
        "required": ["total", "limit", "offset", "items"],
        "properties": {
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "items": {"type": "array", "items": _ref(item)},
        },
    }


# Query parameters of the listings (GET /events, GET /outbox), newest first.
LIST_PARAMETERS = [
    _parameter(
        "state",
        "query",
        {"type": "string"},
        description="Comma-separated states, e.g. failed,dead.",
    ),
    _parameter("event_type", "query", {"type": "string"}),
    _parameter("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200}),
    _parameter("offset", "query", {"type": "integer", "minimum": 0}),
]

COMMON_ERRORS = {
    "401": _problem_response("Missing or invalid API key, or invalid signature"),
    "403": _problem_response("The key's system is inactive or in another company"),
    "404": _problem_response("Unknown event type for this system"),
    "413": _problem_response("Body larger than the configured limit"),
    "415": _problem_response("Body is not application/json"),
    "422": _problem_response("JSON Schema validation failed (see errors)"),
    "429": {
        "description": "Rate limit reached",
        "headers": {
            "Retry-After": {"schema": {"type": "integer"}},
            "RateLimit-Limit": {"schema": {"type": "integer"}},
            "RateLimit-Remaining": {"schema": {"type": "integer"}},
            "RateLimit-Reset": {"schema": {"type": "integer"}},
        },
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    },
}

SIGNATURE_HEADERS = [
    _parameter(
        "X-Construction-Timestamp",
        "header",
        {"type": "string"},
        description="Unix time of signing; required when the system signs.",
    ),
    _parameter(
        "X-Construction-Signature",
        "header",
        {"type": "string"},
        description="sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>'>.",
    ),
]

STATIC_SCHEMAS = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "event_id": {"type": ["integer", "null"]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["pointer", "detail"],
                    "properties": {
                        "pointer": {
                            "type": "string",
                            "description": "JSON pointer to the failing field.",
                        },
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    },
    "WebhookBody": {
        "type": "object",
        "description": "The body of every webhook: the same bytes on every attempt.",
        "required": ["event_id", "event_type", "occurred_at", "data"],
        "properties": {
            "event_id": {"type": "string", "format": "uuid"},
            "event_type": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "model": {"type": ["string", "null"]},
            "record_id": {"type": ["integer", "null"]},
            "data": {"type": "object"},
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "type", "idempotency_key", "state"],
        "properties": {
            "id": {"type": "integer"},
            "type": {"type": "string"},
            "idempotency_key": {"type": "string"},
            "state": {
                "type": "string",
                "enum": [
                    "received",
                    "queued",
                    "processing",
                    "done",
                    "failed",
                    "dead",
                    "superseded",
                    "parked",
                    "cancelled",
                    "awaiting_approval",
                    "rejected",
                ],
            },
            "attempts": {"type": "integer"},
            "received_at": {"type": "string"},
            "processed_at": {"type": ["string", "null"]},
            "error": {"type": ["string", "null"]},
            "result": {
                "type": ["object", "null"],
                "properties": {
                    "model": {"type": "string"},
                    "ids": {"type": "array", "items": {"type": "integer"}},
                },
            },
            "links": {"type": "object"},
            "approval": {
                "type": "object",
                "description": "Present when the system's policy stages this event "
                "type for accounting approval; a rejection's comment is also sent "
                "as a '<type>.rejected' webhook.",
                "properties": {
                    "decision": {
                        "type": "string",
                        "enum": ["pending", "accepted", "rejected"],
                    },
                    "decided_at": {"type": ["string", "null"]},
                    "comment": {"type": ["string", "null"]},
                },
            },
        },
    },
    "OutboxMessage": {
        "type": "object",
        "description": "An outbound message sent (or to be sent) to this system.",
        "required": ["id", "event_type", "idempotency_key", "state"],
        "properties": {
            "id": {"type": "integer"},
            "event_type": {"type": "string"},
            "idempotency_key": {
                "type": "string",
                "description": "Sent as Idempotency-Key on every attempt.",
            },
            "state": {
                "type": "string",
                "enum": [
                    "pending",
                    "sending",
                    "retrying",
                    "done",
                    "failed",
                    "dead",
                    "cancelled",
                ],
            },
            "attempts": {"type": "integer"},
            "replay_count": {"type": "integer"},
            "created_at": {"type": ["string", "null"]},
            "last_attempt_at": {"type": ["string", "null"]},
            "sent_at": {"type": ["string", "null"]},
            "last_http_status": {"type": ["integer", "null"]},
            "last_error": {"type": ["string", "null"]},
            "record": {
                "type": ["object", "null"],
                "properties": {
                    "model": {"type": "string"},
                    "id": {"type": "integer"},
                },
            },
            "payload_purged": {"type": "boolean"},
            "payload": {
                "type": ["object", "null"],
                "description": "The JSON body sent (null once purged).",
            },
            "links": {"type": "object"},
        },
    },
    "OutboxPage": _page("OutboxMessage"),
    "EventPage": _page("Event"),
    "BatchResult": {
        "type": "object",
        "required": ["batch", "items"],
        "properties": {
            "batch": {"type": "string"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["index", "status"],
                    "properties": {
                        "index": {"type": "integer"},
                        "event_id": {"type": ["string", "null"]},
                        "status": {"type": "integer"},
                        "event": _ref("Event"),
                        "errors": {"type": "array"},
                    },
                },
            },
        },
    },
}


def _payload_schema(event_type):
    schema = copy.deepcopy(event_type.load_schema())
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return schema


def _outbox_paths():
    message_id = _parameter("message_id", "path", {"type": "integer"}, required=True)
    not_found = _problem_response("Not an outbound message of this system")
    return {
        f"{PREFIX}/outbox": {
            "get": {
                "operationId": "list_outbox",
                "summary": "This system's outbound messages, newest first",
                "tags": ["outbox"],
                "parameters": LIST_PARAMETERS,
                "responses": {
                    "200": {
                        "description": "One page of messages",
                        "content": {"application/json": {"schema": _ref("OutboxPage")}},
                    },
                    "401": COMMON_ERRORS["401"],
                    "403": COMMON_ERRORS["403"],
                    "422": _problem_response("Unknown state or bad limit/offset"),
                },
            }
        },
        f"{PREFIX}/outbox/{{message_id}}": {
            "get": {
                "operationId": "get_outbox_message",
                "summary": "State, attempts and body of an outbound message",
                "tags": ["outbox"],
                "parameters": [message_id],
                "responses": {
                    "200": {
                        "description": "The message",
                        "content": {
                            "application/json": {"schema": _ref("OutboxMessage")}
                        },
                    },
                    "401": COMMON_ERRORS["401"],
                    "404": not_found,
                },
            }
        },
        f"{PREFIX}/outbox/{{message_id}}/replay": {
            "post": {
                "operationId": "replay_outbox_message",
                "summary": "Deliver a failed or dead message again (same "
                "idempotency key)",
                "tags": ["outbox"],
                "parameters": [message_id],
                "responses": {
                    "202": {
                        "description": "Queued for delivery again",
                        "content": {
                            "application/json": {"schema": _ref("OutboxMessage")}
                        },
                    },
                    "401": COMMON_ERRORS["401"],
                    "404": not_found,
                    "409": _problem_response("The message is not failed or dead"),
                    "429": COMMON_ERRORS["429"],
                },
            }
        },
    }


WEBHOOK_HEADERS = [
    _parameter(
        "Idempotency-Key",
        "header",
        {"type": "string"},
        description="The message's event_id, the same on every retry and replay: "
        "deduplicate on it (delivery is at least once).",
        required=True,
    ),
    _parameter("X-Construction-Event", "header", {"type": "string"}, required=True),
    _parameter(
        "X-Construction-Timestamp",
        "header",
        {"type": "string"},
        description="Unix time of this attempt.",
        required=True,
    ),
    _parameter(
        "X-Construction-Signature",
        "header",
        {"type": "string"},
        description="sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>'> with "
        "the system's signing secret; sent when the system has one.",
    ),
]

WEBHOOK_RESPONSES = {
    "2XX": {"description": "Delivered: the message is done."},
    "408": {"description": "Retried with backoff."},
    "429": {"description": "Retried with backoff."},
    "5XX": {
        "description": "Retried with backoff (so are timeouts and closed "
        "connections); dead after the retry budget."
    },
    "4XX": {
        "description": "Failed at once; the response body is kept for the "
        "operator, who can replay the message."
    },
}


def _webhooks(outbound_types):
    """One webhook per outbound event type: the envelope, its type fixed."""
    webhooks = {}
    for name in sorted(outbound_types):
        webhooks[name] = {
            "post": {
                "operationId": f"webhook_{name.replace('.', '_')}",
                "summary": outbound_types[name],
                "tags": ["webhooks"],
                "parameters": WEBHOOK_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "allOf": [
                                    _ref("WebhookBody"),
                                    {"properties": {"event_type": {"const": name}}},
                                ]
                            }
                        }
                    },
                },
                "responses": WEBHOOK_RESPONSES,
            }
        }
    return webhooks


def build_openapi(event_types, version="1.0.0", outbound_types=None):
    """The OpenAPI 3.1 document for ``{name: EventType}``, with the outbound
    ``{event type: when it is sent}`` as webhooks."""
    schemas = copy.deepcopy(STATIC_SCHEMAS)
    paths = {}
    for name in sorted(event_types):
        event_type = event_types[name]
        schemas[name] = _payload_schema(event_type)
        schemas[f"{name}.batch"] = {
            "type": "object",
            "required": ["events"],
            "properties": {
                "events": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["event_id", "payload"],
                        "properties": {
                            "event_id": {"type": "string", "maxLength": 255},
                            "payload": _ref(name),
                        },
                    },
                }
            },
        }
        paths[f"{PREFIX}/events/{name}"] = {
            "post": {
                "operationId": f"post_{name.replace('.', '_')}",
                "summary": event_type.summary or f"Send one {name} event",
                "tags": ["events"],
                "parameters": [
                    _parameter(
                        "Idempotency-Key",
                        "header",
                        {"type": "string", "maxLength": 255},
                        required=True,
                    ),
                    *SIGNATURE_HEADERS,
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(name)}},
                },
                "responses": {
                    "202": {
                        "description": "Accepted and queued",
                        "content": {"application/json": {"schema": _ref("Event")}},
                    },
                    "200": {
                        "description": "Already received (same key, same body)",
                        "content": {"application/json": {"schema": _ref("Event")}},
                    },
                    "400": _problem_response("Malformed JSON or key missing"),
                    "409": _problem_response("Key already used with another body"),
                    **COMMON_ERRORS,
                },
            }
        }
        paths[f"{PREFIX}/events/{name}/batch"] = {
            "post": {
                "operationId": f"post_{name.replace('.', '_')}_batch",
                "summary": f"Send several {name} events; each item answers alone",
                "tags": ["events"],
                "parameters": list(SIGNATURE_HEADERS),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(f"{name}.batch")}},
                },
                "responses": {
                    "207": {
                        "description": "Multi-status: one status per item",
                        "content": {
                            "application/json": {"schema": _ref("BatchResult")}
                        },
                    },
                    "400": _problem_response("Malformed JSON"),
                    **COMMON_ERRORS,
                },
            }
        }
    paths[f"{PREFIX}/events"] = {
        "get": {
            "operationId": "list_events",
            "summary": "This system's inbound events, newest first (e.g. the failed "
            "ones to fix and replay, or all versions of one entity)",
            "tags": ["events"],
            "parameters": [
                *LIST_PARAMETERS,
                _parameter(
                    "external_id",
                    "query",
                    {"type": "string"},
                    description="Events of the entity with this external id.",
                ),
            ],
            "responses": {
                "200": {
                    "description": "One page of events",
                    "content": {"application/json": {"schema": _ref("EventPage")}},
                },
                "422": _problem_response("Unknown state or bad limit/offset"),
            },
        }
    }
    event_id = _parameter("event_id", "path", {"type": "integer"}, required=True)
    paths[f"{PREFIX}/events/{{event_id}}"] = {
        "get": {
            "operationId": "get_event",
            "summary": "State, attempts, error and resulting records of an event",
            "tags": ["events"],
            "parameters": [event_id],
            "responses": {
                "200": {
                    "description": "The event",
                    "content": {"application/json": {"schema": _ref("Event")}},
                },
                "401": COMMON_ERRORS["401"],
                "403": COMMON_ERRORS["403"],
                "404": _problem_response("Not an event of this system"),
            },
        }
    }
    paths[f"{PREFIX}/events/{{event_id}}/replay"] = {
        "post": {
            "operationId": "replay_event",
            "summary": "Replay a failed or dead event",
            "tags": ["events"],
            "parameters": [event_id],
            "responses": {
                "202": {
                    "description": "Queued again",
                    "content": {"application/json": {"schema": _ref("Event")}},
                },
                "401": COMMON_ERRORS["401"],
                "403": COMMON_ERRORS["403"],
                "404": _problem_response("Not an event of this system"),
                "409": _problem_response("The event is not failed or dead"),
                "429": COMMON_ERRORS["429"],
            },
        }
    }
    paths.update(_outbox_paths())
    _add_reconciliation_paths(paths, schemas)
    _add_health_path(paths)
    for operations in paths.values():
        for operation in operations.values():
            # every operation authenticates first, and every authenticated request
            # (refused or not, read or write) counts toward the rate limit
            for status in ("401", "403", "429"):
                operation["responses"].setdefault(status, COMMON_ERRORS[status])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Construction suite integration API",
            "version": version,
            "description": "Inbound events from external systems. Authenticate with "
            "an Odoo API key of the system's integration user as a bearer token. "
            "When the system has a rate limit, every authenticated answer carries "
            "RateLimit-Limit (requests per minute), RateLimit-Remaining and "
            "RateLimit-Reset (seconds until the minute ends).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "events"},
            {"name": "outbox"},
            {"name": "reconciliation"},
            {"name": "monitoring"},
            {
                "name": "webhooks",
                "description": "What Odoo POSTs to a system's outbound URL, for "
                "the event types it subscribes to.",
            },
        ],
        "paths": paths,
        "webhooks": _webhooks(outbound_types or {}),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An Odoo API key (res.users.apikeys).",
                }
            },
        },
    }


def _add_health_path(paths):
    counts = {"type": "integer", "minimum": 0}
    age = {"type": ["integer", "null"], "minimum": 0}
    paths[f"{PREFIX}/health"] = {
        "get": {
            "operationId": "get_health",
            "summary": "Queue depth, oldest pending age and failure counts of "
            "this system's inbox and outbox",
            "tags": ["monitoring"],
            "responses": {
                "200": {
                    "description": "'attention' when anything failed or died",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["status", "inbox", "outbox"],
                                "properties": {
                                    "status": {"enum": ["ok", "attention"]},
                                    "checked_at": {"type": "string"},
                                    "backend": {"type": "object"},
                                    "inbox": {
                                        "type": "object",
                                        "properties": {
                                            "queued": counts,
                                            "parked": counts,
                                            "awaiting_approval": counts,
                                            "failed": counts,
                                            "dead": counts,
                                            "oldest_pending_age_seconds": age,
                                        },
                                    },
                                    "outbox": {
                                        "type": "object",
                                        "properties": {
                                            "pending": counts,
                                            "retrying": counts,
                                            "failed": counts,
                                            "dead": counts,
                                            "oldest_pending_age_seconds": age,
                                        },
                                    },
                                },
                            }
                        }
                    },
                }
            },
        }
    }


def _add_reconciliation_paths(paths, schemas):
    schemas["ReconciliationSnapshot"] = _payload_schema(RECONCILIATION_SNAPSHOT)
    schemas["ReconciliationSnapshotResult"] = {
        "type": "object",
        "required": ["id", "as_of", "lines"],
        "properties": {
            "id": {"type": "integer"},
            "as_of": {"type": "string"},
            "source": {"type": ["string", "null"]},
            "lines": {"type": "integer"},
            "run": {
                "type": "object",
                "description": "Present when reconcile was true.",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "state": {"type": "string", "enum": ["done", "failed"]},
                    "compared": {"type": "integer"},
                    "opened": {"type": "integer"},
                    "updated": {"type": "integer"},
                    "closed": {"type": "integer"},
                    "open": {"type": "integer"},
                },
            },
        },
    }
    paths[f"{PREFIX}/reconciliation/snapshot"] = {
        "post": {
            "operationId": "post_reconciliation_snapshot",
            "summary": "Report the external totals per project, cost code and metric",
            "description": "Stored as the latest snapshot of each project it covers; "
            "the nightly reconciliation compares it with Odoo's figures. Unknown "
            "projects or cost codes answer 422 listing them, and nothing is stored.",
            "tags": ["reconciliation"],
            "parameters": list(SIGNATURE_HEADERS),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _ref("ReconciliationSnapshot")}
                },
            },
            "responses": {
                "201": {
                    "description": "Stored (and reconciled when asked)",
                    "content": {
                        "application/json": {
                            "schema": _ref("ReconciliationSnapshotResult")
                        }
                    },
                },
                "400": _problem_response("Malformed JSON"),
                "409": _problem_response("A reconciliation is already running"),
                **{
                    status: response
                    for status, response in COMMON_ERRORS.items()
                    if status != "404"
                },
                "422": _problem_response(
                    "Validation failed, or unknown project or cost code (see errors)"
                ),
            },
        }
    }
