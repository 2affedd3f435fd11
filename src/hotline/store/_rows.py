"""Rows of the chain tables, read and written inside the caller's transaction.

The building blocks of :class:`~hotline.store.Chains` (and of recovery): each is one
statement (or one ``executemany`` for a whole batch: no query per row on the hot path), runs
in a transaction the caller opened, and turns a stored item that does not decode into
:class:`StoreCorruptError`, never into garbage.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, TypeVar

from hotline.record import (
    GENESIS,
    ChainHead,
    ChainRef,
    Direction,
    Envelope,
    EnvelopeHeader,
    Receipt,
    RecordError,
)

from ._db import transaction
from ._errors import StoreCorruptError
from ._sealing import RowCipher, seal_envelope

_Item = TypeVar("_Item")

#: SQLite's largest INTEGER: no row holds a sequence number beyond it.
_MAX_INTEGER: Final = 2**63 - 1

_INSERT_ENVELOPE: Final = (
    "INSERT INTO envelopes (line_id, peer, direction, incoming, seq, hash, header, kind,"
    " precedence, sequenced_at_ms, stored_at_ms, message_id, nonce, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def decoded(decode: Callable[[bytes], _Item], data: bytes, what: str) -> _Item:
    try:
        return decode(data)
    except (RecordError, ValueError) as exc:
        raise StoreCorruptError(f"the store's {what} does not decode: {exc}") from None


def chain_tip(
    db: sqlite3.Connection, line_id: bytes, direction: Direction
) -> tuple[ChainRef, ChainRef]:
    """The last stored envelope of ``direction`` and its cross-link (GENESIS if none)."""
    row = db.execute(
        "SELECT seq, hash, header FROM envelopes WHERE line_id = ? AND direction = ?"
        " ORDER BY seq DESC LIMIT 1",
        (line_id, int(direction)),
    ).fetchone()
    if row is None:
        return GENESIS, GENESIS
    header = decoded(EnvelopeHeader.decode, row[2], "envelope header")
    if header.ref != ChainRef(row[0], row[1]):
        raise StoreCorruptError(f"the store's envelope #{row[0]} holds another header")
    return header.ref, header.cross


def insert_envelopes(
    db: sqlite3.Connection,
    cipher: RowCipher,
    line_id: bytes,
    envelopes: Sequence[Envelope],
    *,
    peers: Sequence[str],
    message_ids: Sequence[str],
    incoming: bool,
    now_ms: int,
) -> None:
    rows = []
    for envelope, peer, message_id in zip(envelopes, peers, message_ids, strict=True):
        header = envelope.header
        nonce, sealed = seal_envelope(cipher, envelope)
        rows.append(
            (
                line_id,
                peer,
                int(header.direction),
                int(incoming),
                header.seq,
                header.hash,
                header.encoded,
                int(header.kind),
                int(header.precedence),
                header.sequenced_at_ms,
                now_ms,
                message_id,
                nonce,
                sealed,
            )
        )
    db.executemany(_INSERT_ENVELOPE, rows)


def insert_heads(db: sqlite3.Connection, heads: Sequence[ChainHead]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO heads (line_id, direction, seq, item) VALUES (?, ?, ?, ?)",
        [(h.line_id, int(h.direction), h.seq, h.encode()) for h in heads],
    )


def insert_receipt(db: sqlite3.Connection, receipt: Receipt, *, issued: bool, now_ms: int) -> None:
    db.execute(
        "INSERT INTO receipts (line_id, direction, seq, issued, item, stored_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            receipt.line_id,
            int(receipt.direction),
            receipt.seq,
            int(issued),
            receipt.encode(),
            now_ms,
        ),
    )


def stored_hash(db: sqlite3.Connection, line_id: bytes, direction: int, seq: int) -> bytes | None:
    """Return the envelope hash stored at ``(line_id, direction, seq)`` (inside a transaction).

    A peer names any u64: past SQLite's INTEGER nothing can be stored, and binding it would
    raise ``OverflowError``, not a store error.
    """
    if not 0 <= seq <= _MAX_INTEGER:
        return None
    row = db.execute(
        "SELECT hash FROM envelopes WHERE line_id = ? AND direction = ? AND seq = ?",
        (line_id, int(direction), seq),
    ).fetchone()
    return None if row is None else bytes(row[0])


def hash_at(
    db: sqlite3.Connection, path: Path, line_id: bytes, direction: Direction, seq: int
) -> bytes | None:
    """Return the envelope hash stored at ``(line_id, direction, seq)``, or None: one read.

    Raises:
        StoreError: the store cannot be read.
    """
    with transaction(db, path, write=False):
        return stored_hash(db, line_id, direction, seq)
