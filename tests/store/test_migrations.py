"""Migrations keyed by PRAGMA user_version: from nothing, from issue 5's schema, atomically."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hotline.record import Precedence
from hotline.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    HandshakeRecord,
    Messages,
    OutboxState,
    RowCipher,
    Store,
    StoreError,
    connect,
    outbox_ad,
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


def insert_old_outbox_row(
    db: sqlite3.Connection,
    message_id: bytes,
    text: bytes,
    key: str,
    *,
    precedence: int = 0,
    queued_at_ms: int = 1,
    state: str = "queued",
    seq: int | None = None,
) -> None:
    """Insert a sealed outbox row as schemas 2 to 6 kept it: the text in the row itself."""
    nonce, body = RowCipher(KEY).seal(outbox_ad(LINE, message_id), text)
    db.execute(
        "INSERT INTO outbox (id, line_id, peer, precedence, idempotency_key, queued_at_ms,"
        " state, seq, nonce, body) VALUES (?, ?, 'moscow', ?, ?, ?, ?, ?, ?, ?)",
        (message_id.hex(), LINE, precedence, key, queued_at_ms, state, seq, nonce, body),
    )


def insert_old_envelope_row(db: sqlite3.Connection, seq: int, message_id: bytes) -> None:
    """Insert the row of our envelope ``seq`` (direction 0) made from outbox row
    ``message_id``: only the columns the outbox reads its state from are meaningful."""
    db.execute(
        "INSERT INTO envelopes (line_id, peer, direction, incoming, seq, hash, header, kind,"
        " precedence, sequenced_at_ms, stored_at_ms, message_id, nonce, body)"
        " VALUES (?, 'moscow', 0, 0, ?, zeroblob(64), zeroblob(296), 1, 0, 1, 1, ?,"
        " zeroblob(12), x'00')",
        (LINE, seq, message_id.hex()),
    )


def insert_old_receipt_row(db: sqlite3.Connection, seq: int) -> None:
    """Insert the peer's receipt of our envelopes up to ``seq`` (its item is not read)."""
    db.execute(
        "INSERT INTO receipts (line_id, direction, seq, issued, item, stored_at_ms)"
        " VALUES (?, 0, ?, 0, x'00', 1)",
        (LINE, seq),
    )


def test_there_are_eight_versions_so_far() -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) == 8


def test_from_an_empty_file_to_the_latest(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    path.touch()  # version 0: an empty file (a brand-new station)
    assert version(path) == 0
    connect(path).close()
    assert version(path) == SCHEMA_VERSION
    names = {name for kind, name, _ in schema(path) if kind == "table"}
    assert names == {
        "peer_handshake",
        "outbox",
        "outbox_texts",
        "envelopes",
        "heads",
        "receipts",
        "nacks",
        "halts",
        "checkpoints",
        "queue",
        "sending",
    }
    indexes = {name for kind, name, _ in schema(path) if kind == "index"}
    assert indexes == {"envelopes_inbox"}


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


def test_from_version_2_keeps_the_outbox_and_drops_the_empty_inbox(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    make_schema(path, 2)
    message_id = bytes(range(16))
    db = raw(path)
    insert_old_outbox_row(
        db, message_id, "Привет, שלום".encode(), "k", precedence=2, queued_at_ms=1750000000000
    )
    db.close()
    db = connect(path)
    try:
        (message,) = Messages(db, path, RowCipher(KEY)).outbox()
        assert (message.id, message.text, message.precedence, message.state) == (
            message_id.hex(),
            "Привет, שלום",
            Precedence.IMMEDIATE,
            OutboxState.QUEUED,
        )
        assert message.queued_at_ms == 1_750_000_000_000
    finally:
        db.close()
    assert version(path) == SCHEMA_VERSION
    assert "inbox" not in {name for _, name, _ in schema(path)}
    fresh = tmp_path / "fresh.db"
    connect(fresh).close()
    assert schema(path) == schema(fresh)


def test_from_version_6_moves_the_texts_out_of_the_outbox_rows(tmp_path: Path) -> None:
    """Queued, sequenced and receipted rows keep their texts, ids, states and seqs."""
    path = tmp_path / "hotline.db"
    make_schema(path, 6)
    db = raw(path)
    for index, (state, seq) in enumerate([("receipted", 1), ("sequenced", 2), ("queued", None)]):
        text = f"текст {index}".encode()
        insert_old_outbox_row(db, bytes([index]) * 16, text, f"k{index}", state=state, seq=seq)
        if seq is not None:
            insert_old_envelope_row(db, seq, bytes([index]) * 16)
    insert_old_receipt_row(db, 1)
    db.close()
    db = connect(path)
    try:
        shown = [
            (m.id, m.text, m.state, m.seq) for m in Messages(db, path, RowCipher(KEY)).outbox()
        ]
        columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    finally:
        db.close()
    assert shown == [
        (bytes([1] * 16).hex(), "текст 1", OutboxState.SEQUENCED, 2),
        (bytes([2] * 16).hex(), "текст 2", OutboxState.QUEUED, None),
    ]
    assert not {"nonce", "body"} & columns  # a state change no longer rewrites the text
    fresh = tmp_path / "fresh.db"
    connect(fresh).close()
    assert schema(path) == schema(fresh)


def test_from_version_7_reads_each_state_off_the_queue_the_envelopes_and_the_receipts(
    tmp_path: Path,
) -> None:
    """Rows queued stay in the queue, in order; sequenced ones are found through their
    envelopes; a receipted one is left out. The outbox rows lose their state and seq."""
    path = tmp_path / "hotline.db"
    make_schema(path, 7)
    db = raw(path)
    rows = [("receipted", 1, 0), ("sequenced", 2, 0), ("queued", None, 0), ("queued", None, 3)]
    for index, (state, seq, precedence) in enumerate(rows):
        message_id = bytes([index]) * 16
        db.execute(
            "INSERT INTO outbox (id, line_id, peer, precedence, idempotency_key, queued_at_ms,"
            " state, seq) VALUES (?, ?, 'moscow', ?, ?, ?, ?, ?)",
            (message_id.hex(), LINE, precedence, f"k{index}", 10 + index, state, seq),
        )
        nonce, body = RowCipher(KEY).seal(outbox_ad(LINE, message_id), f"t{index}".encode())
        db.execute(
            "INSERT INTO outbox_texts (position, nonce, body) VALUES (?, ?, ?)",
            (index + 1, nonce, body),
        )
        if seq is not None:
            insert_old_envelope_row(db, seq, message_id)
    insert_old_receipt_row(db, 1)
    db.close()
    db = connect(path)
    try:
        messages = Messages(db, path, RowCipher(KEY))
        shown = [(m.text, m.state, m.seq) for m in messages.outbox()]
        receipted = [messages.receipted(bytes([index]).hex() * 16) for index in range(4)]
        summary = messages.outbox_summary()
        columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
        queue = db.execute("SELECT precedence, position FROM queue").fetchall()
        sending = db.execute("SELECT line_id, direction FROM sending").fetchall()
    finally:
        db.close()
    assert shown == [
        ("t1", OutboxState.SEQUENCED, 2),
        ("t3", OutboxState.QUEUED, None),  # FLASH first
        ("t2", OutboxState.QUEUED, None),
    ]
    assert receipted == [True, False, False, False]
    assert summary == {"moscow": (3, 11)}
    assert not {"state", "seq"} & columns  # nothing in the row changes after queueing
    assert queue == [(3, 4), (0, 3)]
    assert sending == [(LINE, 0)]
    fresh = tmp_path / "fresh.db"
    connect(fresh).close()
    assert schema(path) == schema(fresh)


def test_migration_7_gives_back_the_space_of_the_old_outbox(tmp_path: Path) -> None:
    """The outbox is rebuilt (its old pages freed for reuse), the WAL is emptied after the
    migration, and positions carry on from the old table's AUTOINCREMENT counter."""
    path = tmp_path / "hotline.db"
    make_schema(path, 6)
    cipher = RowCipher(KEY)
    db = raw(path)
    db.execute("PRAGMA journal_mode = WAL")
    for index in range(400):
        insert_old_outbox_row(db, index.to_bytes(16, "big"), b"x" * 1000, f"k{index}")
    db.execute("DELETE FROM outbox WHERE position > 390")  # the counter, not max(position)
    db.close()
    before = path.stat().st_size
    db = connect(path)
    try:
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        page = db.execute("PRAGMA page_size").fetchone()[0]
        assert Path(f"{path}-wal").stat().st_size == 0  # truncated after migrating
        assert free * page > before / 2  # the old table's pages wait for reuse
        queued = Messages(db, path, cipher).queue(
            line_id=LINE,
            peer="moscow",
            precedence=Precedence.ROUTINE,
            text="after",
            idempotency_key="k-after",
            now_ms=2,
        )
        (position,) = db.execute(
            "SELECT position FROM outbox WHERE id = ?", (queued.message.id,)
        ).fetchone()
    finally:
        db.close()
    assert position == 401


#: One good row per new table (``{line}`` and friends filled in), and changes that break it.
BAD_ROWS = [
    ("envelopes", "hash", "x'00'"),  # a hash is 64 bytes
    ("envelopes", "header", "zeroblob(295)"),  # a header is 296 bytes
    ("envelopes", "seq", "0"),  # seqs start at 1
    ("envelopes", "direction", "2"),
    ("envelopes", "kind", "0"),
    ("envelopes", "message_id", "'short'"),
    ("envelopes", "nonce", "zeroblob(11)"),
    ("heads", "seq", "0"),
    ("heads", "line_id", "zeroblob(63)"),
    ("receipts", "issued", "2"),
    ("nacks", "direction", "-1"),
    ("halts", "nack_id", "42"),  # no such NACK
    ("halts", "since_ms", "'yesterday'"),  # STRICT: an integer
    ("sending", "direction", "2"),
    ("sending", "line_id", "zeroblob(63)"),
]

GOOD_ROWS = {
    "envelopes": {
        "line_id": "zeroblob(64)",
        "peer": "'moscow'",
        "direction": "1",
        "incoming": "1",
        "seq": "1",
        "hash": "zeroblob(64)",
        "header": "zeroblob(296)",
        "kind": "1",
        "precedence": "3",
        "sequenced_at_ms": "1",
        "stored_at_ms": "2",
        "message_id": "'00112233445566778899aabbccddeeff'",
        "nonce": "zeroblob(12)",
        "body": "x'00'",
    },
    "heads": {"line_id": "zeroblob(64)", "direction": "1", "seq": "1", "item": "x'00'"},
    "receipts": {
        "line_id": "zeroblob(64)",
        "direction": "1",
        "seq": "1",
        "issued": "1",
        "item": "x'00'",
        "stored_at_ms": "1",
    },
    "nacks": {
        "line_id": "zeroblob(64)",
        "direction": "1",
        "issued": "0",
        "item": "x'00'",
        "stored_at_ms": "1",
    },
    "halts": {"line_id": "zeroblob(64)", "direction": "1", "nack_id": "1", "since_ms": "1"},
    "sending": {"line_id": "zeroblob(64)", "direction": "0"},
}


def insert(db: sqlite3.Connection, table: str, row: dict[str, str]) -> None:
    db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(row.values())})")


@pytest.mark.parametrize(("table", "column", "value"), BAD_ROWS)
def test_the_schema_refuses_bad_rows(tmp_path: Path, table: str, column: str, value: str) -> None:
    db = connect(tmp_path / "hotline.db")
    try:
        if table == "halts":
            insert(db, "nacks", GOOD_ROWS["nacks"])  # the NACK a halt names
        with pytest.raises(sqlite3.IntegrityError):
            insert(db, table, GOOD_ROWS[table] | {column: value})
        insert(db, table, GOOD_ROWS[table])  # the row without the change is accepted
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)
    finally:
        db.close()


def test_one_envelope_per_place_and_one_row_per_message_id(tmp_path: Path) -> None:
    db = connect(tmp_path / "hotline.db")
    try:
        envelope = GOOD_ROWS["envelopes"]
        insert(db, "envelopes", envelope)
        with pytest.raises(
            sqlite3.IntegrityError, match=r"envelopes\.line_id, envelopes\.direction"
        ):
            insert(db, "envelopes", envelope | {"message_id": "'ffffffffffffffffffffffffffffffff'"})
        with pytest.raises(sqlite3.IntegrityError, match="message_id"):
            insert(db, "envelopes", envelope | {"seq": "2"})
        insert(
            db,
            "envelopes",
            envelope | {"seq": "2", "message_id": "'f' || substr(hex(zeroblob(16)), 2)"},
        )
        assert db.execute("SELECT count(*) FROM envelopes").fetchone() == (2,)
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


def test_two_connections_opening_a_new_store_at_once_both_succeed(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "hotline.db"
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def open_it() -> None:
        start.wait()
        try:
            connect(path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert version(path) == SCHEMA_VERSION


def test_the_queue_holds_outbox_rows_only_at_a_precedence(tmp_path: Path) -> None:
    db = connect(tmp_path / "hotline.db")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            db.execute("INSERT INTO queue VALUES (zeroblob(64), 0, 1, 'moscow', 1)")
        db.execute(
            "INSERT INTO outbox (position, id, line_id, peer, precedence, idempotency_key,"
            " queued_at_ms) VALUES (1, ?, zeroblob(64), 'moscow', 0, 'k', 1)",
            ("0" * 32,),
        )
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            db.execute("INSERT INTO queue VALUES (zeroblob(64), 4, 1, 'moscow', 1)")
        db.execute("INSERT INTO queue VALUES (zeroblob(64), 0, 1, 'moscow', 1)")
        assert db.execute("SELECT count(*) FROM queue").fetchone() == (1,)
    finally:
        db.close()
