"""A full disk or a read-only store: a clear one-line error, nothing half-written, nothing lost.

How the failures are made (the tests run as root, for whom file modes stop nothing):

- **full**: ``PRAGMA max_page_count`` caps the database at the pages it already has, so the
  next write gets ``SQLITE_FULL``, exactly the error a full disk gives;
- **read-only**: ``PRAGMA query_only = ON`` makes every write fail with ``SQLITE_READONLY``,
  the error of a read-only file, file system or ``mode=ro`` database.

Both are per connection: the store's own connection fails, and a fresh connection afterwards
shows what is on disk.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hotline.errors import ExitCode
from hotline.record import Precedence
from hotline.store import (
    Messages,
    RowCipher,
    Store,
    StoreThread,
    StoreWriteError,
    connect,
)

from .helpers import KEY, LINE

PEER_STATIC = bytes(range(32))


def queue(messages: Messages, text: str, key: str) -> str:
    return messages.queue(
        line_id=LINE,
        peer="moscow",
        precedence=Precedence.FLASH,
        text=text,
        idempotency_key=key,
        now_ms=1,
    ).message.id


def fill(db: sqlite3.Connection) -> None:
    db.execute("VACUUM")  # no free page left inside the file either (migrations drop tables)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    assert db.execute(f"PRAGMA max_page_count = {pages}").fetchone()[0] == pages


def make_read_only(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA query_only = ON")


def on_disk(path: Path) -> list[str]:
    db = connect(path)
    try:
        return [m.text for m in Messages(db, path, RowCipher(KEY)).outbox()]
    finally:
        db.close()


@pytest.mark.parametrize(
    ("fail", "why"),
    [(fill, "the disk or the database is full"), (make_read_only, "it is read-only")],
    ids=["full", "read-only"],
)
def test_a_failed_queue_says_why_and_loses_nothing(
    messages: Messages, db: sqlite3.Connection, db_path: Path, fail: object, why: str
) -> None:
    kept = [queue(messages, f"queued before {n}", f"k{n}") for n in range(3)]
    assert callable(fail)
    fail(db)
    with pytest.raises(StoreWriteError) as caught:
        queue(messages, "x" * 20_000, "k-new")  # several pages: cannot fit in a full file
    message = str(caught.value)
    assert why in message and "nothing was written" in message
    assert len(message.splitlines()) == 1
    assert caught.value.exit_code == ExitCode.STORE_UNUSABLE
    assert not db.in_transaction  # rolled back
    assert on_disk(db_path) == [f"queued before {n}" for n in range(3)]
    assert [m.id for m in messages.outbox()] == kept  # reading still works
    # Once the cause is gone, the same connection queues again.
    db.execute("PRAGMA max_page_count = 1073741823")
    db.execute("PRAGMA query_only = OFF")
    queue(messages, "after the fix", "k-new")
    assert on_disk(db_path)[-1] == "after the fix"


def test_a_failed_handshake_timestamp_write_is_a_clear_error(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.record_sent(PEER_STATIC, 5)
        store._db.execute("PRAGMA query_only = ON")
        with pytest.raises(StoreWriteError, match="read-only"):
            store.record_sent(PEER_STATIC, 6)
        assert store.handshakes(PEER_STATIC).last_sent == 5


def test_the_store_thread_hands_the_error_to_the_caller(db_path: Path) -> None:
    with StoreThread.open(db_path, KEY) as thread:
        thread.submit(lambda m: queue(m, "kept", "k1")).result()
        thread.submit(lambda m: m._db.execute("PRAGMA query_only = ON")).result()
        with pytest.raises(StoreWriteError, match="read-only"):
            thread.submit(lambda m: queue(m, "refused", "k2")).result()
        assert [m.text for m in thread.submit(lambda m: m.outbox()).result()] == ["kept"]
    assert on_disk(db_path) == ["kept"]
