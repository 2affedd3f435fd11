"""Messages.queue_many: one transaction for many messages, each with queue's idempotency rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.constants import MAX_TEXT_LEN
from hotline.record import Precedence
from hotline.store import DuplicateKeyError, Messages, OutboxState, ToQueue

from .helpers import LINE, OTHER_LINE, T0, raw


def item(key: str, text: str = "שלום", **fields: object) -> ToQueue:
    values: dict[str, object] = {
        "line_id": LINE,
        "peer": "moscow",
        "precedence": Precedence.ROUTINE,
        "text": text,
        "idempotency_key": key,
    }
    return ToQueue(**(values | fields))  # type: ignore[arg-type]


def outbox_rows(path: Path) -> int:
    db = raw(path)
    try:
        (rows,) = db.execute("SELECT count(*) FROM outbox").fetchone()
    finally:
        db.close()
    return int(rows)


def test_a_batch_queues_every_message_in_order(messages: Messages) -> None:
    items = [
        item("k0", "Привет"),
        item("k1", "שלום", precedence=Precedence.FLASH),
        item("k2", "hello", line_id=OTHER_LINE, peer="washington"),
    ]
    queued = messages.queue_many(items, now_ms=T0)
    assert [q.created for q in queued] == [True, True, True]
    assert [q.message.text for q in queued] == ["Привет", "שלום", "hello"]
    assert [q.message.peer for q in queued] == ["moscow", "moscow", "washington"]
    assert {q.message.queued_at_ms for q in queued} == {T0}
    assert {q.message.state for q in queued} == {OutboxState.QUEUED}
    outbox = messages.outbox()
    # Sending order: FLASH first, then by arrival.
    assert [m.id for m in outbox] == [queued[i].message.id for i in (1, 0, 2)]
    assert [m.text for m in outbox] == ["שלום", "Привет", "hello"]


def test_a_retried_batch_queues_nothing_twice(messages: Messages, db_path: Path) -> None:
    items = [item(f"k{i}", f"text {i}") for i in range(5)]
    first = messages.queue_many(items, now_ms=T0)
    again = messages.queue_many(items, now_ms=T0 + 1000)
    assert [q.created for q in again] == [False] * 5
    assert [q.message for q in again] == [q.message for q in first]
    assert outbox_rows(db_path) == 5


def test_a_batch_may_mix_new_and_already_queued(messages: Messages) -> None:
    (old,) = messages.queue_many([item("old", "earlier")], now_ms=T0)
    queued = messages.queue_many([item("new", "later"), item("old", "earlier")], now_ms=T0 + 5)
    assert [q.created for q in queued] == [True, False]
    assert queued[1].message == old.message
    assert queued[1].message.queued_at_ms == T0


def test_the_same_key_twice_in_one_batch_queues_once(messages: Messages) -> None:
    queued = messages.queue_many([item("k", "same"), item("k", "same")], now_ms=T0)
    assert [q.created for q in queued] == [True, False]
    assert queued[0].message == queued[1].message
    assert len(messages.outbox()) == 1


@pytest.mark.parametrize(
    "conflict",
    [
        {"text": "another text"},
        {"precedence": Precedence.FLASH},
        {"peer": "washington"},
        {"line_id": OTHER_LINE},
    ],
)
def test_a_conflicting_key_fails_the_whole_batch(
    messages: Messages, db_path: Path, conflict: dict[str, object]
) -> None:
    messages.queue_many([item("taken", "original")], now_ms=T0)
    fields: dict[str, object] = {"text": "original"} | conflict
    batch = [item("a", "one"), item("taken", **fields), item("b", "two")]
    with pytest.raises(DuplicateKeyError, match="'taken' already queued message"):
        messages.queue_many(batch, now_ms=T0)
    assert outbox_rows(db_path) == 1
    assert [m.text for m in messages.outbox()] == ["original"]


def test_a_conflict_inside_one_batch_fails_it_whole(messages: Messages, db_path: Path) -> None:
    with pytest.raises(DuplicateKeyError):
        messages.queue_many([item("k", "one"), item("k", "two")], now_ms=T0)
    assert outbox_rows(db_path) == 0


def test_a_bad_text_anywhere_queues_nothing(messages: Messages, db_path: Path) -> None:
    with pytest.raises(ValueError, match="1 to"):
        messages.queue_many([item("a"), item("b", "x" * (MAX_TEXT_LEN + 1))], now_ms=T0)
    with pytest.raises(ValueError, match="at least one"):
        messages.queue_many([], now_ms=T0)
    assert outbox_rows(db_path) == 0


def test_a_large_batch_is_one_transaction(messages: Messages, db_path: Path) -> None:
    """1,500 keys: more than one IN query's worth; one commit (one WAL frame set, one fsync)."""
    items = [item(f"key-{i}", f"{i:04d}" + "x" * 1020) for i in range(1500)]
    db = messages._db
    commits = []
    db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    try:
        queued = messages.queue_many(items, now_ms=T0)
        again = messages.queue_many(items[::-1], now_ms=T0)
    finally:
        db.set_trace_callback(None)
    assert commits == ["COMMIT", "COMMIT"]
    assert all(q.created for q in queued) and not any(q.created for q in again)
    assert [q.message.id for q in again] == [q.message.id for q in queued][::-1]
    assert outbox_rows(db_path) == 1500
    assert [m.text[:4] for m in messages.outbox()] == [f"{i:04d}" for i in range(1500)]


def test_queue_is_a_batch_of_one(messages: Messages) -> None:
    queued = messages.queue(
        line_id=LINE,
        peer="moscow",
        precedence=Precedence.PRIORITY,
        text="one",
        idempotency_key="solo",
        now_ms=T0,
    )
    (again,) = messages.queue_many([item("solo", "one", precedence=Precedence.PRIORITY)], now_ms=T0)
    assert queued.created and not again.created and again.message == queued.message
    assert repr(item("k", "secret text")) == "ToQueue(peer='moscow', precedence=ROUTINE)"
