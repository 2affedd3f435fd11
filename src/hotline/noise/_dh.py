"""The Noise DH functions (spec §12.1, §12.2): Curve25519 and Curve448 through pyca.

A key pair keeps the pyca private-key object and the raw public key; the private scalar never
leaves the object, and the repr shows neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric import x448, x25519

from ._errors import RemoteProtocolError, UnsupportedProtocolError
from ._util import require_bytes

_PrivateKey = x25519.X25519PrivateKey | x448.X448PrivateKey


@dataclass(frozen=True, slots=True, repr=False)
class DhKeyPair:
    """A DH key pair: ``public`` is raw ``DHLEN`` bytes, ``private`` the pyca key object."""

    public: bytes
    private: _PrivateKey

    def __repr__(self) -> str:
        return "DhKeyPair(<hidden>)"


class DhFunction:
    """One Noise DH function: ``GENERATE_KEYPAIR()`` and ``DH()`` of spec §4.1.

    Attributes:
        name: the name used in protocol names (``25519`` or ``448``).
        dhlen: ``DHLEN``, the size of public keys and of DH outputs.
    """

    __slots__ = ("_private_cls", "_public_cls", "dhlen", "name")

    def __init__(
        self,
        name: str,
        dhlen: int,
        private_cls: type[x25519.X25519PrivateKey] | type[x448.X448PrivateKey],
        public_cls: type[x25519.X25519PublicKey] | type[x448.X448PublicKey],
    ) -> None:
        self.name = name
        self.dhlen = dhlen
        self._private_cls = private_cls
        self._public_cls = public_cls

    def __repr__(self) -> str:
        return f"DhFunction({self.name})"

    def generate(self, private: bytes | None = None) -> DhKeyPair:
        """Return a fresh key pair, or the one whose raw private key is ``private``.

        Raises:
            LocalProtocolError: ``private`` is not ``DHLEN`` bytes.
        """
        if private is None:
            key = self._private_cls.generate()
        else:
            key = self._private_cls.from_private_bytes(
                require_bytes(private, f"{self.name} private key", self.dhlen)
            )
        return DhKeyPair(key.public_key().public_bytes_raw(), key)

    def dh(self, keypair: DhKeyPair, public: bytes) -> bytes:
        """Return ``DH(keypair, public)``, ``DHLEN`` bytes.

        Raises:
            RemoteProtocolError: ``public`` is not a usable public key (pyca refuses the
                all-zero output of a low-order point, as spec §12.1 allows).
        """
        try:
            peer = self._public_cls.from_public_bytes(public)
            # The union of pyca types cannot say that the curves match; __init__ pairs them.
            return keypair.private.exchange(peer)  # type: ignore[arg-type]
        except ValueError:
            raise RemoteProtocolError(f"bad {self.name} public key") from None


DH25519: Final = DhFunction("25519", 32, x25519.X25519PrivateKey, x25519.X25519PublicKey)
DH448: Final = DhFunction("448", 56, x448.X448PrivateKey, x448.X448PublicKey)

_BY_NAME: Final = {d.name: d for d in (DH25519, DH448)}


def dh_by_name(name: str) -> DhFunction:
    """Return the DH function called ``name`` in a protocol name.

    Raises:
        UnsupportedProtocolError: no such DH function here.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnsupportedProtocolError(f"unsupported DH function {name!r}") from None
