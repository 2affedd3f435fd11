"""The one way to open ``hotline.db``: durable settings checked, schema migrated.

Hotline's reliability contract says "queued means durable": committed with fsync before the
operator is told. SQLite gives that with ``journal_mode=WAL`` and ``synchronous=FULL`` (WAL
with ``NORMAL`` may lose the last transactions on power loss). Every connection comes from
:func:`connect`, which sets both and then *reads them back*, refusing a database where either
did not take (a filesystem without shared memory cannot do WAL, for instance): a silent
fallback to a weaker mode would break the contract without anyone noticing.

The schema version is ``PRAGMA user_version``. :data:`MIGRATIONS` is the list of scripts that
take the schema from version ``i`` to ``i + 1``; each runs in its own transaction together with
the version bump, so a crash leaves the old schema or the new one. A database newer than this
code is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from ._errors import StoreError

#: Migration ``i`` takes the schema from version ``i`` to ``i + 1``. Append; never edit.
MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: per-peer handshake timestamps (docs/protocol.md §2.4) and the last handshake's time.
    """
    CREATE TABLE peer_handshake (
        peer_static     BLOB PRIMARY KEY CHECK (length(peer_static) = 32),
        last_sent       INTEGER NOT NULL DEFAULT 0 CHECK (last_sent >= 0),
        last_accepted   INTEGER NOT NULL DEFAULT 0 CHECK (last_accepted >= 0),
        last_handshake  REAL
    ) STRICT;
    """,
)

#: The schema version this code writes and reads.
SCHEMA_VERSION: Final = len(MIGRATIONS)

#: How long a writer waits for another connection's lock before failing, milliseconds.
BUSY_TIMEOUT_MS: Final = 5000


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path``, durable and at the current schema.

    Args:
        path: the database file; created with the process umask (the daemon sets 077).

    Returns:
        A connection in autocommit mode: each store method opens its own transaction.

    Raises:
        StoreError: the file cannot be opened, WAL or synchronous=FULL did not take, the schema
            is newer than this code, or a migration failed.
    """
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store {path}: {exc}") from None
    try:
        _configure(db, path)
        _migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _configure(db: sqlite3.Connection, path: Path) -> None:
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        db.execute("PRAGMA synchronous = FULL")
        synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
    except sqlite3.Error as exc:
        raise StoreError(f"cannot use the store {path}: {exc}") from None
    if str(mode).lower() != "wal":
        raise StoreError(f"the store {path} cannot use write-ahead logging (journal mode {mode})")
    if synchronous != 2:  # FULL
        raise StoreError(f"the store {path} refused synchronous=FULL")


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store {path} has schema version {version}, newer than this hotline"
            f" ({SCHEMA_VERSION}): upgrade hotline"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        try:
            db.execute("BEGIN IMMEDIATE")
            for statement in _statements(MIGRATIONS[target - 1]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(
                f"cannot migrate the store {path} to version {target}: {exc}"
            ) from None


def _statements(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit on its own)."""
    return [part.strip() for part in script.split(";") if part.strip()]
