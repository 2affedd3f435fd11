"""The OpenAPI document of the local API, written by hand next to the routes it describes.

It is the contract scripts and the console are written against, so it is kept as data rather
than generated from docstrings: a test checks that its paths and methods are exactly the
app's routes, and a schemathesis run checks every answer against it (tests/api). Served at
``GET /v1/openapi.json`` (behind the token, like every route). Prose: docs/api.md.
"""

from __future__ import annotations

from typing import Any, Final

from hotline import __version__
from hotline.constants import MAX_TEXT_LEN
from hotline.watch import AlarmKind

from ._requests import MAX_BATCH_BODY, MAX_BATCH_MESSAGES, MAX_IDEMPOTENCY_KEY_LEN
from ._views import PRECEDENCES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    """The error answers an operation documents, with the guard's (401, 403) and the HTTP
    server's (400: a request it cannot parse, such as a bad Transfer-Encoding) always."""
    reasons = {
        400: "the body is not one JSON object in UTF-8 (malformed_request), or the HTTP"
        " request itself is malformed (refused before the API: not JSON, not an Error)",
        401: "missing or wrong bearer token (unauthorized)",
        403: "a Host header other than 127.0.0.1:PORT or localhost:PORT (forbidden_host)",
        404: "no paired station has that name (peer_unknown), or no received message that id"
        " (message_unknown), or no alarm that number (alarm_unknown)",
        409: "the idempotency key already queued another message (idempotency_conflict);"
        " the line is not up, or the peer did not co-sign in time (line_unavailable)",
        413: "the body is longer than any valid request (too_large)",
        415: "the body is not application/json (unsupported_media_type)",
        422: "a field is missing, unknown, or breaks its rule (invalid_request)",
        503: "the store cannot be written or read: nothing changed (store_unavailable)",
    }
    answers = {str(status): _json(_ref("Error"), reasons[status]) for status in statuses}
    always = {str(s): _json(_ref("Error"), reasons[s]) for s in (401, 403)}
    return {"400": {"description": reasons[400]}, **answers, **always}


_PEER: Final = {
    "type": "string",
    "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$",
    "description": "A station name, as paired.",
}
_TIME: Final = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC."}
_PRECEDENCE: Final = {"type": "string", "enum": list(PRECEDENCES)}
_KIND: Final = {"type": "string", "enum": ["message", "test", "ack"]}
_PEER_FILTER: Final = {
    "name": "peer",
    "in": "query",
    "required": False,
    "schema": _PEER,
    "description": "Only this peer's messages.",
}

_QUEUED_REQUIRED: Final = ["id", "peer", "precedence", "state", "queued_at"]
_QUEUED_PROPERTIES: Final = {
    "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    "peer": {"type": "string"},
    "precedence": _PRECEDENCE,
    "state": {"type": "string", "enum": ["queued", "sequenced", "receipted"]},
    "queued_at": _TIME,
}

_NO_OPTIONS: Final = {
    "required": False,
    "description": "No body, or an empty object: the operation takes no options.",
    "content": {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": False, "maxProperties": 0}
        }
    },
}

_SCHEMAS: Final[dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "Stable, for scripts (docs/api.md)."},
                    "message": {"type": "string", "description": "One line, for people."},
                },
            }
        },
    },
    "Line": {
        "type": "object",
        "required": [
            "peer",
            "state",
            "path",
            "direction",
            "rtt_ms",
            "session_age_s",
            "up_for_s",
            "last_handshake",
            "rekeys",
            "rtt_last_ms",
            "loss",
            "clock_offset_ms",
            "path_state",
            "queued",
            "oldest_unreceipted",
            "last_test_received",
            "last_test_sent",
            "last_ack_by",
            "last_ack_seq",
            "last_ack_at",
        ],
        "properties": {
            "peer": {"type": "string"},
            "state": {"type": "string", "enum": ["connecting", "up", "down", "closed"]},
            "path": {"type": "string", "nullable": True},
            "direction": {"type": "string", "enum": ["in", "out"], "nullable": True},
            "rtt_ms": {"type": "number", "nullable": True},
            "session_age_s": {"type": "number", "nullable": True},
            "up_for_s": {"type": "number", "nullable": True},
            "last_handshake": {**_TIME, "nullable": True},
            "rekeys": {"type": "integer", "minimum": 0},
            "rtt_last_ms": {"type": "number", "nullable": True},
            "loss": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
            "clock_offset_ms": {
                "type": "number",
                "nullable": True,
                "description": "the peer's clock minus ours, from heartbeats",
            },
            "path_state": {"type": "string", "enum": ["up", "down"], "nullable": True},
            "queued": {
                "type": "integer",
                "minimum": 0,
                "description": "our messages to the peer not receipted yet",
            },
            "oldest_unreceipted": {**_TIME, "nullable": True},
            "last_test_received": {**_TIME, "nullable": True},
            "last_test_sent": {**_TIME, "nullable": True},
            "last_ack_by": {
                "type": "string",
                "nullable": True,
                "description": "who at the peer last acknowledged one of our messages",
            },
            "last_ack_seq": {"type": "integer", "minimum": 1, "nullable": True},
            "last_ack_at": {**_TIME, "nullable": True},
        },
    },
    "Status": {
        "type": "object",
        "required": ["station", "lines"],
        "properties": {
            "station": {"type": "string"},
            "lines": {"type": "array", "items": _ref("Line")},
            "alarms": {"type": "array", "items": _ref("Alarm")},
            "clock_synchronised": {"type": "boolean", "nullable": True},
        },
    },
    "SendRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["peer", "text", "idempotency_key"],
        "properties": {
            "peer": _PEER,
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TEXT_LEN,
                "description": f"1 to {MAX_TEXT_LEN} bytes of UTF-8 (bytes, not characters),"
                " without lone surrogates. Not normalised: sent as typed.",
            },
            "precedence": {**_PRECEDENCE, "default": PRECEDENCES[0]},
            "idempotency_key": {
                "type": "string",
                "pattern": f"^[!-~]{{1,{MAX_IDEMPOTENCY_KEY_LEN}}}$",
                "description": "Names this request for ever: the same key again returns the"
                " message it queued (200) and never queues twice.",
            },
        },
        "example": {
            "peer": "moscow",
            "text": "Привет, שלום",
            "precedence": "flash",
            "idempotency_key": "4f1c2b9a7d6e5f0a1b2c3d4e5f6a7b8c",
        },
    },
    "Queued": {
        "type": "object",
        "required": _QUEUED_REQUIRED,
        "properties": _QUEUED_PROPERTIES,
    },
    "SendBatchRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["messages"],
        "properties": {
            "messages": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH_MESSAGES,
                "items": _ref("SendRequest"),
                "description": f"1 to {MAX_BATCH_MESSAGES} messages, each as for a send; the"
                f" whole body at most {MAX_BATCH_BODY} bytes (else 413).",
            }
        },
        "example": {
            "messages": [
                {"peer": "moscow", "text": "Привет", "idempotency_key": "batch-1-0"},
                {
                    "peer": "moscow",
                    "text": "שלום",
                    "precedence": "flash",
                    "idempotency_key": "batch-1-1",
                },
            ]
        },
    },
    "QueuedBatch": {
        "type": "object",
        "required": ["messages"],
        "properties": {
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [*_QUEUED_REQUIRED, "created"],
                    "properties": {
                        **_QUEUED_PROPERTIES,
                        "created": {
                            "type": "boolean",
                            "description": "false: its idempotency key had queued it before.",
                        },
                    },
                },
                "description": "One per message of the request, in its order.",
            }
        },
    },
    "OutboxMessage": {
        "type": "object",
        "required": ["id", "peer", "seq", "precedence", "state", "text", "queued_at", "kind"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "peer": {"type": "string"},
            "seq": {"type": "integer", "minimum": 1, "nullable": True},
            "precedence": _PRECEDENCE,
            "state": {"type": "string", "enum": ["queued", "sequenced"]},
            "text": {"type": "string"},
            "queued_at": _TIME,
            "kind": _KIND,
        },
    },
    "InboxMessage": {
        "type": "object",
        "required": [
            "id",
            "peer",
            "seq",
            "precedence",
            "text",
            "sent_at",
            "received_at",
            "kind",
            "acknowledged_by",
            "acknowledged_at",
        ],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "peer": {"type": "string"},
            "seq": {"type": "integer", "minimum": 1},
            "precedence": _PRECEDENCE,
            "text": {"type": "string"},
            "sent_at": {**_TIME, "description": "When the sender sequenced it (its clock)."},
            "received_at": {**_TIME, "description": "When this station stored it."},
            "kind": {"type": "string", "enum": ["message", "test"]},
            "acknowledged_by": {
                "type": "string",
                "nullable": True,
                "description": "The operator here who acknowledged it (POST .../ack).",
            },
            "acknowledged_at": {**_TIME, "nullable": True},
        },
    },
    "Alarm": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "level",
            "peer",
            "text",
            "raised_at",
            "last_at",
            "count",
            "active",
            "cleared_at",
            "acked_by",
            "acked_at",
        ],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "kind": {
                "type": "string",
                "enum": [str(kind) for kind in AlarmKind],
            },
            "level": {"type": "string", "enum": ["flash", "immediate", "routine"]},
            "peer": {"type": "string", "nullable": True},
            "text": {"type": "string"},
            "raised_at": _TIME,
            "last_at": _TIME,
            "count": {"type": "integer", "minimum": 1},
            "active": {"type": "boolean"},
            "cleared_at": {**_TIME, "nullable": True},
            "acked_by": {"type": "string", "nullable": True},
            "acked_at": {**_TIME, "nullable": True},
        },
    },
    "AlarmAck": {
        "type": "object",
        "additionalProperties": False,
        "required": ["operator"],
        "properties": {"operator": {"type": "string", "minLength": 1, "maxLength": 64}},
        "example": {"operator": "Lt. Cohen"},
    },
    "AckRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["operator"],
        "properties": {
            "operator": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "Who acknowledges: 1 to 64 bytes of UTF-8, no control characters.",
            },
            "note": {"type": "string", "maxLength": 1024, "description": "At most 1,024 bytes."},
        },
        "example": {"operator": "Col. Ivanov", "note": "passed to the minister"},
    },
    "Ack": {
        "type": "object",
        "required": [
            "peer",
            "message_id",
            "seq",
            "operator",
            "note",
            "acknowledged_at",
            "received_at",
        ],
        "properties": {
            "peer": {"type": "string"},
            "message_id": {"type": "string", "description": "Our message's id."},
            "seq": {"type": "integer", "minimum": 1},
            "operator": {"type": "string"},
            "note": {"type": "string"},
            "acknowledged_at": {**_TIME, "description": "By the peer's clock."},
            "received_at": _TIME,
        },
    },
    "Resumed": {
        "type": "object",
        "required": ["peer", "lifted"],
        "properties": {
            "peer": {"type": "string"},
            "lifted": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2,
                "description": "Halted directions lifted: 0 when nothing was halted.",
            },
        },
    },
    "Checkpoint": {
        "type": "object",
        "required": ["peer", "number", "sent", "received", "proposed_at", "cosigned_at"],
        "properties": {
            "peer": {"type": "string"},
            "number": {"type": "integer", "minimum": 1},
            "sent": {"type": "integer", "minimum": 0, "description": "our last envelope fixed"},
            "received": {
                "type": "integer",
                "minimum": 0,
                "description": "the peer's last envelope fixed",
            },
            "proposed_at": {"type": "string", "description": "by our clock"},
            "cosigned_at": {"type": "string", "description": "by the peer's clock"},
        },
    },
}

#: The document, as served.
OPENAPI: Final[dict[str, Any]] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Hotline station API",
        "version": __version__,
        "description": "The local API of one Hotline station, on 127.0.0.1 only (docs/api.md).",
    },
    "security": [{"bearer": []}],
    "paths": {
        "/v1/status": {
            "get": {
                "operationId": "status",
                "summary": "The station's name and the state of every line.",
                "responses": {"200": _json(_ref("Status"), "the station"), **_errors()},
            }
        },
        "/v1/messages": {
            "post": {
                "operationId": "send",
                "summary": "Queue a message durably (committed to disk before the answer).",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SendRequest")}},
                },
                "responses": {
                    "201": _json(_ref("Queued"), "queued now"),
                    "200": _json(_ref("Queued"), "already queued with this idempotency key"),
                    **_errors(400, 404, 409, 413, 415, 422, 503),
                },
            }
        },
        "/v1/messages/batch": {
            "post": {
                "operationId": "send_batch",
                "summary": "Queue many messages in one commit (one fsync): all of them, or none.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SendBatchRequest")}},
                },
                "responses": {
                    "201": _json(_ref("QueuedBatch"), "queued now (at least one message)"),
                    "200": _json(_ref("QueuedBatch"), "every message already queued with its key"),
                    **_errors(400, 404, 409, 413, 415, 422, 503),
                },
            }
        },
        "/v1/outbox": {
            "get": {
                "operationId": "outbox",
                "summary": "Messages queued and not yet receipted, in sending order.",
                "parameters": [_PEER_FILTER],
                "responses": {
                    "200": _json({"type": "array", "items": _ref("OutboxMessage")}, "the outbox"),
                    **_errors(404, 422, 503),
                },
            }
        },
        "/v1/inbox": {
            "get": {
                "operationId": "inbox",
                "summary": "Messages received, in delivery order.",
                "parameters": [
                    _PEER_FILTER,
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                        "description": "Only those delivered after the received message with"
                        " this id (to follow the inbox); 404 message_unknown if none has it.",
                    },
                ],
                "responses": {
                    "200": _json({"type": "array", "items": _ref("InboxMessage")}, "the inbox"),
                    **_errors(404, 422, 503),
                },
            }
        },
        "/v1/inbox/{id}/ack": {
            "post": {
                "operationId": "ack",
                "summary": "Acknowledge a received message (seen and acted on) as a named"
                " operator: an ACK envelope, signed into the record, sent to its sender at the"
                " message's precedence. Once per message: the same operator and note again"
                " answers 200 with the same ACK.",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                        "example": "0123456789abcdef0123456789abcdef",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("AckRequest")}},
                },
                "responses": {
                    "201": _json(_ref("Queued"), "the ACK is queued (durable)"),
                    "200": _json(_ref("Queued"), "the same ACK was queued before"),
                    **_errors(400, 404, 409, 413, 415, 422, 503),
                },
            }
        },
        "/v1/acks": {
            "get": {
                "operationId": "acks",
                "summary": "The peers' acknowledgements of our messages, as they arrived.",
                "parameters": [_PEER_FILTER],
                "responses": {
                    "200": _json({"type": "array", "items": _ref("Ack")}, "the acknowledgements"),
                    **_errors(404, 422, 503),
                },
            }
        },
        "/v1/alarms": {
            "get": {
                "operationId": "alarms",
                "summary": "The alarms, newest first: open ones (standing, or over and not"
                " acknowledged), or all the station still holds with all=true.",
                "parameters": [
                    {
                        "name": "all",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["true", "false"]},
                    }
                ],
                "responses": {
                    "200": _json({"type": "array", "items": _ref("Alarm")}, "the alarms"),
                    **_errors(422),
                },
            }
        },
        "/v1/alarms/{id}/ack": {
            "post": {
                "operationId": "ackAlarm",
                "summary": "Acknowledge an alarm as a named operator; it stays listed while its"
                " condition holds.",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                        "example": 1,
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("AlarmAck")}},
                },
                "responses": {
                    "200": _json(_ref("Alarm"), "the alarm, acknowledged"),
                    **_errors(400, 404, 413, 415, 422),
                },
            }
        },
        "/v1/lines/{peer}/checkpoint": {
            "post": {
                "operationId": "checkpoint",
                "summary": "Have both stations sign a checkpoint of the line now"
                " (docs/record-format.md §8); answered once it is stored, or 409"
                " line_unavailable if the line is down or the peer does not co-sign in 10 s.",
                "parameters": [
                    {
                        "name": "peer",
                        "in": "path",
                        "required": True,
                        "schema": _PEER,
                        "example": "moscow",
                    }
                ],
                "requestBody": _NO_OPTIONS,
                "responses": {
                    "200": _json(_ref("Checkpoint"), "the checkpoint, signed by both and stored"),
                    **_errors(400, 404, 409, 413, 415, 422, 503),
                },
            }
        },
        "/v1/lines/{peer}/record": {
            "get": {
                "operationId": "record",
                "summary": "Export the line's record (docs/record-format.md §13): the envelopes"
                " sequenced in the window, their hash paths, receipts, NACKs and checkpoints."
                " Not verified by the daemon: verify it offline (hotline verify).",
                "parameters": [
                    {
                        "name": "peer",
                        "in": "path",
                        "required": True,
                        "schema": _PEER,
                        "example": "moscow",
                    },
                    {
                        "name": "from",
                        "in": "query",
                        "required": False,
                        "description": "the earliest send time: ISO 8601 with a zone, or a"
                        " date (UTC, its first millisecond); default: the line's start",
                        "schema": {"type": "string", "maxLength": 64},
                        "example": "2026-12-05T10:00:00Z",
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "description": "the latest send time, likewise (a date: its last"
                        " millisecond); default: the latest envelope stored (a peer's clock"
                        " may run ahead of ours)",
                        "schema": {"type": "string", "maxLength": 64},
                        "example": "2026-12-05",
                    },
                    {
                        "name": "redact_bodies",
                        "in": "query",
                        "required": False,
                        "description": "leave the bodies out; their hashes still verify",
                        "schema": {"type": "string", "enum": ["true", "false"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "the export file",
                        "content": {
                            "application/vnd.hotline.record": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    **_errors(400, 404, 422, 503),
                },
            }
        },
        "/v1/lines/{peer}/resume": {
            "post": {
                "operationId": "resume",
                "summary": "Lift the halted directions of a line, after investigating them"
                " (docs/operations.md); the line's session is closed and the next one resyncs.",
                "parameters": [
                    {
                        "name": "peer",
                        "in": "path",
                        "required": True,
                        "schema": _PEER,
                        "example": "moscow",
                    }
                ],
                "requestBody": _NO_OPTIONS,
                "responses": {
                    "200": _json(_ref("Resumed"), "the halts lifted (none, if none was halted)"),
                    **_errors(400, 404, 413, 415, 422, 503),
                },
            }
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.0"), **_errors()},
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "The 64 hex digits of <home>/api.token (mode 0600).",
            }
        },
        "schemas": _SCHEMAS,
    },
}
