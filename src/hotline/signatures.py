"""The hybrid signature every Hotline statement carries: Ed25519 and ML-DSA-87, both must verify.

Under a label ``L`` (``hotline.constants.LABEL_*``) over a message ``m``:

    ed25519 = Ed25519.sign(L || m)                       (RFC 8032, pure; 64 bytes)
    mldsa87 = ML-DSA-87.sign(m, context = L)             (FIPS 204, pure, hedged; 4627 bytes)
    encoded = ed25519 || mldsa87                         (4691 bytes, fixed: no length prefix)

A verifier accepts only when *both* verify, so the pair holds as long as either algorithm is
unbroken: classical today, post-quantum tomorrow. The label stops a signature made for one
purpose (a card, a receipt) from standing in for another. ML-DSA signing is randomized: signing
the same message twice gives two different, equally valid signatures.

This module is sans-IO and imports nothing of Hotline but its constants, so the identity layer,
the handshake and the record (which must stay verifiable with nothing but card keys) share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA87PrivateKey, MLDSA87PublicKey

from hotline.constants import ED25519_SIGNATURE_LEN, MLDSA87_SIGNATURE_LEN

#: The encoded length of a hybrid signature.
HYBRID_SIGNATURE_LEN: Final = ED25519_SIGNATURE_LEN + MLDSA87_SIGNATURE_LEN
#: FIPS 204 caps a context string at 255 bytes; every label is far shorter.
MAX_LABEL_LEN: Final = 255


class SignatureFormatError(ValueError):
    """A hybrid signature of the wrong size (each half has one exact length)."""


def _check_label(label: bytes) -> None:
    """Refuse a label no Hotline signature could carry: a bug in the caller, never input."""
    if not 0 < len(label) <= MAX_LABEL_LEN:
        raise ValueError(f"a signature label is 1 to {MAX_LABEL_LEN} bytes, not {len(label)}")


@dataclass(frozen=True, slots=True)
class HybridSignature:
    """An Ed25519 signature and an ML-DSA-87 signature over one labelled message.

    Attributes:
        ed25519: the Ed25519 signature over ``label || message`` (64 bytes).
        mldsa87: the ML-DSA-87 signature over ``message``, context ``label`` (4627 bytes).

    Raises:
        SignatureFormatError: (on construction) a half has the wrong length.
    """

    ed25519: bytes
    mldsa87: bytes

    def __post_init__(self) -> None:
        if len(self.ed25519) != ED25519_SIGNATURE_LEN or len(self.mldsa87) != MLDSA87_SIGNATURE_LEN:
            raise SignatureFormatError(
                f"a hybrid signature is {ED25519_SIGNATURE_LEN} + {MLDSA87_SIGNATURE_LEN} bytes,"
                f" not {len(self.ed25519)} + {len(self.mldsa87)}"
            )

    def __repr__(self) -> str:
        return f"HybridSignature(ed25519={self.ed25519[:8].hex()}…)"

    def encode(self) -> bytes:
        """Return the fixed 4691-byte encoding: ``ed25519 || mldsa87``."""
        return self.ed25519 + self.mldsa87

    @classmethod
    def decode(cls, data: bytes) -> HybridSignature:
        """Split an encoded hybrid signature.

        Raises:
            SignatureFormatError: ``data`` is not exactly 4691 bytes.
        """
        if len(data) != HYBRID_SIGNATURE_LEN:
            raise SignatureFormatError(
                f"a hybrid signature is {HYBRID_SIGNATURE_LEN} bytes, not {len(data)}"
            )
        return cls(data[:ED25519_SIGNATURE_LEN], data[ED25519_SIGNATURE_LEN:])


def sign(
    ed25519_key: Ed25519PrivateKey, mldsa87_key: MLDSA87PrivateKey, label: bytes, message: bytes
) -> HybridSignature:
    """Sign ``message`` under ``label`` with both keys.

    Args:
        ed25519_key: the signer's Ed25519 private key.
        mldsa87_key: the signer's ML-DSA-87 private key.
        label: the purpose label, 1 to 255 bytes.
        message: the bytes to sign.

    Returns:
        The pair of signatures.

    Raises:
        ValueError: the label is empty or longer than 255 bytes (a bug in the caller).
    """
    _check_label(label)
    return HybridSignature(ed25519_key.sign(label + message), mldsa87_key.sign(message, label))


def verify(
    ed25519_key: Ed25519PublicKey,
    mldsa87_key: MLDSA87PublicKey,
    label: bytes,
    message: bytes,
    signature: HybridSignature,
) -> bool:
    """Return whether *both* halves of ``signature`` verify over ``message`` under ``label``.

    Never raises on a bad signature: a forged, altered or mislabelled one simply returns False.

    Args:
        ed25519_key: the signer's Ed25519 public key.
        mldsa87_key: the signer's ML-DSA-87 public key.
        label: the purpose label the signer must have used.
        message: the signed bytes.
        signature: the signature to check.

    Raises:
        ValueError: the label is empty or longer than 255 bytes (a bug in the caller).
    """
    _check_label(label)
    try:
        ed25519_key.verify(signature.ed25519, label + message)
        mldsa87_key.verify(signature.mldsa87, message, label)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, slots=True)
class VerifyKeys:
    """The two public signing keys of a station, as taken from its card.

    Attributes:
        ed25519: the Ed25519 public key.
        mldsa87: the ML-DSA-87 public key.
    """

    ed25519: Ed25519PublicKey
    mldsa87: MLDSA87PublicKey

    def __repr__(self) -> str:
        return f"VerifyKeys(ed25519={self.ed25519.public_bytes_raw()[:8].hex()}…)"

    @classmethod
    def from_public_bytes(cls, ed25519: bytes, mldsa87: bytes) -> VerifyKeys:
        """Load the keys from their raw encodings (32 and 2592 bytes, as a card holds them).

        Raises:
            ValueError: either encoding is not a valid public key.
        """
        return cls(
            Ed25519PublicKey.from_public_bytes(ed25519), MLDSA87PublicKey.from_public_bytes(mldsa87)
        )

    def verify(self, label: bytes, message: bytes, signature: HybridSignature) -> bool:
        """Return whether both halves verify (see :func:`verify`)."""
        return verify(self.ed25519, self.mldsa87, label, message, signature)


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The two private signing keys of a station. Never printed: the ``repr`` shows a prefix of
    the public Ed25519 key only.

    Attributes:
        ed25519: the Ed25519 private key.
        mldsa87: the ML-DSA-87 private key.
    """

    ed25519: Ed25519PrivateKey = field(repr=False)
    mldsa87: MLDSA87PrivateKey = field(repr=False)

    def __repr__(self) -> str:
        return f"SigningKeys(public={self.public()!r})"

    def public(self) -> VerifyKeys:
        """Return the matching public keys."""
        return VerifyKeys(self.ed25519.public_key(), self.mldsa87.public_key())

    def sign(self, label: bytes, message: bytes) -> HybridSignature:
        """Sign ``message`` under ``label`` with both keys (see :func:`sign`)."""
        return sign(self.ed25519, self.mldsa87, label, message)
