"""Texts at rest: sealed as docs/record-format.md §12 says, bound to their row, never in clear."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hotline.identity import KDF_PROFILES, StationKeys, seal_key_file
from hotline.record import Precedence
from hotline.store import (
    LABEL_STORE_KEY,
    Chains,
    Messages,
    RowCipher,
    StoreCorruptError,
    outbox_ad,
    sequenced_ad,
)

from .helpers import KEY, LINE, OTHER_LINE, OWN, OWN_DIRECTION, deliver, raw


def queue(messages: Messages, text: str, key: str, line: bytes = LINE) -> str:
    queued = messages.queue(
        line_id=line,
        peer="moscow",
        precedence=Precedence.ROUTINE,
        text=text,
        idempotency_key=key,
        now_ms=1_750_000_000_000,
    )
    return queued.message.id


def test_the_associated_data_is_the_documented_bytes() -> None:
    message_id = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert outbox_ad(LINE, message_id) == b"\x06outbox" + LINE + message_id
    assert sequenced_ad("envelopes", LINE, 1, 5) == (
        b"\x09envelopes" + LINE + b"\x01" + b"\x00\x00\x00\x00\x00\x00\x00\x05"
    )
    with pytest.raises(ValueError, match="line id"):
        outbox_ad(LINE[:63], message_id)


def test_a_row_sealed_as_the_document_says_is_read(db: sqlite3.Connection, db_path: Path) -> None:
    """A second implementation: HKDF and AES-GCM from the document alone, then the store reads."""
    keys = StationKeys.generate()
    _, unlocked = seal_key_file(keys, b"passphrase", KDF_PROFILES["test"])
    data_key = unlocked._data_key
    store_key = HKDF(
        algorithm=hashes.SHA512(), length=32, salt=None, info=b"hotline/1 at rest: store"
    ).derive(data_key)
    assert unlocked.derive_key(LABEL_STORE_KEY) == store_key
    message_id = bytes(range(16))
    nonce = bytes(12)
    text = "שלום, Привет"
    ad = bytes([6]) + b"outbox" + LINE + message_id
    body = AESGCM(store_key).encrypt(nonce, text.encode("utf-8"), ad)
    db.execute(
        "INSERT INTO outbox (position, id, line_id, peer, precedence, idempotency_key,"
        " queued_at_ms) VALUES (1, ?, ?, 'moscow', 3, 'k', 1)",
        (message_id.hex(), LINE),
    )
    db.execute("INSERT INTO outbox_texts (position, nonce, body) VALUES (1, ?, ?)", (nonce, body))
    db.execute(
        "INSERT INTO queue (line_id, precedence, position, peer, queued_at_ms)"
        " VALUES (?, 3, 1, 'moscow', 1)",
        (LINE,),
    )
    messages = Messages(db, db_path, RowCipher(store_key))
    (message,) = messages.outbox()
    assert message.text == text and message.precedence is Precedence.FLASH


def test_texts_are_not_in_clear_on_disk(messages: Messages, chains: Chains, db_path: Path) -> None:
    queue(messages, "RENDEZVOUS-AT-DAWN", "k1")
    deliver(chains, ["OPERATION-NIGHTINGALE"])
    on_disk = b"".join(
        path.read_bytes() for path in db_path.parent.iterdir() if path.name.startswith("hotline")
    )
    assert b"moscow" in on_disk  # the peer is in clear (sanity: we read the right files)
    assert b"RENDEZVOUS" not in on_disk and b"NIGHTINGALE" not in on_disk


def swap(path: Path, table: str, a: str | int, b: str | int) -> None:
    """Swap the sealed texts of two rows, named by their message ids."""
    key = "message_id" if table == "envelopes" else "id"
    db = raw(path)
    if table == "outbox":  # its texts are in a table of their own, by position
        positions = dict(db.execute("SELECT id, position FROM outbox WHERE id IN (?, ?)", (a, b)))
        table, key, a, b = "outbox_texts", "position", positions[a], positions[b]
    rows = {
        row[0]: row[1:]
        for row in db.execute(
            f"SELECT {key}, nonce, body FROM {table} WHERE {key} IN (?, ?)",
            (a, b),
        )
    }
    db.execute(f"UPDATE {table} SET nonce = ?, body = ? WHERE {key} = ?", (*rows[b], a))
    db.execute(f"UPDATE {table} SET nonce = ?, body = ? WHERE {key} = ?", (*rows[a], b))
    db.close()


def test_swapped_outbox_rows_fail_to_decrypt(messages: Messages, db_path: Path) -> None:
    first, second = queue(messages, "attack at dawn", "k1"), queue(messages, "stand down", "k2")
    swap(db_path, "outbox", first, second)
    with pytest.raises(StoreCorruptError, match=r"outbox message .* integrity check"):
        messages.outbox()


def test_swapped_inbox_rows_fail_to_decrypt(
    messages: Messages, chains: Chains, db_path: Path
) -> None:
    deliver(chains, ["one", "two"])
    first, second = (m.id for m in messages.inbox())
    swap(db_path, "envelopes", first, second)
    with pytest.raises(StoreCorruptError, match="envelope SECOND #1 fails its integrity check"):
        messages.inbox()


@pytest.mark.parametrize(
    ("table", "change"),
    [
        ("envelopes", "seq = 7"),
        ("envelopes", "direction = 0"),
        ("envelopes", "line_id = ?"),
        ("outbox", "line_id = ?"),
        ("outbox", "id = 'ffffffffffffffffffffffffffffffff'"),
    ],
)
def test_a_row_moved_to_another_place_fails_to_decrypt(
    messages: Messages, chains: Chains, db_path: Path, table: str, change: str
) -> None:
    deliver(chains, ["received"])
    queue(messages, "queued", "k1")
    db = raw(db_path)
    db.execute(f"UPDATE {table} SET {change}", (OTHER_LINE,) if "?" in change else ())
    db.close()
    with pytest.raises(StoreCorruptError):
        messages.inbox() if table == "envelopes" else messages.outbox()


def test_an_outbox_body_copied_into_the_inbox_fails(
    messages: Messages, chains: Chains, db_path: Path
) -> None:
    deliver(chains, ["received"])
    queue(messages, "queued", "k1")
    db = raw(db_path)
    db.execute("UPDATE envelopes SET (nonce, body) = (SELECT nonce, body FROM outbox_texts)")
    db.close()
    with pytest.raises(StoreCorruptError):
        messages.inbox()


def test_an_outbox_row_that_lost_its_text_is_reported_not_skipped(
    messages: Messages, chains: Chains, db_path: Path
) -> None:
    """The text sits in outbox_texts: a row without one is a damaged store, loudly."""
    first = queue(messages, "first", "k1")
    queue(messages, "second", "k2")
    db = raw(db_path)
    db.execute(
        "DELETE FROM outbox_texts WHERE position = (SELECT position FROM outbox WHERE id = ?)",
        (first,),
    )
    db.close()
    with pytest.raises(StoreCorruptError, match=f"{first} has lost its text"):
        messages.outbox()
    with pytest.raises(StoreCorruptError, match="lost its text"):  # not sequenced past it
        chains.sequence(LINE, OWN_DIRECTION, limit=8, signer=OWN, now_ms=1_750_000_000_001)


def test_another_key_cannot_read(messages: Messages, db: sqlite3.Connection, db_path: Path) -> None:
    queue(messages, "for our eyes only", "k1")
    stranger = Messages(db, db_path, RowCipher(bytes(32)))
    assert bytes(32) != KEY
    with pytest.raises(StoreCorruptError, match="another station's key"):
        stranger.outbox()


def test_the_cipher_keeps_its_key_out_of_its_repr() -> None:
    assert KEY.hex() not in repr(RowCipher(KEY)) and "<key>" in repr(RowCipher(KEY))
    with pytest.raises(ValueError, match="32 bytes"):
        RowCipher(KEY[:16])
