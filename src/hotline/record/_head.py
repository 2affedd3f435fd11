"""Chain heads: the sender's signature over the latest envelope of its direction.

    head_message = line_id (64) || u8 direction || u64 seq || envelope_hash (64) || u64 signed_at
    chain_head   = head_message || sig (LABEL_CHAIN_HEAD, by the station sending ``direction``)

A head at ``seq`` covers every envelope ``1..seq`` of its direction, because each envelope
header holds the hash of the one before. The sender signs one head per sequencing commit, before
anything of that batch leaves (docs/record-format.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hotline.constants import LABEL_CHAIN_HEAD, RECORD_HASH_LEN
from hotline.signatures import HYBRID_SIGNATURE_LEN, HybridSignature

from ._buffer import Reader, Writer, as_code, check_u64
from ._codes import Direction
from ._errors import MalformedError
from ._hashing import ChainRef, check_hash
from ._signed import UNSIGNED, SignedItem, Signer, pull_signature

#: line id, direction, seq, envelope hash, signed_at.
HEAD_MESSAGE_LEN: Final = 64 + 1 + 8 + RECORD_HASH_LEN + 8
CHAIN_HEAD_LEN: Final = HEAD_MESSAGE_LEN + HYBRID_SIGNATURE_LEN


@dataclass(frozen=True, slots=True)
class ChainHead(SignedItem):
    """A signed head of one direction's chain.

    Attributes:
        line_id: the line's id.
        direction: the direction whose head this is (its sender signs).
        seq: the sequence number of the latest envelope (≥ 1).
        envelope_hash: that envelope's hash.
        signed_at_ms: the signer's clock when it signed (UTC ms).
        signature: under ``LABEL_CHAIN_HEAD``.

    Raises:
        MalformedError: (on construction) a field breaks its rule.
    """

    LABEL = LABEL_CHAIN_HEAD

    line_id: bytes
    direction: Direction
    seq: int
    envelope_hash: bytes
    signed_at_ms: int
    signature: HybridSignature

    def __post_init__(self) -> None:
        check_hash(self.line_id, "line id")
        object.__setattr__(self, "direction", as_code(Direction, self.direction, "direction"))
        check_u64(self.seq, "seq")
        if self.seq == 0:
            raise MalformedError("a chain head names an envelope (seq ≥ 1)")
        check_hash(self.envelope_hash, "envelope hash")
        check_u64(self.signed_at_ms, "signing time")

    def __repr__(self) -> str:
        return f"ChainHead({self.direction.name} #{self.seq}, {self.envelope_hash[:8].hex()}…)"

    @classmethod
    def create(
        cls,
        signer: Signer,
        *,
        line_id: bytes,
        direction: Direction,
        head: ChainRef,
        signed_at_ms: int,
    ) -> ChainHead:
        """Sign the head ``head`` of ``direction``.

        Raises:
            MalformedError: a field breaks its rule (``head`` is ``GENESIS``, say).
        """
        unsigned = cls(line_id, direction, head.seq, head.hash, signed_at_ms, UNSIGNED)
        return unsigned.signed_by(signer)

    @property
    def ref(self) -> ChainRef:
        """The position this head signs."""
        return ChainRef(self.seq, self.envelope_hash)

    def message(self) -> bytes:
        """Return the signed bytes (145)."""
        writer = Writer()
        writer.push_bytes(self.line_id)
        writer.push_u8(self.direction)
        writer.push_u64(self.seq)
        writer.push_bytes(self.envelope_hash)
        writer.push_u64(self.signed_at_ms)
        return writer.data

    @classmethod
    def decode(cls, data: bytes) -> ChainHead:
        """Decode a chain head (the signature is *not* checked: see :meth:`verify`).

        Raises:
            MalformedError: not exactly 4836 bytes, or a field breaks its rule.
            UnknownValueError: an unknown direction.
        """
        if len(data) != CHAIN_HEAD_LEN:
            raise MalformedError(f"a chain head is {CHAIN_HEAD_LEN} bytes, not {len(data)}")
        reader = Reader(data, "chain head")
        head = cls(
            line_id=reader.pull_bytes(RECORD_HASH_LEN),
            direction=reader.pull_code(Direction, "direction"),
            seq=reader.pull_u64(),
            envelope_hash=reader.pull_bytes(RECORD_HASH_LEN),
            signed_at_ms=reader.pull_u64(),
            signature=pull_signature(reader),
        )
        reader.finish()
        return head
