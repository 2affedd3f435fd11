"""Migrations keyed by PRAGMA user_version: from nothing, from issue 5's schema, atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.record import Precedence
from hotline.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    HandshakeRecord,
    Messages,
    RowCipher,
    Store,
    StoreError,
    connect,
)

from .helpers import KEY, LINE, raw

PEER_STATIC = bytes(range(32))


def schema(path: Path) -> list[tuple[str, str, str]]:
    db = raw(path)
    try:
        rows = db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            " ORDER BY type, name"
        ).fetchall()
        return [(kind, name, " ".join(sql.split())) for kind, name, sql in rows]
    finally:
        db.close()


def version(path: Path) -> int:
    db = raw(path)
    try:
        value: int = db.execute("PRAGMA user_version").fetchone()[0]
        return value
    finally:
        db.close()


def make_schema(path: Path, upto: int) -> None:
    """Build the schema of version ``upto`` by hand, as an older hotline left it."""
    db = raw(path)
    try:
        for script in MIGRATIONS[:upto]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version = {upto}")
    finally:
        db.close()


def test_there_are_two_versions_so_far() -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) == 2


def test_from_an_empty_file_to_the_latest(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    path.touch()  # version 0: an empty file (a brand-new station)
    assert version(path) == 0
    connect(path).close()
    assert version(path) == SCHEMA_VERSION
    names = {name for kind, name, _ in schema(path) if kind == "table"}
    assert names == {"peer_handshake", "outbox", "inbox"}


def test_from_version_1_keeps_the_handshake_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    make_schema(path, 1)
    db = raw(path)
    db.execute(
        "INSERT INTO peer_handshake VALUES (?, 1700000000123, 1700000000456, 1700000000.5)",
        (PEER_STATIC,),
    )
    db.close()
    with Store.open(path) as store:
        assert store.handshakes(PEER_STATIC) == HandshakeRecord(
            1700000000123, 1700000000456, 1700000000.5
        )
    assert version(path) == SCHEMA_VERSION
    fresh = tmp_path / "fresh.db"
    connect(fresh).close()
    assert schema(path) == schema(fresh)  # migrated and created databases are the same
    db = connect(path)
    try:
        messages = Messages(db, path, RowCipher(KEY))
        messages.queue(
            line_id=LINE,
            peer="moscow",
            precedence=Precedence.ROUTINE,
            text="after the migration",
            idempotency_key="k",
            now_ms=1,
        )
        assert [m.text for m in messages.outbox()] == ["after the migration"]
    finally:
        db.close()


def test_a_failed_migration_changes_nothing(tmp_path: Path) -> None:
    # A version-1 database where someone created an "inbox" table: migration 2 cannot run.
    # Each migration is one transaction with its version bump: no half-made schema is left.
    path = tmp_path / "hotline.db"
    make_schema(path, 1)
    db = raw(path)
    db.execute("CREATE TABLE inbox (x)")
    db.close()
    before = schema(path)
    with pytest.raises(StoreError, match="migrating to schema version 2"):
        connect(path)
    assert version(path) == 1
    assert schema(path) == before  # no outbox table, no index: the whole step rolled back


def test_reopening_runs_no_migration_again(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    connect(path).close()
    before = schema(path)
    connect(path).close()
    assert schema(path) == before
