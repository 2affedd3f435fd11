"""The store: durable settings enforced, schema by user_version, timestamps that only grow."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hotline.errors import ExitCode
from hotline.store import SCHEMA_VERSION, HandshakeRecord, Store, StoreError, connect

PEER = bytes(range(32))
OTHER = bytes(32)


def test_every_connection_is_wal_and_synchronous_full(tmp_path: Path) -> None:
    db = connect(tmp_path / "hotline.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()


def test_a_store_that_cannot_do_wal_is_refused(tmp_path: Path) -> None:
    # An in-memory database cannot use WAL: the check must notice, not fall back quietly.
    with pytest.raises(StoreError, match="write-ahead logging") as caught:
        connect(Path(":memory:"))
    assert caught.value.exit_code == ExitCode.STORE_UNUSABLE


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match="newer than this hotline"):
        connect(path)


def test_migration_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    with Store.open(path) as store:
        store.record_sent(PEER, 5)
    with Store.open(path) as store:  # reopening runs no migration twice
        assert store.handshakes(PEER).last_sent == 5


def test_timestamps_only_grow_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    with Store.open(path) as store:
        assert store.handshakes(PEER) == HandshakeRecord()
        store.record_sent(PEER, 100)
        store.record_sent(PEER, 90)  # a late report from an older stream: ignored
        store.record_accepted(PEER, 7)
        store.record_accepted(PEER, 8)
        store.record_handshake(PEER, 1_750_000_000.5)
        store.record_accepted(OTHER, 3)
    with Store.open(path) as store:
        assert store.handshakes(PEER) == HandshakeRecord(100, 8, 1_750_000_000.5)
        assert store.handshakes(OTHER) == HandshakeRecord(0, 3, None)


def test_a_bad_peer_key_is_refused_by_the_schema(tmp_path: Path) -> None:
    with Store.open(tmp_path / "hotline.db") as store, pytest.raises(StoreError):
        store.record_sent(b"short", 1)
