"""The keys a handshake runs on, and the check that the installed crypto can run it at all.

The handshake takes plain pyca key objects from its caller (the identity layer loads them from
the encrypted key files; the cards give the peer's): it never reads a file or a card itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519

from hotline.constants import X25519_KEY_LEN
from hotline.noise import LocalProtocolError

from ._errors import CryptoSupportError


@dataclass(frozen=True, slots=True)
class LocalCredentials:
    """This station's three private keys: the Noise static key and the two signing keys.

    Attributes:
        static: the X25519 static key of the Noise handshake (classical authentication, and
            the static-static DH behind mac1).
        ed25519: signs the classical half of each identity proof.
        mldsa: signs the post-quantum half of each identity proof (ML-DSA-87, FIPS 204).
    """

    static: x25519.X25519PrivateKey = field(repr=False)
    ed25519: ed25519.Ed25519PrivateKey = field(repr=False)
    mldsa: mldsa.MLDSA87PrivateKey = field(repr=False)

    def __repr__(self) -> str:
        return f"LocalCredentials(static={self.static_public.hex()[:16]}…)"

    @property
    def static_public(self) -> bytes:
        """Our raw X25519 static public key (32 bytes), as the peer pins it."""
        return self.static.public_key().public_bytes_raw()


@dataclass(frozen=True, slots=True)
class PeerKeys:
    """A paired peer's public keys, taken from its pinned card.

    Attributes:
        static: the peer's raw X25519 static public key (32 bytes).
        ed25519: the key its Ed25519 proof signature must verify under.
        mldsa: the key its ML-DSA-87 proof signature must verify under.
    """

    static: bytes
    ed25519: ed25519.Ed25519PublicKey = field(repr=False)
    mldsa: mldsa.MLDSA87PublicKey = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.static, bytes) or len(self.static) != X25519_KEY_LEN:
            raise LocalProtocolError("a peer's static key must be 32 raw bytes")

    def __repr__(self) -> str:
        return f"PeerKeys(static={self.static.hex()[:16]}…)"

    def static_key(self) -> x25519.X25519PublicKey:
        """The static key as a pyca object."""
        return x25519.X25519PublicKey.from_public_bytes(self.static)


def check_crypto_support() -> None:
    """Refuse to run unless ML-KEM-1024 and ML-DSA-87 actually work here.

    A power-on self test, in the spirit of FIPS 140: generate, encapsulate and decapsulate once;
    sign and verify once. pyca >= 48 (the pinned minimum) always has the modules, but one built
    on an OpenSSL without FIPS 203/204 raises ``UnsupportedAlgorithm`` at first use: this
    makes that happen at start-up, as one line, instead of at the first handshake. Costs about
    a millisecond.

    Raises:
        CryptoSupportError: the named algorithm is missing or gave a wrong answer.
    """
    try:
        kem_key = mlkem.MLKEM1024PrivateKey.generate()
        shared, ciphertext = kem_key.public_key().encapsulate()
        kem_ok = kem_key.decapsulate(ciphertext) == shared
    except UnsupportedAlgorithm:
        kem_ok = False
    if not kem_ok:
        raise CryptoSupportError(
            "cryptography cannot do ML-KEM-1024 (it needs to be built on OpenSSL >= 3.5)"
        )
    try:
        sig_key = mldsa.MLDSA87PrivateKey.generate()
        sig_key.public_key().verify(
            sig_key.sign(b"self test", b"hotline"), b"self test", b"hotline"
        )
    except (UnsupportedAlgorithm, InvalidSignature) as exc:
        raise CryptoSupportError(
            "cryptography cannot do ML-DSA-87 (it needs to be built on OpenSSL >= 3.5)"
        ) from exc
