"""NACKs: the signed refusal of an item, naming why (docs/record-format.md §7).

    nack_message = line_id (64) || u8 direction || u8 subject || u64 seq || item_hash (64)
                   || u8 reason || text(MAX_NACK_TEXT_LEN) || u64 refused_at
    nack         = nack_message || sig (LABEL_NACK, by the refusing station)

A station never skips what it cannot accept: it signs a NACK, halts the direction and raises a
FLASH alarm, and so does the peer when the NACK arrives. :meth:`Nack.refusing` turns the
:class:`~hotline.record.RejectionError` that caused the refusal into one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hotline.constants import LABEL_NACK, MAX_NACK_TEXT_LEN, RECORD_HASH_LEN
from hotline.signatures import HYBRID_SIGNATURE_LEN, HybridSignature

from ._buffer import Reader, Writer, as_code, check_u64, encode_text
from ._codes import Direction, NackReason, Subject
from ._errors import MalformedError, RejectionError
from ._hashing import ZERO_HASH, check_hash
from ._signed import UNSIGNED, SignedItem, Signer, pull_signature

#: The largest NACK: every field at its maximum.
MAX_NACK_LEN: Final = (
    64 + 1 + 1 + 8 + RECORD_HASH_LEN + 1 + 4 + MAX_NACK_TEXT_LEN + 8 + HYBRID_SIGNATURE_LEN
)


def truncate_utf8(text: str, max_len: int) -> str:
    """Return the longest prefix of ``text`` whose UTF-8 form fits ``max_len`` bytes, cut at a
    character boundary (lone surrogates replaced, so any exception text can be carried)."""
    data = text.encode("utf-8", "replace")[:max_len]
    return data.decode("utf-8", "ignore")


@dataclass(frozen=True, slots=True)
class Nack(SignedItem):
    """A signed refusal.

    Attributes:
        line_id: the line's id.
        direction: the direction of the refused item.
        subject: what was refused (envelope, chain head, receipt, checkpoint).
        seq: the sequence number concerned (the next one expected for an item that did not
            decode; 0 if none applies).
        item_hash: the envelope hash the refused item carries or names; zero if unknown.
        reason: why.
        text: one line for the operators, at most ``MAX_NACK_TEXT_LEN`` bytes of UTF-8.
        refused_at_ms: the refusing station's clock (UTC ms).
        signature: under ``LABEL_NACK``, by the refusing station.

    Raises:
        MalformedError: (on construction) a field breaks its rule.
    """

    LABEL = LABEL_NACK

    line_id: bytes
    direction: Direction
    subject: Subject
    seq: int
    item_hash: bytes
    reason: NackReason
    text: str
    refused_at_ms: int
    signature: HybridSignature

    def __post_init__(self) -> None:
        check_hash(self.line_id, "line id")
        object.__setattr__(self, "direction", as_code(Direction, self.direction, "direction"))
        object.__setattr__(self, "subject", as_code(Subject, self.subject, "subject"))
        check_u64(self.seq, "seq")
        check_hash(self.item_hash, "item hash")
        object.__setattr__(self, "reason", as_code(NackReason, self.reason, "reason"))
        encode_text(self.text, MAX_NACK_TEXT_LEN, "reason text")
        check_u64(self.refused_at_ms, "refusal time")

    def __repr__(self) -> str:
        return f"Nack({self.subject.name} {self.direction.name} #{self.seq}: {self.reason.name})"

    @classmethod
    def refusing(
        cls,
        signer: Signer,
        error: RejectionError,
        *,
        line_id: bytes,
        direction: Direction,
        subject: Subject,
        refused_at_ms: int,
        fallback_seq: int = 0,
    ) -> Nack:
        """Sign the NACK for ``error``: its reason, its seq and hash, its message as the text.

        Args:
            signer: the refusing station's keys.
            error: the refusal.
            line_id: the line's id.
            direction: the direction of the refused item.
            subject: what was refused.
            refused_at_ms: now, on the refusing station's clock.
            fallback_seq: the sequence number to name when ``error`` knows none (an item that
                did not decode: the next one expected).
        """
        unsigned = cls(
            line_id=line_id,
            direction=direction,
            subject=subject,
            seq=error.seq or fallback_seq,
            item_hash=error.item_hash or ZERO_HASH,
            reason=error.reason,
            text=truncate_utf8(str(error), MAX_NACK_TEXT_LEN),
            refused_at_ms=refused_at_ms,
            signature=UNSIGNED,
        )
        return unsigned.signed_by(signer)

    def message(self) -> bytes:
        """Return the signed bytes."""
        writer = Writer()
        writer.push_bytes(self.line_id)
        writer.push_u8(self.direction)
        writer.push_u8(self.subject)
        writer.push_u64(self.seq)
        writer.push_bytes(self.item_hash)
        writer.push_u8(self.reason)
        writer.push_vbytes(encode_text(self.text, MAX_NACK_TEXT_LEN, "reason text"))
        writer.push_u64(self.refused_at_ms)
        return writer.data

    @classmethod
    def decode(cls, data: bytes) -> Nack:
        """Decode a NACK (the signature is *not* checked: see :meth:`verify`).

        Raises:
            MalformedError: too long, truncated, a field breaking its rule, trailing bytes.
            UnknownValueError: an unknown direction, subject or reason.
        """
        if len(data) > MAX_NACK_LEN:
            raise MalformedError(f"a NACK is at most {MAX_NACK_LEN} bytes, not {len(data)}")
        reader = Reader(data, "NACK")
        nack = cls(
            line_id=reader.pull_bytes(RECORD_HASH_LEN),
            direction=reader.pull_code(Direction, "direction"),
            subject=reader.pull_code(Subject, "subject"),
            seq=reader.pull_u64(),
            item_hash=reader.pull_bytes(RECORD_HASH_LEN),
            reason=reader.pull_code(NackReason, "reason"),
            text=reader.pull_text(MAX_NACK_TEXT_LEN, "reason text"),
            refused_at_ms=reader.pull_u64(),
            signature=pull_signature(reader),
        )
        reader.finish()
        return nack
