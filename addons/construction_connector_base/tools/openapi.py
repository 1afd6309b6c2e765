"""OpenAPI 3.1 document of /api/construction/v1, built from the event-type registry
(the same JSON Schemas that validate requests)."""

import copy

PREFIX = "/api/construction/v1"


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _problem_response(description):
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


COMMON_ERRORS = {
    "401": _problem_response("Missing or invalid API key, or invalid signature"),
    "403": _problem_response("The key's system is inactive or in another company"),
    "404": _problem_response("Unknown event type for this system"),
    "413": _problem_response("Body larger than the configured limit"),
    "415": _problem_response("Body is not application/json"),
    "422": _problem_response("JSON Schema validation failed (see errors)"),
    "429": {
        "description": "Rate limit reached",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    },
}

SIGNATURE_HEADERS = [
    {
        "name": "X-Construction-Timestamp",
        "in": "header",
        "required": False,
        "description": "Unix time of signing; required when the system signs.",
        "schema": {"type": "string"},
    },
    {
        "name": "X-Construction-Signature",
        "in": "header",
        "required": False,
        "description": "sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>'>.",
        "schema": {"type": "string"},
    },
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
        },
    },
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


def build_openapi(event_types, version="1.0.0"):
    """The OpenAPI 3.1 document for ``{name: EventType}``."""
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
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 255},
                    },
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
    event_id = {
        "name": "event_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
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
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Construction suite integration API",
            "version": version,
            "description": "Inbound events from external systems. Authenticate with "
            "an Odoo API key of the system's integration user as a bearer token.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [{"name": "events"}],
        "paths": paths,
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
