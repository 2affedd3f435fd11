"""Every connection to hotline.db is WAL with synchronous=FULL: the factory's, and only its.

"Queued means durable" rests on these two settings; they are per connection, so one connection
made some other way, or one the factory did not check, would quietly weaken the contract.
"""

from __future__ import annotations

import ast
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from hotline.store import Messages, Store, StoreError, StoreThread, connect

from ..conftest import PROJECT_ROOT
from .helpers import KEY

SRC = PROJECT_ROOT / "src" / "hotline"


def test_only_the_factory_calls_sqlite3_connect() -> None:
    callers = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "connect"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "sqlite3"
            ):
                callers.append(str(path.relative_to(SRC)))
    assert callers == ["store/_db.py"]


def durability(db: sqlite3.Connection) -> tuple[str, int]:
    journal: str = db.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous: int = db.execute("PRAGMA synchronous").fetchone()[0]
    return journal, synchronous


def test_every_connection_the_factory_makes_is_wal_and_synchronous_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Record every connection sqlite3 hands out, and check each in the thread that owns it."""
    made: list[tuple[sqlite3.Connection, int]] = []
    real_connect = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)
        made.append((connection, threading.get_ident()))
        return connection

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    path = tmp_path / "hotline.db"
    direct = connect(path)  # creates and migrates
    again = connect(path)  # an existing file
    store = Store.open(path)  # the daemon's loop connection
    thread = StoreThread.open(path, KEY)  # the store thread's own connection

    def in_store_thread(_: Messages) -> list[tuple[str, int]]:
        mine = threading.get_ident()
        return [durability(db) for db, owner in made if owner == mine]

    try:
        in_thread = thread.submit(in_store_thread).result()
        here = threading.get_ident()
        in_main = [durability(db) for db, owner in made if owner == here]
        assert len(made) == 4
        assert len(in_thread) == 1 and len(in_main) == 3
        assert in_main + in_thread == [("wal", 2)] * 4  # synchronous 2 = FULL
    finally:
        thread.close()
        store.close()
        again.close()
        direct.close()


def test_the_factory_checks_what_it_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A connection on which synchronous=FULL does not take (simulated) is refused, not used.
    class Weak(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.strip() == "PRAGMA synchronous = FULL":
                sql = "PRAGMA synchronous = NORMAL"
            return super().execute(sql, *args)

    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real_connect(*a, **k, factory=Weak))
    with pytest.raises(StoreError, match="synchronous=FULL"):
        connect(tmp_path / "hotline.db")
