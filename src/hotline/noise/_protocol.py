"""Protocol names (spec §8) and the suite of functions they select.

A name is five fields joined by ``_``: ``Noise``, the pattern with its modifiers, the DH
function, the cipher, the hash. With ``hfs`` the DH field also names the KEM after a ``+``:
``Noise_KKhfs_25519+MLKEM1024_AESGCM_SHA512``. A KEM is required exactly when ``hfs`` is
present, as snow requires.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._cipher import CipherFunction, cipher_by_name
from ._dh import DhFunction, dh_by_name
from ._errors import LocalProtocolError
from ._hash import HashFunction, hash_by_name
from ._kem import Kem, kem_by_name
from ._patterns import HandshakePattern, pattern_by_name


@dataclass(frozen=True, slots=True)
class NoiseProtocol:
    """A concrete Noise protocol: a pattern and the functions named beside it.

    Attributes:
        name: the full protocol name; its ASCII bytes start the transcript hash.
        pattern: the handshake pattern with its modifiers applied.
        dh: the DH function.
        cipher: the AEAD cipher.
        hash: the hash function.
        kem: the KEM of the ``hfs`` modifier, or ``None`` without it.
    """

    name: str
    pattern: HandshakePattern
    dh: DhFunction
    cipher: CipherFunction
    hash: HashFunction
    kem: Kem | None

    @classmethod
    def from_name(cls, name: str) -> NoiseProtocol:
        """Parse a protocol name such as ``Noise_XXpsk3_25519_ChaChaPoly_SHA256``.

        Raises:
            LocalProtocolError: the name is malformed, or a KEM is named without ``hfs`` (or
                the other way round).
            UnsupportedProtocolError: a well-formed name this implementation does not run
                (deferred pattern, ``fallback``, unknown function).
        """
        if not isinstance(name, str) or not name.isascii():
            raise LocalProtocolError("a protocol name is an ASCII str")
        fields = name.split("_")
        if len(fields) != 5 or fields[0] != "Noise":
            raise LocalProtocolError(f"malformed protocol name {name!r}")
        _, pattern_name, dh_name, cipher_name, hash_name = fields
        dh_name, plus, kem_name = dh_name.partition("+")
        pattern = pattern_by_name(pattern_name)
        if pattern.is_hfs != bool(plus):
            raise LocalProtocolError(f"{name!r}: a KEM is named exactly when hfs is used")
        return cls(
            name,
            pattern,
            dh_by_name(dh_name),
            cipher_by_name(cipher_name),
            hash_by_name(hash_name),
            kem_by_name(kem_name) if plus else None,
        )
