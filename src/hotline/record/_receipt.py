"""Receipts: the receiver's signed, cumulative "stored up to here" (docs/record-format.md §6).

    receipt_message = line_id (64) || u8 direction || u64 seq || envelope_hash (64)
                      || u64 receipted_at || own (ref: u64 seq || hash)
    receipt         = receipt_message || sig (LABEL_RECEIPT, by the station *receiving* direction)

A receipt is persisted with the envelopes it covers, in one transaction, and only then sent. It
is never re-signed (ML-DSA is randomized: a second signature would be a second, different
receipt): after a crash it is re-sent as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hotline.constants import LABEL_RECEIPT, RECORD_HASH_LEN
from hotline.signatures import HYBRID_SIGNATURE_LEN, HybridSignature

from ._buffer import Reader, Writer, as_code, check_u64
from ._codes import Direction
from ._errors import MalformedError
from ._hashing import ChainRef, check_hash
from ._signed import UNSIGNED, SignedItem, Signer, pull_signature

#: line id, direction, seq, envelope hash, receipted_at, own ref.
RECEIPT_MESSAGE_LEN: Final = 64 + 1 + 8 + RECORD_HASH_LEN + 8 + (8 + RECORD_HASH_LEN)
RECEIPT_LEN: Final = RECEIPT_MESSAGE_LEN + HYBRID_SIGNATURE_LEN


@dataclass(frozen=True, slots=True)
class Receipt(SignedItem):
    """A signed, cumulative receipt for one direction.

    Attributes:
        line_id: the line's id.
        direction: the receipted direction (sent by the peer of the signer).
        seq: every envelope up to this one is stored (≥ 1).
        envelope_hash: the hash the receiver holds at ``seq``.
        receipted_at_ms: the receiver's clock when it committed (UTC ms).
        own: the receiver's own latest envelope (of the other direction) at that moment.
        signature: under ``LABEL_RECEIPT``, by the receiving station.

    Raises:
        MalformedError: (on construction) a field breaks its rule.
    """

    LABEL = LABEL_RECEIPT

    line_id: bytes
    direction: Direction
    seq: int
    envelope_hash: bytes
    receipted_at_ms: int
    own: ChainRef
    signature: HybridSignature

    def __post_init__(self) -> None:
        check_hash(self.line_id, "line id")
        object.__setattr__(self, "direction", as_code(Direction, self.direction, "direction"))
        check_u64(self.seq, "seq")
        if self.seq == 0:
            raise MalformedError("a receipt covers at least envelope 1")
        check_hash(self.envelope_hash, "envelope hash")
        check_u64(self.receipted_at_ms, "receipt time")

    def __repr__(self) -> str:
        return f"Receipt({self.direction.name} up to #{self.seq}, own #{self.own.seq})"

    @classmethod
    def create(
        cls,
        signer: Signer,
        *,
        line_id: bytes,
        direction: Direction,
        received: ChainRef,
        receipted_at_ms: int,
        own: ChainRef,
    ) -> Receipt:
        """Sign a receipt for the envelopes of ``direction`` up to ``received``.

        Raises:
            MalformedError: a field breaks its rule (``received`` is ``GENESIS``, say).
        """
        unsigned = cls(
            line_id, direction, received.seq, received.hash, receipted_at_ms, own, UNSIGNED
        )
        return unsigned.signed_by(signer)

    @property
    def ref(self) -> ChainRef:
        """The receipted position."""
        return ChainRef(self.seq, self.envelope_hash)

    def message(self) -> bytes:
        """Return the signed bytes (217)."""
        writer = Writer()
        writer.push_bytes(self.line_id)
        writer.push_u8(self.direction)
        writer.push_u64(self.seq)
        writer.push_bytes(self.envelope_hash)
        writer.push_u64(self.receipted_at_ms)
        self.own.push(writer)
        return writer.data

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        """Decode a receipt (the signature is *not* checked: see :meth:`verify`).

        Raises:
            MalformedError: not exactly 4908 bytes, or a field breaks its rule.
            UnknownValueError: an unknown direction.
        """
        if len(data) != RECEIPT_LEN:
            raise MalformedError(f"a receipt is {RECEIPT_LEN} bytes, not {len(data)}")
        reader = Reader(data, "receipt")
        receipt = cls(
            line_id=reader.pull_bytes(RECORD_HASH_LEN),
            direction=reader.pull_code(Direction, "direction"),
            seq=reader.pull_u64(),
            envelope_hash=reader.pull_bytes(RECORD_HASH_LEN),
            receipted_at_ms=reader.pull_u64(),
            own=ChainRef.pull(reader),
            signature=pull_signature(reader),
        )
        reader.finish()
        return receipt
