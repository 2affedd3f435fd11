"""Hash functions of spec §4.3 with the framework's HMAC and HKDF built on them.

Noise's HKDF (spec §4.3) is not RFC 5869 HKDF-Expand with an info string: it chains up to three
HMAC outputs of ``HASHLEN`` bytes each and returns them separately, so it is built here from the
stdlib ``hmac`` module rather than taken from pyca. The HMAC itself is RFC 2104 over the
hashlib constructor; ``hashlib.blake2s``/``blake2b`` report the 64/128-byte ``block_size`` that
spec §4.3 requires for BLAKE2 inside HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from ._errors import UnsupportedProtocolError


@dataclass(frozen=True, slots=True)
class HashFunction:
    """One of the four Noise hash functions.

    Attributes:
        name: the name used in protocol names (``SHA256``, ``BLAKE2b``, ...).
        hashlen: ``HASHLEN``, the digest size in bytes (32 or 64).
        constructor: the hashlib constructor, also the HMAC ``digestmod``.
    """

    name: str
    hashlen: int
    constructor: Callable[..., Any]

    def hash(self, data: bytes) -> bytes:
        """Return ``HASH(data)``."""
        digest: bytes = self.constructor(data).digest()
        return digest

    def hmac(self, key: bytes, data: bytes) -> bytes:
        """Return ``HMAC-HASH(key, data)`` (RFC 2104, as spec §4.3 asks)."""
        return hmac.new(key, data, self.constructor).digest()

    def hkdf(
        self, chaining_key: bytes, input_key_material: bytes, num_outputs: int
    ) -> tuple[bytes, ...]:
        """Return ``HKDF(chaining_key, input_key_material, num_outputs)`` (spec §4.3).

        Args:
            chaining_key: the HMAC key, ``HASHLEN`` bytes.
            input_key_material: zero, 32 or ``DHLEN`` bytes (or a KEM shared secret).
            num_outputs: 2 or 3.

        Returns:
            ``num_outputs`` values of ``HASHLEN`` bytes: ``output_i = HMAC(temp_key,
            output_{i-1} || byte(i))`` with ``temp_key = HMAC(chaining_key, ikm)``.
        """
        if num_outputs not in (2, 3):
            raise ValueError("Noise HKDF has two or three outputs")
        temp_key = self.hmac(chaining_key, input_key_material)
        outputs: list[bytes] = []
        previous = b""
        for i in range(1, num_outputs + 1):
            previous = self.hmac(temp_key, previous + bytes([i]))
            outputs.append(previous)
        return tuple(outputs)


SHA256: Final = HashFunction("SHA256", 32, hashlib.sha256)
SHA512: Final = HashFunction("SHA512", 64, hashlib.sha512)
BLAKE2S: Final = HashFunction("BLAKE2s", 32, hashlib.blake2s)
BLAKE2B: Final = HashFunction("BLAKE2b", 64, hashlib.blake2b)

_BY_NAME: Final = {h.name: h for h in (SHA256, SHA512, BLAKE2S, BLAKE2B)}


def hash_by_name(name: str) -> HashFunction:
    """Return the hash function called ``name`` in a protocol name.

    Raises:
        UnsupportedProtocolError: no such hash function here.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnsupportedProtocolError(f"unsupported hash function {name!r}") from None
