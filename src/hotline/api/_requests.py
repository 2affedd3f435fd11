"""Strict parsing of what clients send: one JSON object, known fields, every value checked.

The API is the boundary where an operator's (or a script's) input enters the daemon, so it
accepts one spelling of each request and refuses everything else with a typed error that
names the field:

- a body is at most :data:`MAX_REQUEST_BODY` bytes of UTF-8 holding one JSON object, with no
  duplicate key and no ``NaN``/``Infinity`` (which JSON does not have);
- unknown fields and unknown query parameters are refused, not ignored: a misspelt
  ``precedance`` must not quietly send a FLASH message as ROUTINE;
- texts are 1 to ``MAX_TEXT_LEN`` bytes of UTF-8 (bytes, not characters: Hebrew takes two per
  letter), without lone surrogates, which JSON can spell (``"\\ud800"``) but UTF-8 cannot.

The CLI checks the same rules with the same functions before it sends anything.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, NoReturn

from hotline.constants import MAX_ACK_NOTE_LEN, MAX_OPERATOR_NAME_LEN, MAX_TEXT_LEN
from hotline.identity import check_station_name
from hotline.record import Precedence

from ._errors import MalformedRequestError, RequestInvalidError
from ._views import PRECEDENCES, AckRequest, RecordQuery, SendRequest

#: An idempotency key is printable ASCII without spaces, at most this long: a UUID (36) or the
#: CLI's 32 hex digits fit, and a key never grows the store by much.
MAX_IDEMPOTENCY_KEY_LEN: Final = 64
#: 1 to 64 printable ASCII characters, no space (checked once per message of a batch).
_IDEMPOTENCY_KEY: Final = re.compile(rf"[!-~]{{1,{MAX_IDEMPOTENCY_KEY_LEN}}}")
#: The largest request body: the longest text written with JSON's longest escapes (``\\u0001``,
#: six characters for one byte), plus room for the other fields. Anything longer cannot be a
#: valid request, so it is refused before it is read whole.
MAX_REQUEST_BODY: Final = 6 * MAX_TEXT_LEN + 4096
#: Messages in one ``POST /v1/messages/batch``: a batch is one commit, one fsync.
MAX_BATCH_MESSAGES: Final = 1000
#: The largest batch body. 1000 of the longest messages would be some 360 MiB of JSON for
#: the daemon to hold at once, so a batch is bounded by size too: 4 MiB fits 1000 messages of
#: 1 KiB with any escaping, or 60 of the longest texts written plainly. Larger: 413.
MAX_BATCH_BODY: Final = 4 * 1024 * 1024

_SEND_FIELDS: Final = frozenset({"peer", "text", "precedence", "idempotency_key"})
_REQUIRED_SEND_FIELDS: Final = frozenset({"peer", "text", "idempotency_key"})
_BATCH_FIELDS: Final = frozenset({"messages"})
_ACK_FIELDS: Final = frozenset({"operator", "note"})
_RECORD_PARAMETERS: Final = frozenset({"from", "to", "redact_bodies"})
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS: Final = 86_400_000


def check_peer(name: str) -> str:
    """Return ``name`` if it can be a station name.

    Raises:
        RequestInvalidError: it cannot (empty, too long, characters outside ``a-z0-9._-``).
    """
    try:
        return check_station_name(name)
    except ValueError as exc:
        raise RequestInvalidError(f"peer: {exc}") from None


def check_text(text: str) -> str:
    """Return ``text`` if an envelope can carry it: 1 to ``MAX_TEXT_LEN`` bytes of UTF-8.

    Raises:
        RequestInvalidError: empty, too long, or holding a lone surrogate.
    """
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise RequestInvalidError(
            "text: not valid Unicode (it holds a lone surrogate, which UTF-8 cannot encode)"
        ) from None
    if size == 0:
        raise RequestInvalidError("text: a message cannot be empty")
    if size > MAX_TEXT_LEN:
        raise RequestInvalidError(
            f"text: {size} bytes of UTF-8, more than the {MAX_TEXT_LEN} a message can carry"
        )
    return text


def check_precedence(name: str) -> Precedence:
    """Return the precedence named ``name`` (``flash``, ``immediate``, ``priority``, ``routine``).

    Raises:
        RequestInvalidError: no precedence has that name.
    """
    if name not in PRECEDENCES:
        raise RequestInvalidError(f"precedence: {name!r} is not one of {', '.join(PRECEDENCES)}")
    return Precedence(PRECEDENCES.index(name))


def check_idempotency_key(key: str) -> str:
    """Return ``key`` if it is 1 to 64 printable ASCII characters without spaces.

    Raises:
        RequestInvalidError: it is not.
    """
    if _IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise RequestInvalidError(
            f"idempotency_key: 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
            " without spaces"
        )
    return key


def parse_send(body: bytes) -> SendRequest:
    """Parse the body of ``POST /v1/messages``.

    Raises:
        MalformedRequestError: not one JSON object in UTF-8.
        RequestInvalidError: a field is missing, unknown, of the wrong type or out of its rules.
    """
    return _send_request(_json_object(body), "")


def parse_ack(body: bytes) -> AckRequest:
    """Parse the body of ``POST /v1/inbox/{id}/ack``: ``{"operator": NAME, "note": TEXT}``.

    Raises:
        MalformedRequestError: not one JSON object in UTF-8.
        RequestInvalidError: no operator, an unknown field, a name or note out of its rules.
    """
    document = _json_object(body)
    _check_fields(document, _ACK_FIELDS, frozenset({"operator"}))
    return AckRequest(
        check_operator(_string(document, "operator")), check_note(_string(document, "note", ""))
    )


def check_operator(name: str) -> str:
    """Return ``name`` if an acknowledgement can carry it: 1 to 64 bytes of UTF-8, no control
    characters (it is shown to the other office as who acted).

    Raises:
        RequestInvalidError: it cannot.
    """
    size = len(name.encode("utf-8", "replace"))
    if not 1 <= size <= MAX_OPERATOR_NAME_LEN or not name.strip():
        raise RequestInvalidError(f"operator: 1 to {MAX_OPERATOR_NAME_LEN} bytes of UTF-8")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        raise RequestInvalidError("operator: no control or format characters")
    return name


def check_note(note: str) -> str:
    """Return ``note`` if an acknowledgement can carry it: at most 1,024 bytes of UTF-8.

    Raises:
        RequestInvalidError: too long, or a lone surrogate.
    """
    try:
        size = len(note.encode("utf-8"))
    except UnicodeEncodeError:
        raise RequestInvalidError("note: not valid Unicode") from None
    if size > MAX_ACK_NOTE_LEN:
        raise RequestInvalidError(f"note: at most {MAX_ACK_NOTE_LEN} bytes of UTF-8")
    return note


def parse_alarm_ack(body: bytes) -> str:
    """Parse the body of ``POST /v1/alarms/{id}/ack``: ``{"operator": NAME}``.

    Raises:
        MalformedRequestError: not one JSON object in UTF-8.
        RequestInvalidError: no operator, an unknown field, a bad name.
    """
    document = _json_object(body)
    _check_fields(document, frozenset({"operator"}), frozenset({"operator"}))
    return check_operator(_string(document, "operator"))


def parse_alarms_query(items: Sequence[tuple[str, str]]) -> bool:
    """Parse the query of ``GET /v1/alarms``: ``all=true`` includes the closed alarms.

    Raises:
        RequestInvalidError: an unknown or repeated parameter, ``all`` not true/false.
    """
    if any(name != "all" for name, _ in items) or len(items) > 1:
        raise RequestInvalidError("the only query parameter is all=true|false, once")
    value = items[0][1] if items else "false"
    if value not in ("true", "false"):
        raise RequestInvalidError("all: true or false")
    return value == "true"


def check_alarm_id(value: str) -> int:
    """Return the alarm number ``value`` names (1 to 2**63-1).

    Raises:
        RequestInvalidError: it is not one.
    """
    if not value.isascii() or not value.isdigit() or len(value) > 18 or int(value) < 1:
        raise RequestInvalidError("id: an alarm number is a positive whole number")
    return int(value)


def check_message_id(message_id: str) -> str:
    """Return ``message_id`` if it is 32 lowercase hex digits.

    Raises:
        RequestInvalidError: it is not.
    """
    if len(message_id) != 32 or any(c not in "0123456789abcdef" for c in message_id):
        raise RequestInvalidError("id: a message id is 32 lowercase hex digits")
    return message_id


def parse_send_batch(body: bytes) -> tuple[SendRequest, ...]:
    """Parse the body of ``POST /v1/messages/batch``: ``{"messages": [send, ...]}``.

    Each message obeys the rules of :func:`parse_send`; an error names the item
    (``messages[3].text: ...``), and one bad item refuses the whole batch.

    Raises:
        MalformedRequestError: not one JSON object in UTF-8.
        RequestInvalidError: no ``messages``, not 1 to ``MAX_BATCH_MESSAGES`` of them, an
            unknown field, or an item out of the rules of a send.
    """
    document = _json_object(body)
    _check_fields(document, _BATCH_FIELDS, _BATCH_FIELDS)
    items = document["messages"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH_MESSAGES:
        raise RequestInvalidError(f"messages: a list of 1 to {MAX_BATCH_MESSAGES} messages")
    requests = []
    for index, item in enumerate(items):
        where = f"messages[{index}]: "
        if not isinstance(item, dict):
            raise RequestInvalidError(f"{where}must be an object")
        requests.append(_send_request(item, where))
    return tuple(requests)


def _send_request(document: dict[str, Any], where: str) -> SendRequest:
    """One send's fields, checked; ``where`` (a batch item) prefixes every error."""
    try:
        _check_fields(document, _SEND_FIELDS, _REQUIRED_SEND_FIELDS)
        return SendRequest(
            peer=check_peer(_string(document, "peer")),
            text=check_text(_string(document, "text")),
            precedence=check_precedence(_string(document, "precedence", PRECEDENCES[0])),
            idempotency_key=check_idempotency_key(_string(document, "idempotency_key")),
        )
    except RequestInvalidError as exc:
        raise RequestInvalidError(f"{where}{exc}") from None


def _check_fields(
    document: dict[str, Any], known: frozenset[str], required: frozenset[str]
) -> None:
    unknown = sorted(set(document) - known)
    if unknown:
        raise RequestInvalidError(f"unknown field {unknown[0]!r}")
    missing = sorted(required - set(document))
    if missing:
        raise RequestInvalidError(f"{missing[0]}: required")


def parse_inbox_query(items: Sequence[tuple[str, str]]) -> tuple[str | None, str | None]:
    """Parse the query of ``GET /v1/inbox``: at most one ``peer`` and one ``after`` (an id).

    Raises:
        RequestInvalidError: an unknown or repeated parameter, a bad name or id.
    """
    after = [value for name, value in items if name == "after"]
    if len(after) > 1:
        raise RequestInvalidError("after: given more than once")
    peer = parse_peer_filter([(name, value) for name, value in items if name != "after"])
    return peer, None if not after else check_message_id(after[0])


def parse_peer_filter(items: Sequence[tuple[str, str]]) -> str | None:
    """Parse the query of ``GET /v1/outbox`` and ``GET /v1/inbox``: at most one ``peer``.

    Args:
        items: the query's ``(name, value)`` pairs, in order.

    Raises:
        RequestInvalidError: an unknown or repeated parameter, or a bad name.
    """
    peer: str | None = None
    for name, value in items:
        if name != "peer":
            raise RequestInvalidError(f"unknown query parameter {name!r}")
        if peer is not None:
            raise RequestInvalidError("peer: given more than once")
        peer = check_peer(value)
    return peer


def parse_record_query(items: Sequence[tuple[str, str]]) -> RecordQuery:
    """Parse the query of ``GET /v1/lines/{peer}/record``: ``from``, ``to``, ``redact_bodies``.

    Times are ISO 8601 with a time zone (``2026-12-05T10:00:00Z``, ``...+03:00``) or a date,
    which means the whole UTC day: from its first millisecond, to its last.

    Raises:
        RequestInvalidError: an unknown or repeated parameter, a time without a zone, a
            window that ends before it starts, ``redact_bodies`` not ``true``/``false``.
    """
    seen: dict[str, str] = {}
    for name, value in items:
        if name not in _RECORD_PARAMETERS:
            raise RequestInvalidError(f"unknown query parameter {name!r}")
        if name in seen:
            raise RequestInvalidError(f"{name}: given more than once")
        seen[name] = value
    redact = seen.get("redact_bodies", "false")
    if redact not in ("true", "false"):
        raise RequestInvalidError("redact_bodies: true or false")
    start = None if "from" not in seen else _time_ms("from", seen["from"], end_of_day=False)
    end = None if "to" not in seen else _time_ms("to", seen["to"], end_of_day=True)
    if start is not None and end is not None and start > end:
        raise RequestInvalidError("to: the window ends before it starts")
    return RecordQuery(start, end, redact == "true")


def _time_ms(name: str, value: str, *, end_of_day: bool) -> int:
    """UTC ms of an ISO 8601 time with a zone, or of a date's first (or last) millisecond."""
    try:
        if len(value) == len("2026-12-05"):
            moment = datetime.combine(date.fromisoformat(value), time.min, UTC)
            extra = _DAY_MS - 1 if end_of_day else 0
        else:
            moment = datetime.fromisoformat(value)
            extra = 0
    except ValueError:
        raise RequestInvalidError(
            f"{name}: not an ISO 8601 time or date ({value[:40]!r})"
        ) from None
    if moment.tzinfo is None:
        raise RequestInvalidError(f"{name}: give the time zone (Z or +hh:mm), not a bare time")
    ms = (moment - _EPOCH) // timedelta(milliseconds=1) + extra
    if ms < 0:
        raise RequestInvalidError(f"{name}: before 1970")
    return ms


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = exc.args[0] if isinstance(exc, _Duplicate) else "not JSON in UTF-8"
        raise MalformedRequestError(f"the request body is malformed: {reason}") from None
    if not isinstance(document, dict):
        raise MalformedRequestError("the request body is malformed: not a JSON object")
    return document


class _Duplicate(ValueError):
    """A JSON object with a key twice (``json`` would keep the last silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _Duplicate("a key appears twice in one object")
    return document


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _string(document: dict[str, Any], name: str, default: str | None = None) -> str:
    value = document.get(name, default)
    if not isinstance(value, str):
        raise RequestInvalidError(f"{name}: must be a string")
    return value
