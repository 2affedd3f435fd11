"""SymmetricState (spec §5.2): the chaining key ``ck``, the transcript hash ``h``, a CipherState.

Every handshake token reduces to the five operations here. ``copy()`` exists so that the
HandshakeState can run a whole message on scratch state and commit it only if every check
passed (WireGuard's habit): a failed read leaves nothing half-updated behind.
"""

from __future__ import annotations

import copy

from ._cipher import CipherFunction
from ._cipherstate import CipherState
from ._constants import KEY_LEN
from ._hash import HashFunction


class SymmetricState:
    """``ck``, ``h`` and the handshake CipherState of spec §5.2."""

    __slots__ = ("_cipher", "_cipher_state", "_ck", "_h", "_hash")

    def __init__(self, protocol_name: bytes, hash_fn: HashFunction, cipher: CipherFunction):
        """``InitializeSymmetric(protocol_name)``: ``h`` is the name, zero-padded to
        ``HASHLEN`` if it fits, else ``HASH(name)``; ``ck = h``; no key."""
        self._hash = hash_fn
        self._cipher = cipher
        if len(protocol_name) <= hash_fn.hashlen:
            self._h = protocol_name.ljust(hash_fn.hashlen, b"\x00")
        else:
            self._h = hash_fn.hash(protocol_name)
        self._ck = self._h
        self._cipher_state = CipherState(cipher)

    def __repr__(self) -> str:
        return f"SymmetricState({self._cipher.name}, {self._hash.name}, has_key={self.has_key})"

    def copy(self) -> SymmetricState:
        """Return an independent copy (scratch state for one message)."""
        twin = copy.copy(self)
        twin._cipher_state = self._cipher_state.copy()
        return twin

    @property
    def handshake_hash(self) -> bytes:
        """The current ``h``."""
        return self._h

    @property
    def has_key(self) -> bool:
        """Whether the handshake CipherState has a key (so ``s``/``e1`` travel encrypted)."""
        return self._cipher_state.has_key

    def mix_key(self, input_key_material: bytes) -> None:
        """``MixKey``: ``ck, temp_k = HKDF(ck, ikm, 2)``; key the cipher with ``temp_k[:32]``."""
        self._ck, temp_k = self._hash.hkdf(self._ck, input_key_material, 2)
        self._cipher_state = CipherState(self._cipher, temp_k[:KEY_LEN])

    def mix_hash(self, data: bytes) -> None:
        """``MixHash``: ``h = HASH(h || data)``."""
        self._h = self._hash.hash(self._h + data)

    def mix_key_and_hash(self, input_key_material: bytes) -> None:
        """``MixKeyAndHash`` (used by ``psk``): ``ck, temp_h, temp_k = HKDF(ck, ikm, 3)``;
        ``MixHash(temp_h)``; key the cipher with ``temp_k[:32]``."""
        self._ck, temp_h, temp_k = self._hash.hkdf(self._ck, input_key_material, 3)
        self.mix_hash(temp_h)
        self._cipher_state = CipherState(self._cipher, temp_k[:KEY_LEN])

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        """``EncryptAndHash``: encrypt with ``ad = h`` (identity without a key), then mix the
        result into ``h``."""
        ciphertext = self._cipher_state.encrypt_with_ad(self._h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        """``DecryptAndHash``: decrypt with ``ad = h``, then mix the *ciphertext* into ``h``.

        Raises:
            DecryptError: the tag did not verify.
            RemoteProtocolError: the ciphertext is too short for a tag or too long.
        """
        plaintext = self._cipher_state.decrypt_with_ad(self._h, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    def split(self) -> tuple[CipherState, CipherState]:
        """``Split``: two CipherStates from ``HKDF(ck, "", 2)``, initiator→responder first."""
        temp_k1, temp_k2 = self._hash.hkdf(self._ck, b"", 2)
        return (
            CipherState(self._cipher, temp_k1[:KEY_LEN]),
            CipherState(self._cipher, temp_k2[:KEY_LEN]),
        )
