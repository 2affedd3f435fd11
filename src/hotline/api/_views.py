"""What the API shows, and the narrow control surface the daemon hands it.

The API imports nothing of the daemon: the daemon implements :class:`Control` and passes it to
:func:`~hotline.api.make_app`. These views are the JSON contract of the API (docs/api.md) and
of the CLI's ``--json`` outputs; fields are only ever added, and the client ignores the ones
it does not know.
"""

from __future__ import annotations

import functools
from dataclasses import MISSING, Field, asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, Final, Protocol, Self, get_args, get_type_hints

from hotline.record import Precedence

from ._errors import ApiError

#: The precedences as the API spells them, lowest first (the index is the record's code).
PRECEDENCES: Final = tuple(precedence.name.lower() for precedence in Precedence)


@functools.lru_cache(maxsize=256)
def format_time_ms(ms: int) -> str:
    """Return UTC milliseconds since the epoch as ISO 8601 (``2026-11-25T10:29:15.574Z``).

    Cached: every message of a batch answer carries the same few times.
    """
    moment = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class LineView:
    """One line as the API reports it.

    Attributes:
        peer: the paired station's name.
        state: ``"up"``, ``"down"``, ``"connecting"`` (or ``"closed"`` while stopping).
        path: the remote ``host:port`` of the session, or ``None`` when not up.
        direction: ``"out"`` (we dialled) or ``"in"``, or ``None``.
        rtt_ms: last heartbeat round trip in milliseconds, or ``None``.
        session_age_s: seconds since the keys in use were established (0 again at each rekey).
        up_for_s: seconds since the session's first handshake.
        last_handshake: when the last handshake completed, ISO 8601 UTC, or ``None``.
        rekeys: rekeys completed on the current session.
        rtt_last_ms: the last heartbeat's round trip, or ``None``.
        loss: the fraction of the last 40 heartbeats unanswered (0 to 1), or ``None``.
        clock_offset_ms: how far the peer's clock is ahead of ours, measured from heartbeats
            (negative: behind), or ``None`` before enough were answered.
        path_state: ``"up"`` or ``"down"``: whether the session's path answers heartbeats in
            time (``None`` with no session).
        queued: our messages to the peer not receipted yet (queue depth).
        oldest_unreceipted: when the oldest of them was queued, or ``None``.
        last_test_received: when the peer's latest test message arrived, or ``None``.
        last_test_sent: when our latest test message to it was queued, or ``None``.
        last_ack_by: who, at the peer, last acknowledged one of our messages, or ``None``.
        last_ack_seq: the sequence number of that message of ours.
        last_ack_at: when they acknowledged it, by their clock, or ``None``.
    """

    peer: str
    state: str
    path: str | None
    direction: str | None
    rtt_ms: float | None
    session_age_s: float | None
    up_for_s: float | None
    last_handshake: str | None
    rekeys: int
    rtt_last_ms: float | None = None
    loss: float | None = None
    clock_offset_ms: float | None = None
    path_state: str | None = None
    queued: int = 0
    oldest_unreceipted: str | None = None
    last_test_received: str | None = None
    last_test_sent: str | None = None
    last_ack_by: str | None = None
    last_ack_seq: int | None = None
    last_ack_at: str | None = None


@dataclass(frozen=True, slots=True)
class StationStatus:
    """The answer of ``GET /v1/status``.

    Attributes:
        station: this station's name.
        lines: one entry per paired (not revoked) station, in pairing order.
        alarms: the open alarms (standing, or over but not acknowledged), newest first.
        clock_synchronised: whether the kernel says our clock is synchronised (``None``: it
            cannot tell).
    """

    station: str
    lines: tuple[LineView, ...]
    alarms: tuple[AlarmView, ...] = ()
    clock_synchronised: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object (lines and alarms as lists of objects)."""
        document = asdict(self)
        document["lines"] = [asdict(line) for line in self.lines]
        document["alarms"] = [alarm.to_json() for alarm in self.alarms]
        return document


@dataclass(frozen=True, slots=True)
class SendRequest:
    """``POST /v1/messages``, checked (docs/api.md): what the operator asks to queue.

    Attributes:
        peer: a paired station's name.
        text: 1 to ``MAX_TEXT_LEN`` bytes of UTF-8.
        precedence: FLASH goes first.
        idempotency_key: names this request: a retry with it never queues twice.
    """

    peer: str
    text: str
    precedence: Precedence
    idempotency_key: str

    def __repr__(self) -> str:
        # What operators write is sealed at rest: it never reaches a log through a repr.
        return f"SendRequest(peer={self.peer!r}, precedence={self.precedence.name})"


class _View:
    """JSON in and out for the frozen dataclasses below, typed by their own annotations."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object."""
        return {field.name: getattr(self, field.name) for field, _ in _field_types(type(self))}

    @classmethod
    def from_json(cls, document: object) -> Self:
        """Parse the daemon's JSON object (unknown fields are ignored: fields only get added).

        Raises:
            ApiError: a field is missing or has the wrong type.
        """
        if not isinstance(document, dict):
            raise ApiError(f"the daemon's answer is malformed (not a {cls.__name__} object)")
        values: dict[str, Any] = {}
        for field, types in _field_types(cls):
            if field.name not in document and field.default is not MISSING:
                values[field.name] = field.default  # added later: an older daemon lacks it
                continue
            value = document.get(field.name, ...)
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise ApiError(f"the daemon's answer is malformed ({cls.__name__}.{field.name})")
            values[field.name] = value
        return cls(**values)


#: Per view class, each field with the types its JSON value may have.
_FIELD_TYPES: Final[dict[type, tuple[tuple[Field[Any], tuple[type, ...]], ...]]] = {}


def _field_types(cls: type) -> tuple[tuple[Field[Any], tuple[type, ...]], ...]:
    """The fields of ``cls`` and their JSON types, worked out once per class: resolving
    annotations is slow (it compiles each one), and a batch answer holds a view per message."""
    known = _FIELD_TYPES.get(cls)
    if known is None:
        hints = get_type_hints(cls)
        known = _FIELD_TYPES[cls] = tuple(
            (field, get_args(hints[field.name]) or (hints[field.name],))  # str | None -> both
            for field in fields(cls)
        )
    return known


@dataclass(frozen=True, slots=True)
class QueuedView(_View):
    """The answer of ``POST /v1/messages``: the message is durably queued.

    Attributes:
        id: the message id, 32 hex digits.
        peer: the peer it is for.
        precedence: ``flash``, ``immediate``, ``priority`` or ``routine``.
        state: ``queued`` (later ``sequenced``, then ``receipted``: a retry may see these).
        queued_at: when it became durable, ISO 8601 UTC.
    """

    id: str
    peer: str
    precedence: str
    state: str
    queued_at: str


@dataclass(frozen=True, slots=True)
class SendResult:
    """What :meth:`Control.send` did.

    Attributes:
        message: the queued message.
        created: ``False`` when the idempotency key had already queued it (a retry).
    """

    message: QueuedView
    created: bool


@dataclass(frozen=True, slots=True)
class OutboxView(_View):
    """One message of ``GET /v1/outbox``: queued, not yet receipted by the peer.

    Attributes:
        id: the message id.
        peer: the peer it is for.
        seq: its sequence number once sequenced, else ``None``.
        precedence: its precedence name.
        state: ``queued`` or ``sequenced``.
        text: what the operator wrote (an acknowledgement: what it acknowledges).
        queued_at: when it became durable, ISO 8601 UTC.
        kind: ``message``, ``test`` (a scheduled test message) or ``ack``.
    """

    id: str
    peer: str
    seq: int | None
    precedence: str
    state: str
    text: str
    queued_at: str
    kind: str = "message"

    def __repr__(self) -> str:
        return f"OutboxView({self.id}, peer={self.peer!r}, state={self.state})"


@dataclass(frozen=True, slots=True)
class InboxView(_View):
    """One message of ``GET /v1/inbox``: received from a peer, in delivery order.

    Attributes:
        id: the message id on this station.
        peer: the sender.
        seq: its sequence number in the sender's direction of the line.
        precedence: its precedence name.
        text: what the sender's operator wrote.
        sent_at: when the sender sequenced it, by the sender's clock, ISO 8601 UTC.
        received_at: when this station stored it, by its own clock, ISO 8601 UTC.
        kind: ``message``, or ``test`` (a scheduled test message).
        acknowledged_by: the operator here who acknowledged it (``hotline ack``), or ``None``.
        acknowledged_at: when, ISO 8601 UTC, or ``None``.
    """

    id: str
    peer: str
    seq: int
    precedence: str
    text: str
    sent_at: str
    received_at: str
    kind: str = "message"
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None

    def __repr__(self) -> str:
        return f"InboxView({self.id}, peer={self.peer!r}, seq={self.seq})"


@dataclass(frozen=True, slots=True)
class ResumedView(_View):
    """The answer of ``POST /v1/lines/{peer}/resume``: the operator lifted the line's halts.

    Attributes:
        peer: the peer of the line.
        lifted: how many halted directions were lifted: 0 (nothing was halted), 1 or 2.
    """

    peer: str
    lifted: int


@dataclass(frozen=True, slots=True)
class AlarmView(_View):
    """One alarm (``GET /v1/alarms``, and ``alarms`` in the status).

    Attributes:
        id: its number on this station (for ``alarms ack``).
        kind: ``line_down``, ``test_overdue``, ``halted``, ``record``, ``clock_skew``,
            ``clock_unsynced``, ``unacknowledged`` or ``watch_failed``.
        level: ``flash``, ``immediate`` or ``routine``.
        peer: the line it concerns, or ``None`` (this station itself: its clock, its watch).
        text: one line for a person.
        raised_at: when it was first raised, ISO 8601 UTC.
        last_at: when it was last raised again.
        count: how many times it was raised while it stood (a flapping line counts up here).
        active: whether its condition still holds.
        cleared_at: when the condition ended, or ``None``.
        acked_by: the operator who acknowledged it, or ``None``.
        acked_at: when, or ``None``.
    """

    id: int
    kind: str
    level: str
    peer: str | None
    text: str
    raised_at: str
    last_at: str
    count: int
    active: bool
    cleared_at: str | None
    acked_by: str | None
    acked_at: str | None


@dataclass(frozen=True, slots=True)
class AckRequest:
    """``POST /v1/inbox/{id}/ack``, checked: who acknowledges, with an optional note."""

    operator: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class AckView(_View):
    """One acknowledgement the peer's operator sent for one of our messages (``GET /v1/acks``).

    Attributes:
        peer: the station that acknowledged.
        message_id: our message's id (empty if this station no longer holds it).
        seq: its sequence number in our direction.
        operator: who acknowledged it there.
        note: their note, possibly empty.
        acknowledged_at: when they sent the acknowledgement, by their clock, ISO 8601 UTC.
        received_at: when it was stored here.
    """

    peer: str
    message_id: str
    seq: int
    operator: str
    note: str
    acknowledged_at: str
    received_at: str


@dataclass(frozen=True, slots=True)
class CheckpointView(_View):
    """The answer of ``POST /v1/lines/{peer}/checkpoint``: a checkpoint both stations signed.

    Attributes:
        peer: the peer of the line.
        number: our count of the checkpoints we proposed on this line.
        sent: the last envelope of ours it fixes (0: none yet).
        received: the last envelope of the peer's it fixes.
        proposed_at: when we proposed it, by our clock (ISO 8601 UTC).
        cosigned_at: when the peer co-signed it, by its clock.
    """

    peer: str
    number: int
    sent: int
    received: int
    proposed_at: str
    cosigned_at: str


@dataclass(frozen=True, slots=True)
class RecordQuery:
    """``GET /v1/lines/{peer}/record``, checked: which part of the record to export.

    Attributes:
        start_ms: the earliest ``sequenced_at`` exported (UTC ms), or None from the start.
        end_ms: the latest, or None up to now.
        redact_bodies: whether the bodies are left out (their hashes still verify).
    """

    start_ms: int | None = None
    end_ms: int | None = None
    redact_bodies: bool = False


class Control(Protocol):
    """What the API may ask of the daemon.

    The message methods and ``resume`` raise the errors of :mod:`hotline.api` that carry a
    ``code`` (:class:`PeerUnknownError`, :class:`IdempotencyConflictError`,
    :class:`StoreUnavailableError`, :class:`RequestInvalidError`); the app answers each with
    its status.
    """

    def status(self) -> StationStatus:
        """Return the station's name and the state of every line."""

    async def send(self, request: SendRequest) -> SendResult:
        """Queue a message durably (committed before returning), or find its key's message."""

    async def send_batch(self, requests: tuple[SendRequest, ...]) -> tuple[SendResult, ...]:
        """Queue many messages in one commit, all or none; one result per request, in order."""

    async def outbox(self, peer: str | None) -> tuple[OutboxView, ...]:
        """Return the messages not yet receipted, in sending order (one peer's, if given)."""

    async def inbox(self, peer: str | None, after: str | None = None) -> tuple[InboxView, ...]:
        """Return the messages received, in delivery order (one peer's, if given; only those
        after the message ``after``, if given)."""

    async def record(self, peer: str, query: RecordQuery) -> bytes:
        """Return an export of the line's record (docs/record-format.md §13)."""

    async def ack(self, message_id: str, request: AckRequest) -> SendResult:
        """Queue the acknowledgement of a received message; once per message."""

    async def acks(self, peer: str | None) -> tuple[AckView, ...]:
        """Return the peers' acknowledgements of our messages, as they arrived."""

    def alarms(self, include_closed: bool) -> tuple[AlarmView, ...]:
        """Return the alarms, newest first: the open ones, or all the station still holds."""

    def ack_alarm(self, alarm_id: int, operator: str) -> AlarmView:
        """Acknowledge an alarm as ``operator``; raise :class:`AlarmUnknownError` if none."""

    async def checkpoint(self, peer: str) -> CheckpointView:
        """Propose a checkpoint on the line now; return it once both stations signed it."""

    async def resume(self, peer: str) -> int:
        """Lift the halted directions of the line to ``peer``; return how many (0, 1 or 2).

        Only an operator lifts a halt, after investigating it (docs/operations.md): the line's
        session is closed, so the next one resyncs from the store.
        """
