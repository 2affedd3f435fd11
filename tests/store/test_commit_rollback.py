"""A COMMIT that fails leaves no transaction open: it is rolled back, and nothing was written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hotline.store import StoreError
from hotline.store._db import transaction


def test_a_failed_commit_is_rolled_back(tmp_path: Path) -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TABLE child (parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    # A deferred foreign key is checked at COMMIT: the COMMIT itself fails, and SQLite leaves
    # the transaction open unless we roll it back.
    with (
        pytest.raises(StoreError, match="nothing was written"),
        transaction(db, tmp_path / "hotline.db"),
    ):
        db.execute("INSERT INTO child VALUES (42)")
    assert not db.in_transaction
    assert db.execute("SELECT count(*) FROM child").fetchone() == (0,)
    with transaction(db, tmp_path / "hotline.db"):  # the next transaction starts cleanly
        db.execute("INSERT INTO parent VALUES (1)")
    assert db.execute("SELECT count(*) FROM parent").fetchone() == (1,)
