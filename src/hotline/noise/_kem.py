"""The KEM abstraction of the ``hfs`` modifier (noise_hfs spec §3) and ML-KEM through pyca.

The hfs spec names three functions; here they map onto pyca/cryptography like this:

- ``GENERATE_KEM_KEYPAIR()`` → ``MLKEMxxxPrivateKey.generate()`` (or ``from_seed_bytes`` with a
  fixed 64-byte seed, for known-answer tests).
- ``GENERATE_KEM_CIPHERTEXT(pk)`` → ``MLKEMxxxPublicKey.from_public_bytes(pk).encapsulate()``.
  pyca returns ``(shared_secret, ciphertext)``; :meth:`Kem.encapsulate` returns the spec's
  order, ``(ciphertext, shared_secret)``.
- ``KEM(keypair, ct)`` → ``private.decapsulate(ct)``. ML-KEM decapsulation never fails on a
  well-sized ciphertext (implicit rejection returns an unrelated secret), so a tampered
  ciphertext shows up as an AEAD failure later in the handshake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from cryptography.hazmat.primitives.asymmetric import mlkem

from ._errors import LocalProtocolError, RemoteProtocolError, UnsupportedProtocolError
from ._util import require_bytes

#: FIPS 203 §7.1: ML-KEM key generation is deterministic from a 64-byte seed ``d || z``.
KEM_SEED_LEN: Final = 64


@dataclass(frozen=True, slots=True, repr=False)
class KemKeyPair:
    """A KEM key pair: ``public`` is the raw encapsulation key, ``private`` an opaque object.

    ``private`` belongs to the :class:`Kem` that made the pair; only that Kem can use it.
    """

    public: bytes
    private: object

    def __repr__(self) -> str:
        return f"KemKeyPair(public_len={len(self.public)}, private=<hidden>)"


class Kem(Protocol):
    """What the hfs tokens need from a KEM (noise_hfs spec §3)."""

    @property
    def name(self) -> str:
        """The name after ``+`` in a protocol name, e.g. ``MLKEM1024``."""
        ...

    @property
    def public_key_len(self) -> int:
        """``KEMPUBLICKEYLEN``."""
        ...

    @property
    def ciphertext_len(self) -> int:
        """``KEMCIPHERTEXTLEN``."""
        ...

    @property
    def shared_secret_len(self) -> int:
        """``KEMOUTPUTLEN``."""
        ...

    def generate(self, seed: bytes | None = None) -> KemKeyPair:
        """Return a fresh key pair, or the one derived from ``seed`` (known-answer tests)."""
        ...

    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        """Return ``(ciphertext, shared_secret)`` for the peer's ``public_key``."""
        ...

    def decapsulate(self, keypair: KemKeyPair, ciphertext: bytes) -> bytes:
        """Return the shared secret that ``ciphertext`` carries to ``keypair``."""
        ...


class _MLKem:
    """ML-KEM (FIPS 203) at one parameter set, as a :class:`Kem`."""

    __slots__ = ("_private_cls", "_public_cls", "ciphertext_len", "name", "public_key_len")

    shared_secret_len: Final = 32

    def __init__(
        self,
        name: str,
        private_cls: type[mlkem.MLKEM768PrivateKey] | type[mlkem.MLKEM1024PrivateKey],
        public_cls: type[mlkem.MLKEM768PublicKey] | type[mlkem.MLKEM1024PublicKey],
        public_key_len: int,
        ciphertext_len: int,
    ) -> None:
        self.name = name
        self.public_key_len = public_key_len
        self.ciphertext_len = ciphertext_len
        self._private_cls = private_cls
        self._public_cls = public_cls

    def __repr__(self) -> str:
        return f"Kem({self.name})"

    def generate(self, seed: bytes | None = None) -> KemKeyPair:
        """Return a fresh key pair, or the one derived from a 64-byte ``seed``.

        Raises:
            LocalProtocolError: ``seed`` is not 64 bytes.
        """
        if seed is None:
            private = self._private_cls.generate()
        else:
            seed = require_bytes(seed, f"{self.name} seed", KEM_SEED_LEN)
            private = self._private_cls.from_seed_bytes(seed)
        return KemKeyPair(private.public_key().public_bytes_raw(), private)

    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        """Return ``(ciphertext, shared_secret)`` (spec order; pyca's is the reverse).

        Raises:
            RemoteProtocolError: ``public_key`` is not a valid encapsulation key (wrong size or
                failing the FIPS 203 modulus check).
        """
        if len(public_key) != self.public_key_len:
            raise RemoteProtocolError(f"{self.name} public key must be {self.public_key_len} bytes")
        try:
            peer = self._public_cls.from_public_bytes(public_key)
        except ValueError:
            raise RemoteProtocolError(f"bad {self.name} public key") from None
        shared_secret, ciphertext = peer.encapsulate()
        return ciphertext, shared_secret

    def decapsulate(self, keypair: KemKeyPair, ciphertext: bytes) -> bytes:
        """Return the shared secret carried by ``ciphertext``.

        Raises:
            LocalProtocolError: ``keypair`` was not made by this KEM.
            RemoteProtocolError: ``ciphertext`` has the wrong size.
        """
        if not isinstance(keypair.private, self._private_cls):
            raise LocalProtocolError(f"key pair was not made by {self.name}")
        if len(ciphertext) != self.ciphertext_len:
            raise RemoteProtocolError(f"{self.name} ciphertext must be {self.ciphertext_len} bytes")
        return keypair.private.decapsulate(ciphertext)


MLKEM768: Final[Kem] = _MLKem(
    "MLKEM768", mlkem.MLKEM768PrivateKey, mlkem.MLKEM768PublicKey, 1184, 1088
)
MLKEM1024: Final[Kem] = _MLKem(
    "MLKEM1024", mlkem.MLKEM1024PrivateKey, mlkem.MLKEM1024PublicKey, 1568, 1568
)

_BY_NAME: Final = {k.name: k for k in (MLKEM768, MLKEM1024)}


def kem_by_name(name: str) -> Kem:
    """Return the KEM called ``name`` after the ``+`` in a protocol name.

    Raises:
        UnsupportedProtocolError: no such KEM here.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnsupportedProtocolError(f"unsupported KEM {name!r}") from None
