"""Delivery frames: the session frames that move a line's record (docs/protocol.md §4.1).

    SYNC      0x10  sent (ref) || received (ref) || u64 checkpoint       152 bytes
    ENVELOPES 0x11  u16 count || count x (u32 len || envelope)           up to one frame
    HEAD      0x12  one chain head                                       CHAIN_HEAD_LEN
    RECEIPT   0x13  one receipt                                          RECEIPT_LEN
    NACK      0x14  one NACK                                             1..MAX_NACK_LEN
    FETCH     0x15  u64 from_seq                                         8 bytes
    CK_PROPOSE      0x16  checkpoint body (cosigned_at 0)                233 bytes
    CK_COSIGN       0x17  u8 proposer || u64 number || u64 cosigned_at || sig
    CK_COUNTERSIGN  0x18  u8 proposer || u64 number || sig
    CK_RESEND       0x19  one checkpoint both signed                     CHECKPOINT_LEN

The codec checks only the layout. The items inside (envelopes, heads, receipts, NACKs) stay raw
bytes here: the exchange decodes them, so that a bad item is refused with a signed NACK and its
direction halted (a record matter), while a bad layout is a ``FrameError`` that closes the
session (a session matter).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Final, Self

from hotline.constants import (
    FRAME_CHECKPOINT_COSIGN,
    FRAME_CHECKPOINT_COUNTERSIGN,
    FRAME_CHECKPOINT_PROPOSE,
    FRAME_CHECKPOINT_RESEND,
    FRAME_ENVELOPES,
    FRAME_FETCH,
    FRAME_HEAD,
    FRAME_NACK,
    FRAME_RECEIPT,
    FRAME_SYNC,
    MAX_FRAME_BODY_LEN,
    RECORD_HASH_LEN,
)
from hotline.record import (
    CHAIN_HEAD_LEN,
    CHECKPOINT_BODY_LEN,
    CHECKPOINT_LEN,
    MAX_CHECKPOINT_NUMBER,
    MAX_ENVELOPE_LEN,
    MAX_NACK_LEN,
    RECEIPT_LEN,
    ChainRef,
    Direction,
    MalformedError,
)
from hotline.session import (
    SESSION_FRAMES,
    Frame,
    FrameError,
    FrameReader,
    LocalProtocolError,
)
from hotline.signatures import HYBRID_SIGNATURE_LEN, HybridSignature

_U64_MAX: Final = 2**64 - 1
#: A ref on the wire: ``u64 seq || hash``.
_REF_LEN: Final = 8 + RECORD_HASH_LEN
#: ENVELOPES: the ``u16`` count before the items, the ``u32`` length before each item.
_COUNT_LEN: Final = 2
_ITEM_LEN_LEN: Final = 4


def _ref_bytes(ref: ChainRef) -> bytes:
    return ref.seq.to_bytes(8, "big") + ref.hash


def _pull_ref(reader: FrameReader) -> ChainRef:
    seq = reader.pull_u64()
    digest = reader.pull_bytes(RECORD_HASH_LEN)
    try:
        return ChainRef(seq, digest)
    except MalformedError as exc:
        raise FrameError(f"SYNC: {exc}") from None


@dataclass(frozen=True, slots=True)
class Sync(Frame):
    """Each side's first delivery frame: where both chains stand in its store (§4.2-4.3).

    Attributes:
        sent: the sender's own latest stored envelope (``GENESIS`` if none).
        received: the latest envelope of the other direction the sender has stored.
        checkpoint: the highest number of a checkpoint the *other* station proposed that the
            sender has stored (0 if none): a station restored from an older copy of its store
            numbers its next proposal above it (§4.10).
    """

    TYPE: ClassVar[int] = FRAME_SYNC
    MAX_BODY: ClassVar[int] = 2 * _REF_LEN + 8

    sent: ChainRef
    received: ChainRef
    checkpoint: int = 0

    def encode_body(self) -> bytes:
        if not 0 <= self.checkpoint <= MAX_CHECKPOINT_NUMBER:
            raise LocalProtocolError(f"SYNC checkpoint is 0..2**53, not {self.checkpoint}")
        return (
            _ref_bytes(self.sent) + _ref_bytes(self.received) + self.checkpoint.to_bytes(8, "big")
        )

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        sent, received, checkpoint = _pull_ref(reader), _pull_ref(reader), reader.pull_u64()
        reader.end()
        if checkpoint > MAX_CHECKPOINT_NUMBER:
            raise FrameError(f"SYNC checkpoint {checkpoint} is beyond 2**53")
        return cls(sent, received, checkpoint)


@dataclass(frozen=True, slots=True)
class Envelopes(Frame):
    """Encoded envelopes of one direction, in chain order, as many as fit one frame.

    Attributes:
        items: each envelope's wire form (1..``MAX_ENVELOPE_LEN`` bytes), at least one.
    """

    TYPE: ClassVar[int] = FRAME_ENVELOPES
    MAX_BODY: ClassVar[int] = MAX_FRAME_BODY_LEN

    items: tuple[bytes, ...]

    def __repr__(self) -> str:  # envelopes carry the operators' text: sizes only
        return f"Envelopes({len(self.items)} items, {sum(map(len, self.items))} bytes)"

    def encode_body(self) -> bytes:
        if not self.items:
            raise LocalProtocolError("ENVELOPES holds at least one envelope")
        for item in self.items:
            _check_envelope_len(len(item), LocalProtocolError)
        if _body_len(self.items) > self.MAX_BODY:
            raise LocalProtocolError(f"ENVELOPES body exceeds {self.MAX_BODY} bytes")
        parts = [len(self.items).to_bytes(_COUNT_LEN, "big")]
        for item in self.items:
            parts += (len(item).to_bytes(_ITEM_LEN_LEN, "big"), item)
        return b"".join(parts)

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        count = reader.pull_u16()
        if count == 0:
            raise FrameError("ENVELOPES holds no envelope")
        items = []
        for _ in range(count):
            length = reader.pull_u32()
            _check_envelope_len(length, FrameError)
            items.append(reader.pull_bytes(length))
        reader.end()
        return cls(tuple(items))


def _check_envelope_len(length: int, error: type[Exception]) -> None:
    if not 1 <= length <= MAX_ENVELOPE_LEN:
        raise error(f"an envelope is 1..{MAX_ENVELOPE_LEN} bytes, not {length}")


def _body_len(items: Iterable[bytes]) -> int:
    """The ENVELOPES body that would carry ``items``: the count, then each length and item."""
    return _COUNT_LEN + sum(_ITEM_LEN_LEN + len(item) for item in items)


def pack_envelopes(items: Iterable[bytes]) -> list[Envelopes]:
    """Pack encoded envelopes, in order, into as few ENVELOPES frames as fit (greedy: each
    frame takes the next envelope while its body stays within ``MAX_FRAME_BODY_LEN``).

    No items give no frames. The largest envelope always fits a frame alone.

    Raises:
        ValueError: an item is empty or longer than ``MAX_ENVELOPE_LEN``.
    """
    frames: list[Envelopes] = []
    batch: list[bytes] = []
    size = _COUNT_LEN
    for item in items:
        _check_envelope_len(len(item), ValueError)
        cost = _ITEM_LEN_LEN + len(item)
        if batch and size + cost > MAX_FRAME_BODY_LEN:
            frames.append(Envelopes(tuple(batch)))
            batch, size = [], _COUNT_LEN
        batch.append(item)
        size += cost
    if batch:
        frames.append(Envelopes(tuple(batch)))
    return frames


@dataclass(frozen=True, slots=True)
class _Item(Frame):
    """The layout HEAD, RECEIPT and NACK share: one record item, raw, of a bounded size.

    Attributes:
        item: the item's encoding (``MIN_BODY``..``MAX_BODY`` bytes), decoded by the exchange.
    """

    MIN_BODY: ClassVar[int]

    item: bytes

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self.item)} bytes>)"

    def encode_body(self) -> bytes:
        if problem := self._size_problem(len(self.item)):
            raise LocalProtocolError(problem)
        return self.item

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        if problem := cls._size_problem(len(body)):
            raise FrameError(problem)
        return cls(body)

    @classmethod
    def _size_problem(cls, length: int) -> str | None:
        if cls.MIN_BODY <= length <= cls.MAX_BODY:
            return None
        low, high = cls.MIN_BODY, cls.MAX_BODY
        bounds = f"{low}" if low == high else f"{low}..{high}"
        return f"a {cls.__name__} body is {bounds} bytes, not {length}"


@dataclass(frozen=True, slots=True, repr=False)  # _Item's repr: sizes only
class HeadFrame(_Item):
    """One chain head of the sender's direction: after the envelopes it covers (§4.4)."""

    TYPE: ClassVar[int] = FRAME_HEAD
    MIN_BODY: ClassVar[int] = CHAIN_HEAD_LEN
    MAX_BODY: ClassVar[int] = CHAIN_HEAD_LEN


@dataclass(frozen=True, slots=True, repr=False)  # _Item's repr: sizes only
class ReceiptFrame(_Item):
    """One cumulative receipt for the peer's direction, as stored (never re-signed, §4.2)."""

    TYPE: ClassVar[int] = FRAME_RECEIPT
    MIN_BODY: ClassVar[int] = RECEIPT_LEN
    MAX_BODY: ClassVar[int] = RECEIPT_LEN


@dataclass(frozen=True, slots=True, repr=False)  # _Item's repr: sizes only
class NackFrame(_Item):
    """One signed refusal (§4.8); a NACK's text makes its size vary."""

    TYPE: ClassVar[int] = FRAME_NACK
    MIN_BODY: ClassVar[int] = 1
    MAX_BODY: ClassVar[int] = MAX_NACK_LEN


@dataclass(frozen=True, slots=True)
class Fetch(Frame):
    """A restored station asks for its own envelopes back, from ``from_seq`` on (§4.6).

    Attributes:
        from_seq: the first sequence number wanted (>= 1).
    """

    TYPE: ClassVar[int] = FRAME_FETCH
    MAX_BODY: ClassVar[int] = 8

    from_seq: int

    def encode_body(self) -> bytes:
        if not 1 <= self.from_seq <= _U64_MAX:
            raise LocalProtocolError(f"FETCH from_seq is 1..2**64-1, not {self.from_seq}")
        return self.from_seq.to_bytes(8, "big")

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        from_seq = reader.pull_u64()
        reader.end()
        if from_seq == 0:
            raise FrameError("FETCH from sequence number 0")
        return cls(from_seq)


@dataclass(frozen=True, slots=True, repr=False)  # _Item's repr: sizes only
class CheckpointProposal(_Item):
    """A checkpoint body with ``cosigned_at`` 0: the proposer asks for a co-signature (§4.10)."""

    TYPE: ClassVar[int] = FRAME_CHECKPOINT_PROPOSE
    MIN_BODY: ClassVar[int] = CHECKPOINT_BODY_LEN
    MAX_BODY: ClassVar[int] = CHECKPOINT_BODY_LEN


def _pull_name(reader: FrameReader) -> tuple[Direction, int]:
    proposer = reader.pull_u8()
    if proposer not in tuple(Direction):
        raise FrameError(f"unknown checkpoint proposer {proposer}")
    number = reader.pull_u64()
    if not 1 <= number <= MAX_CHECKPOINT_NUMBER:
        raise FrameError(f"checkpoints are numbered 1 to 2**53, not {number}")
    return Direction(proposer), number


def _name_bytes(proposer: Direction, number: int) -> bytes:
    if not 1 <= number <= MAX_CHECKPOINT_NUMBER:
        raise LocalProtocolError(f"checkpoints are numbered 1 to 2**53, not {number}")
    return bytes([proposer]) + number.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class CheckpointCosign(Frame):
    """The co-signer's answer: its time and its signature over the body with that time.

    Attributes:
        proposer, number: the checkpoint's name.
        cosigned_at_ms: the co-signer's clock.
        signature: over the body with ``cosigned_at`` filled in.
    """

    TYPE: ClassVar[int] = FRAME_CHECKPOINT_COSIGN
    MAX_BODY: ClassVar[int] = 1 + 8 + 8 + HYBRID_SIGNATURE_LEN

    proposer: Direction
    number: int
    cosigned_at_ms: int
    signature: HybridSignature

    def encode_body(self) -> bytes:
        if not 0 <= self.cosigned_at_ms <= _U64_MAX:
            raise LocalProtocolError("a co-signing time fits in 64 bits")
        name = _name_bytes(self.proposer, self.number)
        return name + self.cosigned_at_ms.to_bytes(8, "big") + self.signature.encode()

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        proposer, number = _pull_name(reader)
        cosigned_at = reader.pull_u64()
        signature = HybridSignature.decode(reader.pull_bytes(HYBRID_SIGNATURE_LEN))
        reader.end()
        return cls(proposer, number, cosigned_at, signature)


@dataclass(frozen=True, slots=True)
class CheckpointCountersign(Frame):
    """The proposer's signature over the co-signed body: the checkpoint is complete.

    Attributes:
        proposer, number: the checkpoint's name.
        signature: the proposer's, over the body the co-signer signed.
    """

    TYPE: ClassVar[int] = FRAME_CHECKPOINT_COUNTERSIGN
    MAX_BODY: ClassVar[int] = 1 + 8 + HYBRID_SIGNATURE_LEN

    proposer: Direction
    number: int
    signature: HybridSignature

    def encode_body(self) -> bytes:
        return _name_bytes(self.proposer, self.number) + self.signature.encode()

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        proposer, number = _pull_name(reader)
        signature = HybridSignature.decode(reader.pull_bytes(HYBRID_SIGNATURE_LEN))
        reader.end()
        return cls(proposer, number, signature)


@dataclass(frozen=True, slots=True, repr=False)  # _Item's repr: sizes only
class CheckpointResend(_Item):
    """A checkpoint both stations signed, sent again by its proposer at session start: the
    peer's SYNC says it lacks it (its counter-signature was lost with a session, §4.10)."""

    TYPE: ClassVar[int] = FRAME_CHECKPOINT_RESEND
    MIN_BODY: ClassVar[int] = CHECKPOINT_LEN
    MAX_BODY: ClassVar[int] = CHECKPOINT_LEN


#: The session's frames and the delivery frames: the codec of every line's sessions.
DELIVERY_FRAMES: Final = SESSION_FRAMES.extended(
    Sync,
    Envelopes,
    HeadFrame,
    ReceiptFrame,
    NackFrame,
    Fetch,
    CheckpointProposal,
    CheckpointCosign,
    CheckpointCountersign,
    CheckpointResend,
)
