"""The one way to open ``hotline.db``: durable settings checked, schema migrated; and transactions.

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

Every store method is one :func:`transaction`; SQLite's errors leave it as one-line
:class:`StoreError` s that say what failed (a full disk, a read-only file) and that the
transaction was rolled back.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from ._errors import StoreError, StoreWriteError

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
    # 2: the operator's queued messages and the messages received (docs/api.md, "The store").
    # ``position`` is the order of arrival (AUTOINCREMENT: never reused); ``nonce`` and ``body``
    # are the text sealed at rest (docs/record-format.md §12). An idempotency key names one
    # request for ever, whichever peer it was for.
    """
    CREATE TABLE outbox (
        position         INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE CHECK (length(id) = 32),
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        peer             TEXT NOT NULL,
        precedence       INTEGER NOT NULL CHECK (precedence BETWEEN 0 AND 3),
        idempotency_key  TEXT NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 64),
        queued_at_ms     INTEGER NOT NULL CHECK (queued_at_ms >= 0),
        state            TEXT NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'sequenced', 'sent', 'receipted')),
        seq              INTEGER CHECK (seq >= 1),
        nonce            BLOB NOT NULL CHECK (length(nonce) = 12),
        body             BLOB NOT NULL
    ) STRICT;
    CREATE INDEX outbox_unreceipted ON outbox (state) WHERE state != 'receipted';
    CREATE TABLE inbox (
        position         INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE CHECK (length(id) = 32),
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        peer             TEXT NOT NULL,
        direction        INTEGER NOT NULL CHECK (direction IN (0, 1)),
        seq              INTEGER NOT NULL CHECK (seq >= 1),
        precedence       INTEGER NOT NULL CHECK (precedence BETWEEN 0 AND 3),
        sent_at_ms       INTEGER NOT NULL CHECK (sent_at_ms >= 0),
        received_at_ms   INTEGER NOT NULL CHECK (received_at_ms >= 0),
        nonce            BLOB NOT NULL CHECK (length(nonce) = 12),
        body             BLOB NOT NULL,
        UNIQUE (line_id, direction, seq)
    ) STRICT;
    CREATE INDEX inbox_by_peer ON inbox (peer, position);
    """,
    # 3: delivery (docs/record-format.md §3-7, §12). ``envelopes`` holds both directions of
    # every line, in the order they were stored (``rowid``): the header in clear (hashes, times,
    # sizes), the body sealed. The inbox is now the peer's MESSAGE and TEST envelopes, so the
    # v2 ``inbox`` table goes: no release ever delivered a message, it is always empty.
    # ``heads``, ``receipts`` and ``nacks`` keep each signed item as it was signed (never
    # re-signed); ``halts`` names the directions stopped until an operator resumes them. Two
    # partial indexes let sequencing and receipts touch only the rows they move, however long
    # the backlog of queued messages.
    """
    DROP INDEX inbox_by_peer;
    DROP TABLE inbox;
    CREATE TABLE envelopes (
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        peer             TEXT NOT NULL,
        direction        INTEGER NOT NULL CHECK (direction IN (0, 1)),
        incoming         INTEGER NOT NULL CHECK (incoming IN (0, 1)),
        seq              INTEGER NOT NULL CHECK (seq >= 1),
        hash             BLOB NOT NULL CHECK (length(hash) = 64),
        header           BLOB NOT NULL CHECK (length(header) = 296),
        kind             INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),
        precedence       INTEGER NOT NULL CHECK (precedence BETWEEN 0 AND 3),
        sequenced_at_ms  INTEGER NOT NULL CHECK (sequenced_at_ms >= 0),
        stored_at_ms     INTEGER NOT NULL CHECK (stored_at_ms >= 0),
        message_id       TEXT NOT NULL UNIQUE CHECK (length(message_id) = 32),
        nonce            BLOB NOT NULL CHECK (length(nonce) = 12),
        body             BLOB NOT NULL,
        UNIQUE (line_id, direction, seq)
    ) STRICT;
    CREATE TABLE heads (
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        direction        INTEGER NOT NULL CHECK (direction IN (0, 1)),
        seq              INTEGER NOT NULL CHECK (seq >= 1),
        item             BLOB NOT NULL,
        PRIMARY KEY (line_id, direction, seq)
    ) STRICT;
    CREATE TABLE receipts (
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        direction        INTEGER NOT NULL CHECK (direction IN (0, 1)),
        seq              INTEGER NOT NULL CHECK (seq >= 1),
        issued           INTEGER NOT NULL CHECK (issued IN (0, 1)),
        item             BLOB NOT NULL,
        stored_at_ms     INTEGER NOT NULL CHECK (stored_at_ms >= 0),
        PRIMARY KEY (line_id, direction, seq)
    ) STRICT;
    CREATE TABLE nacks (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        direction        INTEGER NOT NULL CHECK (direction IN (0, 1)),
        issued           INTEGER NOT NULL CHECK (issued IN (0, 1)),
        item             BLOB NOT NULL,
        stored_at_ms     INTEGER NOT NULL CHECK (stored_at_ms >= 0)
    ) STRICT;
    CREATE TABLE halts (
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        direction        INTEGER NOT NULL CHECK (direction IN (0, 1)),
        nack_id          INTEGER NOT NULL REFERENCES nacks (id),
        since_ms         INTEGER NOT NULL CHECK (since_ms >= 0),
        PRIMARY KEY (line_id, direction)
    ) STRICT;
    CREATE INDEX outbox_queued ON outbox (line_id, precedence DESC, position)
        WHERE state = 'queued';
    CREATE INDEX outbox_in_flight ON outbox (line_id, seq) WHERE state = 'sequenced';
    """,
    # 4: checkpoints both stations signed (docs/record-format.md §8), named by proposer and
    # number; ``item`` is the checkpoint's encoding, body and both signatures.
    """
    CREATE TABLE checkpoints (
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        proposer         INTEGER NOT NULL CHECK (proposer IN (0, 1)),
        number           INTEGER NOT NULL CHECK (number >= 1),
        item             BLOB NOT NULL,
        stored_at_ms     INTEGER NOT NULL CHECK (stored_at_ms >= 0),
        PRIMARY KEY (line_id, proposer, number)
    ) STRICT;
    """,
    # 5: what an outbox row becomes: a MESSAGE, a TEST (the scheduled test message) or an ACK
    # (an operator's acknowledgement; its sealed body is the ACK body, docs/record-format.md
    # §3.2, and its idempotency key ``ack-<inbox id>`` names the message it acknowledges).
    """
    ALTER TABLE outbox ADD COLUMN kind INTEGER NOT NULL DEFAULT 1 CHECK (kind BETWEEN 1 AND 3);
    """,
    # 6: the station's own idempotency keys hold a space, which a client's key never does
    # (docs/api.md), so no request can take the key of an acknowledgement: ``ack <inbox id>``.
    # The inbox (incoming envelopes by kind, in stored order) gets its own partial index, so
    # ``inbox --follow`` polling for what is new reads only that, not every envelope sent; the
    # backlog's index covers what the watch counts every second (per peer: how many, the
    # oldest), so that reads the index alone, not each 1 KiB row.
    """
    UPDATE outbox SET idempotency_key = 'ack ' || substr(idempotency_key, 5)
        WHERE kind = 3 AND idempotency_key LIKE 'ack-%';
    CREATE INDEX envelopes_inbox ON envelopes (incoming, kind) WHERE incoming = 1;
    DROP INDEX outbox_unreceipted;
    CREATE INDEX outbox_backlog ON outbox (peer, queued_at_ms, state)
        WHERE state != 'receipted';
    """,
    # 7: the outbox's sealed texts move to a table of their own. A message changes state
    # twice after it is queued (sequenced, then receipted) and SQLite writes each page it
    # changes whole to the WAL (and again at the checkpoint): with the 1 KiB text in the row,
    # every state change wrote the text again. Now it rewrites a row of ~200 bytes. The
    # table is rebuilt, not altered (DROP COLUMN rewrites each row in place and frees no
    # page): the old one's pages go back to the file's free list. Positions are copied with
    # the table's AUTOINCREMENT counter, so none is ever used twice.
    """
    ALTER TABLE outbox RENAME TO outbox_v6;
    CREATE TABLE outbox (
        position         INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE CHECK (length(id) = 32),
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        peer             TEXT NOT NULL,
        precedence       INTEGER NOT NULL CHECK (precedence BETWEEN 0 AND 3),
        idempotency_key  TEXT NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 64),
        queued_at_ms     INTEGER NOT NULL CHECK (queued_at_ms >= 0),
        state            TEXT NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'sequenced', 'sent', 'receipted')),
        seq              INTEGER CHECK (seq >= 1),
        kind             INTEGER NOT NULL DEFAULT 1 CHECK (kind BETWEEN 1 AND 3)
    ) STRICT;
    INSERT INTO outbox (position, id, line_id, peer, precedence, idempotency_key, queued_at_ms,
                        state, seq, kind)
        SELECT position, id, line_id, peer, precedence, idempotency_key, queued_at_ms, state,
               seq, kind FROM outbox_v6;
    CREATE TABLE outbox_texts (
        position         INTEGER PRIMARY KEY REFERENCES outbox (position),
        nonce            BLOB NOT NULL CHECK (length(nonce) = 12),
        body             BLOB NOT NULL
    ) STRICT;
    INSERT INTO outbox_texts (position, nonce, body) SELECT position, nonce, body FROM outbox_v6;
    DELETE FROM sqlite_sequence WHERE name = 'outbox';
    INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', seq FROM sqlite_sequence
        WHERE name = 'outbox_v6';
    DROP TABLE outbox_v6;
    CREATE INDEX outbox_queued ON outbox (line_id, precedence DESC, position)
        WHERE state = 'queued';
    CREATE INDEX outbox_in_flight ON outbox (line_id, seq) WHERE state = 'sequenced';
    CREATE INDEX outbox_backlog ON outbox (peer, queued_at_ms, state)
        WHERE state != 'receipted';
    """,
    # 8: an outbox row no longer changes after it is queued: its state is read off the other
    # tables instead of written twice per message (with three indexes to move each time).
    # ``queue`` holds the rows waiting to be sequenced, in sending order (a sequencing commit
    # deletes what it takes), with copies of their peer and queue time so that the watch's
    # backlog count, every second, reads it alone; a row that left it has an envelope
    # (``envelopes.message_id``), receipted once the latest receipt of its direction reaches
    # its seq.
    # ``sending`` names the direction this station sends on each line it has sent on, so
    # what is in flight (after the latest receipt) is found by index, line by line.
    """
    DROP INDEX outbox_queued;
    DROP INDEX outbox_in_flight;
    DROP INDEX outbox_backlog;
    CREATE TABLE queue (
        line_id          BLOB NOT NULL CHECK (length(line_id) = 64),
        precedence       INTEGER NOT NULL CHECK (precedence BETWEEN 0 AND 3),
        position         INTEGER NOT NULL REFERENCES outbox (position),
        peer             TEXT NOT NULL,
        queued_at_ms     INTEGER NOT NULL CHECK (queued_at_ms >= 0),
        PRIMARY KEY (line_id, precedence DESC, position)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO queue (line_id, precedence, position, peer, queued_at_ms)
        SELECT line_id, precedence, position, peer, queued_at_ms FROM outbox
        WHERE state = 'queued';
    CREATE TABLE sending (
        line_id          BLOB PRIMARY KEY CHECK (length(line_id) = 64),
        direction        INTEGER NOT NULL CHECK (direction IN (0, 1))
    ) STRICT, WITHOUT ROWID;
    INSERT INTO sending (line_id, direction)
        SELECT DISTINCT line_id, direction FROM envelopes WHERE incoming = 0;
    ALTER TABLE outbox DROP COLUMN state;
    ALTER TABLE outbox DROP COLUMN seq;
    """,
)

#: The schema version this code writes and reads.
SCHEMA_VERSION: Final = len(MIGRATIONS)

#: How long a writer waits for another connection's lock before failing, milliseconds. The
#: daemon has two connections (the loop's, for handshake timestamps, and the store thread's);
#: a commit holds the lock for one fsync, so five seconds is a hung disk, not contention.
BUSY_TIMEOUT_MS: Final = 5000

#: What an SQLite result code (its low byte) means for the operator.
_WHY: Final = {
    sqlite3.SQLITE_FULL: "the disk or the database is full (free some space, then retry)",
    sqlite3.SQLITE_READONLY: "it is read-only (file system, file mode or database)",
    sqlite3.SQLITE_IOERR: "the disk reported an I/O error",
    sqlite3.SQLITE_CANTOPEN: "its file cannot be opened",
    sqlite3.SQLITE_BUSY: "another program holds its lock",
    sqlite3.SQLITE_LOCKED: "another program holds its lock",
    sqlite3.SQLITE_CORRUPT: "the database file is damaged",
    sqlite3.SQLITE_NOTADB: "the file is not a database",
}


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path``, durable and at the current schema.

    Args:
        path: the database file; created with the process umask (the daemon sets 077).

    Returns:
        A connection in autocommit mode, usable in the calling thread only: each store
        method opens its own :func:`transaction`.

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


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, path: Path, *, write: bool = True) -> Iterator[None]:
    """Run the block as one transaction: committed (and fsync'd) at its end, or rolled back.

    A write transaction starts with ``BEGIN IMMEDIATE``, taking the write lock before the
    first read, so a read-then-write (an idempotency check) cannot race another writer.

    Args:
        db: a connection from :func:`connect`.
        path: the database file, for messages.
        write: whether the block writes.

    Raises:
        StoreWriteError: a write or the commit failed (full, read-only, I/O): rolled back.
        StoreError: any other SQLite failure (rolled back); an exception of the block itself
            is re-raised after the rollback.
    """
    try:
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        yield
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(db)
        raise storage_error(exc, path, write=write) from None
    except BaseException:
        _rollback(db)
        raise


def storage_error(exc: sqlite3.Error, path: Path, *, write: bool) -> StoreError:
    """Return the one-line error for an SQLite failure on ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    why = _WHY.get(code & 0xFF, str(exc)) if isinstance(code, int) else str(exc)
    if not write:
        return StoreError(f"cannot read the store {path}: {why} ({exc})")
    cls = StoreWriteError if isinstance(exc, sqlite3.OperationalError) else StoreError
    if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
        # An I/O error may strike the commit's own fsync: the transaction may yet be on disk.
        outcome = "it may or may not be written: retry with the same idempotency key"
    else:
        outcome = "nothing was written"
    return cls(f"cannot write the store {path}: {why} ({exc}); {outcome}")


def _rollback(db: sqlite3.Connection) -> None:
    # SQLite rolls some failures back by itself (SQLITE_FULL may): then there is nothing left.
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def _journal_mode_wal(db: sqlite3.Connection) -> str:
    """Switch to WAL. Switching takes a lock the busy timeout does not wait for: a second
    connection opening a brand-new store at that instant gets SQLITE_BUSY, so wait here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return str(db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _configure(db: sqlite3.Connection, path: Path) -> None:
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        mode = _journal_mode_wal(db)
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
            with transaction(db, path):
                # Read again under the write lock: another connection may have migrated since.
                if db.execute("PRAGMA user_version").fetchone()[0] >= target:
                    continue
                for statement in _statements(MIGRATIONS[target - 1]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")
        except StoreError as exc:
            raise StoreError(f"{exc} (migrating to schema version {target})") from None
    if 0 < version < SCHEMA_VERSION:
        # A migration of a store in use logs about as much as the tables it rebuilds; give
        # that space back now, or the WAL file keeps it while the daemon runs. Best effort:
        # another connection reading at this instant only makes it wait for a later one.
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA busy_timeout = 100")  # a reader elsewhere: not worth a wait
            try:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit on its own).

    Migrations hold no ``;`` inside a literal or a trigger body, so a plain split is exact.
    """
    return [part.strip() for part in script.split(";") if part.strip()]
