"""CipherState (spec §5.1): one key, one 64-bit counter, and the rules that keep nonces unique.

Rules kept here, each one a way a nonce could otherwise repeat or a forgery cost us a message:

1. The counter advances only after a successful encrypt or decrypt. A forged or corrupted
   message leaves ``nonce`` where it was, so the next genuine message still decrypts.
2. Nonce ``2**64-1`` is reserved (§5.1): once the counter reaches it, every call raises.
3. ``rekey()`` (§11.3) replaces the key with ``ENCRYPT(k, 2**64-1, "", 32 zero bytes)[:32]``
   and leaves the counter alone.
4. No message, in or out, exceeds ``MAX_MESSAGE_LEN`` (§3).
"""

from __future__ import annotations

import copy

from ._cipher import CipherFunction
from ._constants import KEY_LEN, MAX_MESSAGE_LEN, MAX_NONCE, TAG_LEN
from ._errors import LocalProtocolError, RemoteProtocolError
from ._util import require_bytes


class CipherState:
    """A key ``k`` (or none) and the counter ``n`` of spec §5.1.

    Without a key (early in a handshake) encryption is the identity, as the spec says; every
    CipherState handed out for transport has a key.
    """

    __slots__ = ("_cipher", "_closed", "_key", "_n")

    def __init__(self, cipher: CipherFunction, key: bytes | None = None) -> None:
        """Make a CipherState for ``cipher``, keyed with ``key`` (32 bytes) or empty.

        Raises:
            LocalProtocolError: ``key`` is not 32 bytes.
        """
        self._cipher = cipher
        self._key = None if key is None else require_bytes(key, "cipher key", KEY_LEN)
        self._n = 0
        self._closed: str | None = None

    @classmethod
    def closed(cls, cipher: CipherFunction, reason: str) -> CipherState:
        """Return a CipherState that refuses every operation, explaining ``reason``.

        One-way patterns (spec §7.4) use one direction only; the other direction is handed out
        closed, so that using it fails loudly instead of sending what the peer will discard.
        """
        state = cls(cipher)
        state._closed = reason
        return state

    def __repr__(self) -> str:
        return f"CipherState({self._cipher.name}, has_key={self.has_key}, nonce={self._n})"

    @property
    def has_key(self) -> bool:
        """Whether a key is set (spec ``HasKey()``)."""
        return self._key is not None

    @property
    def nonce(self) -> int:
        """The counter the next encrypt or decrypt will use."""
        return self._n

    def set_nonce(self, nonce: int) -> None:
        """Set the counter (spec ``SetNonce()``), for transports with explicit counters.

        Raises:
            LocalProtocolError: ``nonce`` is outside ``0 .. 2**64-1``.
        """
        if not 0 <= nonce <= MAX_NONCE:
            raise LocalProtocolError(f"nonce {nonce} is outside 0 .. 2**64-1")
        self._n = nonce

    def copy(self) -> CipherState:
        """Return an independent copy, for computing on scratch state before committing."""
        return copy.copy(self)

    def encrypt_with_ad(self, ad: bytes, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` with associated data ``ad`` (spec ``EncryptWithAd``).

        Args:
            ad: associated data, authenticated but not sent.
            plaintext: the bytes to protect.

        Returns:
            ciphertext with its 16-byte tag, or ``plaintext`` itself when no key is set.

        Raises:
            LocalProtocolError: the result would exceed ``MAX_MESSAGE_LEN``, the nonces are
                exhausted, or this direction is closed.
        """
        self._check_open()
        if self._key is None:
            if len(plaintext) > MAX_MESSAGE_LEN:
                raise LocalProtocolError(f"message of {len(plaintext)} bytes exceeds 65535")
            return plaintext
        if len(plaintext) + TAG_LEN > MAX_MESSAGE_LEN:
            raise LocalProtocolError(
                f"plaintext of {len(plaintext)} bytes exceeds {MAX_MESSAGE_LEN - TAG_LEN}"
            )
        self._check_nonce()
        ciphertext = self._cipher.encrypt(self._key, self._n, ad, plaintext)
        self._n += 1
        return ciphertext

    def decrypt_with_ad(self, ad: bytes, ciphertext: bytes) -> bytes:
        """Decrypt ``ciphertext`` with associated data ``ad`` (spec ``DecryptWithAd``).

        The counter advances only if the tag verifies.

        Args:
            ad: the associated data the sender used.
            ciphertext: ciphertext with its tag, or plaintext when no key is set.

        Returns:
            the plaintext.

        Raises:
            RemoteProtocolError: ``ciphertext`` exceeds ``MAX_MESSAGE_LEN`` or is shorter
                than a tag.
            DecryptError: the tag did not verify.
            LocalProtocolError: the nonces are exhausted or this direction is closed.
        """
        self._check_open()
        if len(ciphertext) > MAX_MESSAGE_LEN:
            raise RemoteProtocolError(f"message of {len(ciphertext)} bytes exceeds 65535")
        if self._key is None:
            return ciphertext
        if len(ciphertext) < TAG_LEN:
            raise RemoteProtocolError(
                f"ciphertext of {len(ciphertext)} bytes has no room for a tag"
            )
        self._check_nonce()
        plaintext = self._cipher.decrypt(self._key, self._n, ad, ciphertext)
        self._n += 1
        return plaintext

    def rekey(self) -> None:
        """Replace the key by ``REKEY(k)`` (spec §11.3); the counter is unchanged.

        Raises:
            LocalProtocolError: no key is set, or this direction is closed.
        """
        self._check_open()
        if self._key is None:
            raise LocalProtocolError("rekey() needs a key")
        self._key = self._cipher.encrypt(self._key, MAX_NONCE, b"", bytes(KEY_LEN))[:KEY_LEN]

    def _check_open(self) -> None:
        if self._closed is not None:
            raise LocalProtocolError(self._closed)

    def _check_nonce(self) -> None:
        if self._n >= MAX_NONCE:
            raise LocalProtocolError("nonces exhausted (2**64-1 is reserved); start a new session")
