"""The messages as the store takes and gives them: what to queue, what is queued (with its
state, read off the store), what was received, and the ACKs the peer's operators sent.

Plain values, made and read by :class:`~hotline.store.Messages`; what operators wrote never
reaches a log through their ``repr``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hotline.constants import MAX_TEXT_LEN
from hotline.record import AckBody, Direction, Kind, Precedence, RecordError, decode_body

from ._errors import StoreCorruptError


class OutboxState(enum.Enum):
    """Where a queued message is on its way: read off the queue, its envelope and its line's
    latest receipt (docs/api.md §4), never stored."""

    QUEUED = "queued"  #: durable, waiting to be sequenced
    SEQUENCED = "sequenced"  #: given its place (``seq``) in this station's chain
    RECEIPTED = "receipted"  #: the peer's signed receipt covers it: no longer in the outbox


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message the operator queued.

    Attributes:
        id: 32 hex digits, 128 random bits.
        line_id: the line to the peer.
        peer: the peer's station name when it was queued.
        precedence: FLASH goes first.
        text: what the operator wrote.
        queued_at_ms: when it became durable, UTC milliseconds.
        state: see :class:`OutboxState`.
        seq: its sequence number once sequenced, else ``None``.
        kind: a MESSAGE, a TEST, or an ACK (``text`` then says what it acknowledges).
    """

    id: str
    line_id: bytes
    peer: str
    precedence: Precedence
    text: str
    queued_at_ms: int
    state: OutboxState
    seq: int | None
    kind: Kind = Kind.MESSAGE

    def __repr__(self) -> str:
        # What operators wrote is sealed at rest: it never reaches a log through a repr.
        return f"OutboxMessage({self.id}, peer={self.peer!r}, state={self.state.value})"


@dataclass(frozen=True, slots=True)
class Queued:
    """What :meth:`Messages.queue` did.

    Attributes:
        message: the message the idempotency key names.
        created: ``False`` when the key had already queued it (a retry).
    """

    message: OutboxMessage
    created: bool


@dataclass(frozen=True, slots=True)
class ToQueue:
    """One message of :meth:`Messages.queue_many`: what :meth:`Messages.queue` takes.

    Attributes:
        line_id: the line to the peer (64 bytes).
        peer: the peer's station name.
        precedence: the message's precedence.
        text: 1 to ``MAX_TEXT_LEN`` bytes of UTF-8.
        idempotency_key: names this message's request (the API checks its form).
        kind: MESSAGE (the operator's), TEST (the scheduled test) or ACK.
        ack: the body of an ACK (``text`` is then :func:`ack_text` of it), else None.
    """

    line_id: bytes
    peer: str
    precedence: Precedence
    text: str
    idempotency_key: str
    kind: Kind = Kind.MESSAGE
    ack: AckBody | None = None

    def __post_init__(self) -> None:
        if (self.kind is Kind.ACK) != (self.ack is not None):
            raise ValueError("an ACK, and only an ACK, carries an acknowledgement body")

    @property
    def payload(self) -> bytes:
        """What is sealed in the outbox row: the text's UTF-8, or an ACK's body."""
        return _utf8(self.text) if self.ack is None else self.ack.encode()

    def __repr__(self) -> str:
        return f"ToQueue(peer={self.peer!r}, precedence={Precedence(self.precedence).name})"


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """A message received from a peer, delivered in order.

    Attributes:
        id: 32 hex digits, 128 random bits, given when it was stored.
        line_id: the line it came on.
        peer: the sender's station name.
        direction: the sender's direction of the line.
        seq: its sequence number in that direction.
        precedence: as the sender set it.
        text: what the sender's operator wrote.
        sent_at_ms: when the sender sequenced it, by the sender's clock, UTC milliseconds.
        received_at_ms: when this station stored it, by its own clock.
        kind: MESSAGE, or TEST (a scheduled test message).
        acked_by: the operator of this station who acknowledged it (``hotline ack``), or None.
        acked_at_ms: when that acknowledgement was queued, or None.
    """

    id: str
    line_id: bytes
    peer: str
    direction: Direction
    seq: int
    precedence: Precedence
    text: str
    sent_at_ms: int
    received_at_ms: int
    kind: Kind = Kind.MESSAGE
    acked_by: str | None = None
    acked_at_ms: int | None = None

    def __repr__(self) -> str:
        return f"InboxMessage({self.id}, peer={self.peer!r}, seq={self.seq})"


@dataclass(frozen=True, slots=True)
class AckReceived:
    """The peer's operator acknowledged one of our messages (an ACK envelope received).

    Attributes:
        peer: the peer's station name.
        message_id: the id of our message acknowledged (as ``send`` printed it).
        seq: its sequence number in our direction.
        operator: who acknowledged it, as the peer's operator gave the name.
        note: their note, possibly empty.
        acked_at_ms: when the peer sequenced the ACK, by its clock, UTC milliseconds.
        received_at_ms: when this station stored it, by its own.
    """

    peer: str
    message_id: str
    seq: int
    operator: str
    note: str
    acked_at_ms: int
    received_at_ms: int


def ack_text(body: AckBody) -> str:
    """One line saying what an ACK acknowledges: shown where a message's text would be."""
    note = f": {body.note}" if body.note else ""
    return f"ACK of #{body.acked.seq} by {body.operator}{note}"


def _utf8(text: str) -> bytes:
    """Return ``text`` as UTF-8 if an envelope can carry it (the API said why not, before)."""
    data = text.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    if not 1 <= len(data) <= MAX_TEXT_LEN:
        raise ValueError(f"a text is 1 to {MAX_TEXT_LEN} bytes of UTF-8, not {len(data)}")
    return data


def outbox_text(kind: Kind, payload: bytes) -> str:
    """The text of an opened outbox row: a message's or test's own, an ACK's one line.

    Raises:
        StoreCorruptError: an ACK row whose body does not decode (the clear ``kind`` column
            was altered: the sealed payload is the message's, bound to its row).
    """
    return payload.decode("utf-8") if kind is not Kind.ACK else ack_text(ack_body(payload))


def ack_body(payload: bytes) -> AckBody:
    """The ACK body sealed in an outbox row.

    Raises:
        StoreCorruptError: it does not decode as one.
    """
    try:
        body = decode_body(Kind.ACK, payload)
    except RecordError as exc:
        raise StoreCorruptError(f"the store's outbox ACK does not decode: {exc}") from None
    if not isinstance(body, AckBody):
        raise StoreCorruptError("the store's outbox ACK holds another body")
    return body
