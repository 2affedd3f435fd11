"""The two Noise AEAD ciphers (spec §12) and their nonce encodings.

Both take a 32-byte key and a 64-bit counter ``n``; they differ only in how ``n`` becomes the
96-bit AEAD nonce, which is the one place implementations most often disagree:

- ChaChaPoly (§12.3): 4 zero bytes, then ``n`` as 8 bytes **little-endian** (RFC 8439).
- AESGCM (§12.4): 4 zero bytes, then ``n`` as 8 bytes **big-endian**.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ._errors import DecryptError, UnsupportedProtocolError

_AeadFactory = Callable[[bytes], AESGCM | ChaCha20Poly1305]


@dataclass(frozen=True, slots=True)
class CipherFunction:
    """One Noise AEAD cipher: ``ENCRYPT(k, n, ad, plaintext)`` and ``DECRYPT`` of spec §4.2.

    Attributes:
        name: the name used in protocol names (``ChaChaPoly`` or ``AESGCM``).
        byteorder: how the 64-bit counter is laid into the last 8 nonce bytes.
        factory: builds the pyca AEAD object from a 32-byte key.
    """

    name: str
    byteorder: Literal["little", "big"]
    factory: _AeadFactory

    def nonce(self, n: int) -> bytes:
        """Return the 12-byte AEAD nonce for counter ``n``: 4 zero bytes then 8 counter bytes."""
        return b"\x00\x00\x00\x00" + n.to_bytes(8, self.byteorder)

    def encrypt(self, key: bytes, n: int, ad: bytes, plaintext: bytes) -> bytes:
        """Return ``ENCRYPT(k, n, ad, plaintext)``: ciphertext followed by the 16-byte tag."""
        return self.factory(key).encrypt(self.nonce(n), plaintext, ad)

    def decrypt(self, key: bytes, n: int, ad: bytes, ciphertext: bytes) -> bytes:
        """Return ``DECRYPT(k, n, ad, ciphertext)``.

        Raises:
            DecryptError: the tag did not verify.
        """
        try:
            return self.factory(key).decrypt(self.nonce(n), ciphertext, ad)
        except InvalidTag:
            raise DecryptError(f"{self.name} authentication failed") from None


CHACHAPOLY: Final = CipherFunction("ChaChaPoly", "little", ChaCha20Poly1305)
AESGCM256: Final = CipherFunction("AESGCM", "big", AESGCM)

_BY_NAME: Final = {c.name: c for c in (CHACHAPOLY, AESGCM256)}


def cipher_by_name(name: str) -> CipherFunction:
    """Return the cipher called ``name`` in a protocol name.

    Raises:
        UnsupportedProtocolError: no such cipher here.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnsupportedProtocolError(f"unsupported cipher {name!r}") from None
