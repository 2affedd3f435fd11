"""A station's three long-term key pairs, and the dual signature every Hotline statement carries.

X25519 is the station's Noise static key; Ed25519 and ML-DSA-87 sign together, so a signature
holds as long as *either* algorithm is unbroken (classical today, post-quantum tomorrow). The
construction is :mod:`hotline.signatures`, the one every Hotline signature uses (cards,
handshake proofs, the record): here it is only applied to the raw key bytes a card holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA87PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from hotline import signatures
from hotline.constants import X25519_KEY_LEN

from ._constants import ED25519_PUBLIC_LEN, MLDSA87_PUBLIC_LEN, PRIVATE_KEY_LEN


@dataclass(frozen=True, slots=True)
class PublicKeys:
    """The three public keys of a station, as raw bytes.

    Attributes:
        x25519: the Noise static public key (32 bytes).
        ed25519: the classical signing key (32 bytes).
        mldsa87: the post-quantum signing key (2592 bytes).
    """

    x25519: bytes
    ed25519: bytes
    mldsa87: bytes

    def __post_init__(self) -> None:
        for name, value, size in (
            ("X25519", self.x25519, X25519_KEY_LEN),
            ("Ed25519", self.ed25519, ED25519_PUBLIC_LEN),
            ("ML-DSA-87", self.mldsa87, MLDSA87_PUBLIC_LEN),
        ):
            if len(value) != size:
                raise ValueError(f"{name} public key must be {size} bytes, not {len(value)}")

    def __repr__(self) -> str:
        return f"PublicKeys(ed25519={self.ed25519[:8].hex()}…)"

    def verify(self, label: bytes, message: bytes, ed25519_sig: bytes, mldsa87_sig: bytes) -> bool:
        """Return whether *both* signatures over ``message`` under ``label`` verify.

        Args:
            label: the purpose label the signer used (``hotline.constants.LABEL_*``).
            message: the signed bytes.
            ed25519_sig: the Ed25519 signature over ``label || message``.
            mldsa87_sig: the ML-DSA-87 signature over ``message`` with context ``label``.

        Returns:
            True only if both verify; a malformed key or signature counts as not verifying.
        """
        try:
            keys = signatures.VerifyKeys.from_public_bytes(self.ed25519, self.mldsa87)
            return keys.verify(label, message, signatures.HybridSignature(ed25519_sig, mldsa87_sig))
        except ValueError:  # a key that does not load, a signature of the wrong size
            return False


@dataclass(frozen=True, slots=True)
class StationKeys:
    """A station's private keys. Never printed: the ``repr`` shows only a public key prefix.

    Build one with :meth:`generate` or :meth:`from_private_bytes`; the key objects are those of
    pyca/cryptography, ready for the Noise layer (``x25519``) and for signing (:meth:`sign`).
    """

    x25519: X25519PrivateKey = field(repr=False)
    ed25519: Ed25519PrivateKey = field(repr=False)
    mldsa87: MLDSA87PrivateKey = field(repr=False)
    public: PublicKeys = field(init=False)

    def __post_init__(self) -> None:
        public = PublicKeys(
            x25519=self.x25519.public_key().public_bytes_raw(),
            ed25519=self.ed25519.public_key().public_bytes_raw(),
            mldsa87=self.mldsa87.public_key().public_bytes_raw(),
        )
        object.__setattr__(self, "public", public)

    def __repr__(self) -> str:
        return f"StationKeys(public={self.public!r})"

    @classmethod
    def generate(cls) -> StationKeys:
        """Return three fresh key pairs from the operating system's random source."""
        return cls(
            X25519PrivateKey.generate(), Ed25519PrivateKey.generate(), MLDSA87PrivateKey.generate()
        )

    @classmethod
    def from_private_bytes(cls, x25519: bytes, ed25519: bytes, mldsa87_seed: bytes) -> StationKeys:
        """Rebuild the keys from their 32-byte private forms (as the key file stores them).

        Raises:
            ValueError: a value is not 32 bytes.
        """
        if {len(x25519), len(ed25519), len(mldsa87_seed)} != {PRIVATE_KEY_LEN}:
            raise ValueError(f"private keys are {PRIVATE_KEY_LEN} bytes each")
        return cls(
            X25519PrivateKey.from_private_bytes(x25519),
            Ed25519PrivateKey.from_private_bytes(ed25519),
            MLDSA87PrivateKey.from_seed_bytes(mldsa87_seed),
        )

    def private_bytes(self) -> bytes:
        """Return the 96 bytes the key file encrypts: X25519, Ed25519, ML-DSA-87 seed.

        Only the key file codec should call this; the result is the station's whole secret.
        """
        return (
            self.x25519.private_bytes_raw()
            + self.ed25519.private_bytes_raw()
            + self.mldsa87.private_bytes_raw()
        )

    def sign(self, label: bytes, message: bytes) -> tuple[bytes, bytes]:
        """Sign ``message`` under ``label`` with both signing keys.

        Args:
            label: the purpose label (``hotline.constants.LABEL_*``), at most 255 bytes.
            message: the bytes to sign.

        Returns:
            ``(ed25519_signature, mldsa87_signature)``: Ed25519 over ``label || message``,
            ML-DSA-87 (hedged) over ``message`` with context ``label``.
        """
        signature = signatures.sign(self.ed25519, self.mldsa87, label, message)
        return signature.ed25519, signature.mldsa87

    def signing_keys(self) -> signatures.SigningKeys:
        """The two signing keys, as the record and the statements sign with them."""
        return signatures.SigningKeys(self.ed25519, self.mldsa87)
