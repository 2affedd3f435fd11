"""Statements: a public text a station signs, that anyone holding its card can check.

    statement_message = fingerprint (64) || u64 signed_at || text(MAX_STATEMENT_TEXT_LEN)
    statement         = statement_message || sig (LABEL_STATEMENT)

The fingerprint digest names the signer, so a statement says whose it claims to be before any
key is tried; :meth:`Statement.signed_by_card` checks both the name and the signatures.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Final

from hotline.constants import LABEL_STATEMENT, MAX_STATEMENT_TEXT_LEN, RECORD_HASH_LEN
from hotline.signatures import HYBRID_SIGNATURE_LEN, HybridSignature, VerifyKeys

from ._buffer import Reader, Writer, check_u64, encode_text
from ._errors import MalformedError
from ._hashing import check_hash
from ._signed import UNSIGNED, SignedItem, Signer, pull_signature

#: The largest statement: every field at its maximum.
MAX_STATEMENT_LEN: Final = RECORD_HASH_LEN + 8 + 4 + MAX_STATEMENT_TEXT_LEN + HYBRID_SIGNATURE_LEN


@dataclass(frozen=True, slots=True)
class Statement(SignedItem):
    """A signed public statement.

    Attributes:
        fingerprint: the 64-byte fingerprint digest of the signer's card.
        signed_at_ms: the signer's clock (UTC ms).
        text: the statement, 1 to ``MAX_STATEMENT_TEXT_LEN`` bytes of UTF-8.
        signature: under ``LABEL_STATEMENT``.

    Raises:
        MalformedError: (on construction) a field breaks its rule.
    """

    LABEL = LABEL_STATEMENT

    fingerprint: bytes
    signed_at_ms: int
    text: str
    signature: HybridSignature

    def __post_init__(self) -> None:
        check_hash(self.fingerprint, "fingerprint")
        check_u64(self.signed_at_ms, "signing time")
        if not encode_text(self.text, MAX_STATEMENT_TEXT_LEN, "statement text"):
            raise MalformedError("a statement says something (its text is empty)")

    def __repr__(self) -> str:
        return f"Statement(by {self.fingerprint[:8].hex()}…, {len(self.text)} characters)"

    @classmethod
    def create(
        cls, signer: Signer, *, fingerprint: bytes, signed_at_ms: int, text: str
    ) -> Statement:
        """Sign ``text`` as the station whose card has ``fingerprint``.

        Raises:
            MalformedError: a field breaks its rule.
        """
        return cls(fingerprint, signed_at_ms, text, UNSIGNED).signed_by(signer)

    def signed_by_card(self, fingerprint: bytes, keys: VerifyKeys) -> bool:
        """Return whether this statement names ``fingerprint`` and both signatures verify.

        Args:
            fingerprint: the fingerprint digest of the card the verifier holds.
            keys: that card's signing keys.
        """
        return hmac.compare_digest(self.fingerprint, fingerprint) and self.verify(keys)

    def message(self) -> bytes:
        """Return the signed bytes."""
        writer = Writer()
        writer.push_bytes(self.fingerprint)
        writer.push_u64(self.signed_at_ms)
        writer.push_vbytes(encode_text(self.text, MAX_STATEMENT_TEXT_LEN, "statement text"))
        return writer.data

    @classmethod
    def decode(cls, data: bytes) -> Statement:
        """Decode a statement (the signature is *not* checked: see :meth:`signed_by_card`).

        Raises:
            MalformedError: too long, truncated, a field breaking its rule, trailing bytes.
        """
        if len(data) > MAX_STATEMENT_LEN:
            raise MalformedError(
                f"a statement is at most {MAX_STATEMENT_LEN} bytes, not {len(data)}"
            )
        reader = Reader(data, "statement")
        statement = cls(
            fingerprint=reader.pull_bytes(RECORD_HASH_LEN),
            signed_at_ms=reader.pull_u64(),
            text=reader.pull_text(MAX_STATEMENT_TEXT_LEN, "statement text"),
            signature=pull_signature(reader),
        )
        reader.finish()
        return statement
