"""What every signed item of the record shares: a signer, a label, ``message || signature``.

A signed item (chain head, receipt, NACK, statement) is its fixed field encoding, the *message*,
followed by one hybrid signature (4691 bytes) under the item's label. The record never holds a
private key itself: it asks a :class:`Signer` (a station's :class:`~hotline.signatures.SigningKeys`
today; a hardware token tomorrow) and checks with :class:`~hotline.signatures.VerifyKeys` taken
from a card, so a verifier needs nothing but the cards' public keys.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Final, Protocol, Self

from hotline.constants import ED25519_SIGNATURE_LEN, MLDSA87_SIGNATURE_LEN
from hotline.signatures import HYBRID_SIGNATURE_LEN, HybridSignature, VerifyKeys

from ._buffer import Reader


class Signer(Protocol):
    """Anything that signs a labelled message with a station's two signing keys."""

    def sign(self, label: bytes, message: bytes) -> HybridSignature:
        """Return the hybrid signature of ``message`` under ``label``."""
        ...


#: Stands in for the signature while an item is built, before it is signed; never encoded.
UNSIGNED: Final = HybridSignature(bytes(ED25519_SIGNATURE_LEN), bytes(MLDSA87_SIGNATURE_LEN))


def pull_signature(reader: Reader) -> HybridSignature:
    """Read a 4691-byte hybrid signature (its halves have fixed sizes, so it cannot be
    malformed once the bytes are there)."""
    data = reader.pull_bytes(HYBRID_SIGNATURE_LEN)
    return HybridSignature.decode(data)


class SignedItem:
    """Mixin of the signed items: the encoding and the check, given :meth:`message`.

    Subclasses are frozen dataclasses with a ``signature`` field and a ``LABEL``.
    """

    __slots__ = ()

    LABEL: ClassVar[bytes]
    signature: HybridSignature

    def message(self) -> bytes:
        """Return the signed bytes: every field but the signature."""
        raise NotImplementedError

    def signed_by(self, signer: Signer) -> Self:
        """Return a copy of this item carrying ``signer``'s signature over :meth:`message`."""
        signature = signer.sign(self.LABEL, self.message())
        return dataclasses.replace(self, signature=signature)  # type: ignore[type-var]

    def encode(self) -> bytes:
        """Return ``message || signature``."""
        return self.message() + self.signature.encode()

    def verify(self, keys: VerifyKeys) -> bool:
        """Return whether both halves of the signature verify with ``keys`` under ``LABEL``.

        Never raises on a bad signature.
        """
        return keys.verify(self.LABEL, self.message(), self.signature)
