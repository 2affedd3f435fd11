"""What an :class:`~hotline.delivery.Exchange` asks its station to do, one event per decision.

The exchange decides; the station acts (commits, signs, sends, raises alarms). Each event names
one durable step of docs/protocol.md §4, so a crash between two of them is always one of the
cases that protocol was written for.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.record import (
    ChainHead,
    ChainRef,
    Direction,
    Envelope,
    Nack,
    Receipt,
    RejectionError,
    Subject,
)


@dataclass(frozen=True, slots=True)
class Synced:
    """The peer's SYNC arrived and the two stores agree: resend after ``resend_after`` (the
    peer's ``received``), then the checkpoints we proposed above ``checkpoint`` (the peer's
    SYNC ``checkpoint``, §4.10), then sequence (§4.3 case 3)."""

    resend_after: int
    checkpoint: int


@dataclass(frozen=True, slots=True)
class Deliverable:
    """Envelopes of the peer's direction a verified head now covers: commit them with their
    heads and one new receipt, then send that receipt (§4.5)."""

    envelopes: tuple[Envelope, ...]
    heads: tuple[ChainHead, ...]


@dataclass(frozen=True, slots=True)
class Recovered:
    """Envelopes of this station's own direction learned back from the peer (§4.6): store them
    as its own and reconcile the outbox."""

    envelopes: tuple[Envelope, ...]
    heads: tuple[ChainHead, ...]


@dataclass(frozen=True, slots=True)
class ReceiptAccepted:
    """A verified receipt moves "delivered" forward to ``receipt.seq`` (§4.7)."""

    receipt: Receipt


@dataclass(frozen=True, slots=True)
class Refuse:
    """An item from the peer is refused: sign a NACK, halt ``direction``, send it (§4.8)."""

    subject: Subject
    direction: Direction
    error: RejectionError
    fallback_seq: int


@dataclass(frozen=True, slots=True)
class PeerRefused:
    """The peer refused something of ours with this verified NACK: halt the direction it names."""

    nack: Nack


@dataclass(frozen=True, slots=True)
class FetchRequested:
    """The peer lost part of its own chain: send it its envelopes from ``from_seq`` (§4.6)."""

    from_seq: int


@dataclass(frozen=True, slots=True)
class ChainsDisagree:
    """The peer holds another envelope at a seq of our own direction than we do (§4.3 b): send
    nothing this session and raise the alarm; nothing signed was refused, so no NACK.
    ``ours`` is None when our store holds nothing at that seq (it is damaged)."""

    ours: ChainRef | None
    theirs: ChainRef


@dataclass(frozen=True, slots=True)
class Resync:
    """Our own chain is whole again after a recovery: end this session in order, so that the
    next one's SYNC makes the peer resend what this one had to drop (rule 4 of the exchange)."""

    text: str


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer broke the exchange (a second SYNC, a forged NACK): close the session."""

    text: str


Event = (
    Synced
    | Deliverable
    | Recovered
    | ReceiptAccepted
    | Refuse
    | PeerRefused
    | FetchRequested
    | ChainsDisagree
    | Resync
    | ProtocolViolation
)
