"""What people wrote, sealed at rest: AES-256-GCM bound to the row (docs/record-format.md §12).

A thief with the disk (A3 in DESIGN.md) reads the times, sizes and peers, which the network
showed anyway, but not the texts: each is sealed with a subkey of the station's data key, a
fresh random 12-byte nonce stored beside it, and associated data naming its place::

    ad = u8 len(table) || table (ASCII) || line_id (64) || key fields of the row

    envelopes (sequenced, either direction):  key fields = u8 direction || u64 seq
    outbox    (queued, no seq yet):           key fields = message id (16 bytes)

So a sealed text moved to another row, line, direction, sequence number or message fails to
decrypt instead of being shown as that row's: someone who can write the database but not read
the keys cannot swap two messages. An envelope's body is sealed, its header is not (hashes,
times and sizes only): opened, the body must still match the header's ``body_hash``.

Random nonces are safe here: a station seals far fewer than
2**32 rows under one key (NIST SP 800-38D §8.3).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hotline.constants import LINE_ID_LEN
from hotline.ids import time_ordered_id
from hotline.record import Direction, Envelope, RecordError

from ._errors import StoreCorruptError

#: HKDF info of the store's subkey of the data key (docs/record-format.md §12).
LABEL_STORE_KEY: Final = b"hotline/1 at rest: store"
#: AES-256.
STORE_KEY_LEN: Final = 32
#: A fresh random nonce per sealed row, stored beside it.
NONCE_LEN: Final = 12
#: A message id: 16 bytes, the time it was made then 80 random bits (:mod:`hotline.ids`).
MESSAGE_ID_LEN: Final = 16

OUTBOX: Final = "outbox"
ENVELOPES: Final = "envelopes"


def _place(table: str, line_id: bytes, fields: bytes) -> bytes:
    if len(line_id) != LINE_ID_LEN:
        raise ValueError(f"a line id is {LINE_ID_LEN} bytes")
    name = table.encode("ascii")
    return bytes([len(name)]) + name + line_id + fields


def new_message_id() -> bytes:
    """Return a fresh message id (time-ordered, so the id indexes grow at one edge)."""
    return time_ordered_id(MESSAGE_ID_LEN)


def outbox_ad(line_id: bytes, message_id: bytes) -> bytes:
    """Return the associated data of a queued message's text (no sequence number yet)."""
    if len(message_id) != MESSAGE_ID_LEN:
        raise ValueError(f"a message id is {MESSAGE_ID_LEN} bytes")
    return _place(OUTBOX, line_id, message_id)


def sequenced_ad(table: str, line_id: bytes, direction: int, seq: int) -> bytes:
    """Return the associated data of a row of ``table`` at ``(line_id, direction, seq)``."""
    return _place(table, line_id, struct.pack(">BQ", direction, seq))


class RowCipher:
    """Seals and opens the store's rows with the store's subkey of the data key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        """Args:
        key: the 32-byte subkey (``derive_key(LABEL_STORE_KEY)``); never in a ``repr``.
        """
        if len(key) != STORE_KEY_LEN:
            raise ValueError(f"the store key is {STORE_KEY_LEN} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "RowCipher(<key>)"

    def seal(self, ad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        """Return ``(nonce, ciphertext)`` of ``plaintext`` bound to ``ad``."""
        nonce = os.urandom(NONCE_LEN)
        return nonce, self._aead.encrypt(nonce, plaintext, ad)

    def open(self, ad: bytes, nonce: bytes, ciphertext: bytes, what: str) -> bytes:
        """Return the plaintext sealed under ``ad``.

        Args:
            ad: the associated data of the row being read.
            nonce: the row's nonce.
            ciphertext: the row's sealed bytes.
            what: the row, for the message (``"outbox message <id>"``).

        Raises:
            StoreCorruptError: the row was altered, moved, or sealed under another key.
        """
        try:
            return self._aead.decrypt(nonce, ciphertext, ad)
        except (InvalidTag, ValueError):
            raise StoreCorruptError(
                f"the store's {what} fails its integrity check: altered, moved from another"
                " row, or sealed with another station's key"
            ) from None


def open_outbox(
    cipher: RowCipher, line_id: bytes, message_id: str, nonce: bytes | None, body: bytes | None
) -> bytes:
    """Return the UTF-8 text of the outbox row of ``message_id`` (32 hex digits).

    ``nonce`` and ``body`` come from ``outbox_texts`` by a LEFT JOIN: ``None`` is a row whose
    text is gone, which the store reports rather than skipping the message.

    Raises:
        StoreCorruptError: the row fails its integrity check, or its text is missing.
    """
    if nonce is None or body is None:
        raise StoreCorruptError(
            f"the store's outbox message {message_id} has lost its text (outbox_texts): the"
            " store was damaged or altered"
        )
    ad = outbox_ad(line_id, bytes.fromhex(message_id))
    return cipher.open(ad, nonce, body, f"outbox message {message_id}")


def seal_envelope(cipher: RowCipher, envelope: Envelope) -> tuple[bytes, bytes]:
    """Return ``(nonce, sealed body)`` of an envelope, bound to its line, direction and seq."""
    header = envelope.header
    if envelope.body is None:
        raise ValueError("a redacted envelope has no body to store")
    ad = sequenced_ad(ENVELOPES, header.line_id, header.direction, header.seq)
    return cipher.seal(ad, envelope.body.encode())


#: The columns of an ``envelopes`` row that :func:`open_envelope` takes, in its order.
ENVELOPE_COLUMNS: Final = "line_id, direction, seq, hash, header, nonce, body"


def open_envelope(cipher: RowCipher, row: Sequence[Any]) -> Envelope:
    """Return the envelope stored in a row of ``envelopes``, checked against the row's place.

    Args:
        cipher: the store's cipher.
        row: the row's :data:`ENVELOPE_COLUMNS`.

    Raises:
        StoreCorruptError: the body fails to open, does not match the header, or the header
            is not the one of this line, direction, seq and hash.
    """
    line_id, direction, seq, envelope_hash, header, nonce, body = row
    what = f"envelope {Direction(direction).name} #{seq}"
    data = cipher.open(sequenced_ad(ENVELOPES, line_id, direction, seq), nonce, body, what)
    try:
        envelope = Envelope.decode(header + data)
    except RecordError as exc:
        raise StoreCorruptError(f"the store's {what} does not decode: {exc}") from None
    stored = envelope.header
    if (stored.line_id, stored.direction, stored.seq, stored.hash) != (
        line_id,
        direction,
        seq,
        envelope_hash,
    ):
        raise StoreCorruptError(f"the store's {what} holds another envelope's header")
    return envelope
