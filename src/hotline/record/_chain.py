"""The hash chain of one direction: the sender's :class:`ChainWriter` and the rule both share.

Sequencing is the sender's durable commit (delivery, issue 7): it gives each envelope the next
``seq``, the previous hash and the cross-link, then signs one head over the batch. The writer is
that step's arithmetic, without the store: constructed from the stored tip, it builds envelopes
a :class:`~hotline.record.ChainValidator` accepts, and refuses to build any it would refuse.
"""

from __future__ import annotations

from collections.abc import Callable

from ._body import AckBody, Body
from ._codes import Direction, Kind, Precedence
from ._envelope import Envelope
from ._errors import CrossLinkError
from ._hashing import GENESIS, ChainRef
from ._head import ChainHead
from ._signed import Signer

#: The hash a chain holds at a sequence number, or None if it holds none there.
HashLookup = Callable[[int], bytes | None]


def _check_named(other: HashLookup, ref: ChainRef, what: str, envelope: Envelope) -> None:
    if other(ref.seq) != ref.hash:
        raise CrossLinkError(
            f"envelope {envelope.seq}'s {what} names #{ref.seq} {ref.hash[:8].hex()}…,"
            " which the other direction does not hold",
            seq=envelope.seq,
            item_hash=envelope.hash,
        )


def check_cross_link(previous: ChainRef, envelope: Envelope, other: HashLookup | None) -> None:
    """Check an envelope's cross-link, and an acknowledgement's reference, against the chain.

    The cross-link never goes back: its seq never decreases along the chain, and an equal seq
    has an equal hash. An ACK acknowledges only what its sender had received: ``acked.seq ≤
    cross.seq``. When the other direction's hashes are known (``other``), every new cross-link and
    every reference must name an envelope it holds, with that hash.

    Args:
        previous: the cross-link of the envelope before (``GENESIS`` for the first).
        envelope: the envelope to check (its body may be redacted: then only the header is).
        other: the other direction's hash at a seq, or None when it is not known here.

    Raises:
        CrossLinkError: any of these rules is broken.
    """
    cross = envelope.header.cross
    if cross.seq < previous.seq:
        raise CrossLinkError(
            f"envelope {envelope.seq}'s cross-link goes back from #{previous.seq} to #{cross.seq}",
            seq=envelope.seq,
            item_hash=envelope.hash,
        )
    if cross.seq == previous.seq and cross.hash != previous.hash:
        raise CrossLinkError(
            f"envelope {envelope.seq}'s cross-link names another #{cross.seq} than before",
            seq=envelope.seq,
            item_hash=envelope.hash,
        )
    if other is not None and cross.seq > previous.seq:
        _check_named(other, cross, "cross-link", envelope)
    if isinstance(envelope.body, AckBody):
        acked = envelope.body.acked
        if acked.seq > cross.seq or (acked.seq == cross.seq and acked.hash != cross.hash):
            raise CrossLinkError(
                f"envelope {envelope.seq} acknowledges #{acked.seq}, which its sender had not"
                f" received (its cross-link is #{cross.seq})",
                seq=envelope.seq,
                item_hash=envelope.hash,
            )
        if other is not None:
            _check_named(other, acked, "acknowledgement", envelope)


class ChainWriter:
    """The sender's side of one direction: numbers, links and signs its envelopes.

    Args:
        line_id: the line's id.
        direction: the direction this station sends.
        tip: the last envelope sequenced so far (from the store; ``GENESIS`` if none).
        cross: that envelope's cross-link (``GENESIS`` if none).
    """

    __slots__ = ("_cross", "_direction", "_line_id", "_tip")

    def __init__(
        self,
        line_id: bytes,
        direction: Direction,
        *,
        tip: ChainRef = GENESIS,
        cross: ChainRef = GENESIS,
    ) -> None:
        self._line_id = line_id
        self._direction = direction
        self._tip = tip
        self._cross = cross

    @property
    def tip(self) -> ChainRef:
        """The last envelope sequenced."""
        return self._tip

    def append(
        self,
        body: Body,
        *,
        kind: Kind,
        precedence: Precedence,
        queued_at_ms: int,
        sequenced_at_ms: int,
        cross: ChainRef,
    ) -> Envelope:
        """Sequence one message: the next seq, linked to the tip, cross-linked to ``cross``.

        Args:
            body: what the envelope carries.
            kind: MESSAGE or TEST for a :class:`MessageBody`, ACK for an :class:`AckBody`.
            precedence: the message's precedence.
            queued_at_ms: when it was queued (UTC ms).
            sequenced_at_ms: now (UTC ms).
            cross: the latest envelope of the other direction stored here.

        Returns:
            The envelope; the writer's tip moves to it.

        Raises:
            MalformedError: a field breaks its rule (a text too long, say).
            BodyMismatchError: the body does not suit ``kind``.
            CrossLinkError: ``cross`` goes back, or an ACK names what was not received.
        """
        envelope = Envelope.create(
            line_id=self._line_id,
            direction=self._direction,
            seq=self._tip.seq + 1,
            prev_hash=self._tip.hash,
            cross=cross,
            queued_at_ms=queued_at_ms,
            sequenced_at_ms=sequenced_at_ms,
            precedence=precedence,
            kind=kind,
            body=body,
        )
        check_cross_link(self._cross, envelope, None)
        self._tip, self._cross = envelope.header.ref, cross
        return envelope

    def sign_head(self, signer: Signer, signed_at_ms: int) -> ChainHead:
        """Sign the current tip, covering every envelope sequenced so far.

        Raises:
            ValueError: nothing was sequenced yet (there is no head to sign).
        """
        if self._tip == GENESIS:
            raise ValueError("no envelope was sequenced: there is no head to sign")
        return ChainHead.create(
            signer,
            line_id=self._line_id,
            direction=self._direction,
            head=self._tip,
            signed_at_ms=signed_at_ms,
        )
