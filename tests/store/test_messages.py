"""The outbox and inbox: idempotent queueing, exact texts in any script, the orders promised."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.constants import MAX_TEXT_LEN
from hotline.record import Direction, Precedence
from hotline.store import (
    DuplicateKeyError,
    Messages,
    OutboxState,
    RowCipher,
    StoreError,
    connect,
)

from .helpers import KEY, LINE, OTHER_LINE, raw

#: Texts an operator of either side may write, exactly as typed: Hebrew (right to left, with
#: niqqud), Russian, mixed with digits, emoji (outside the BMP), a right-to-left mark, a zero
#: width joiner, decomposed and composed forms (never normalised), newlines and tabs.
TEXTS = [
    "שלום",
    "Привет",
    "שָׁלוֹם עֲלֵיכֶם",
    "Привет, שלום! 42 🇮🇱🇷🇺 👩‍💻",
    "\u200fשלום\u200e Moscow\u202b ok\u202c",
    "e\u0301 é",  # the same letter twice, decomposed then composed: kept apart
    "line one\nline two\ttab\r\n",
    "\x00 nul and \x7f del",
]


def queue(
    messages: Messages,
    text: str,
    key: str,
    *,
    line: bytes = LINE,
    peer: str = "moscow",
    precedence: Precedence = Precedence.ROUTINE,
    now_ms: int = 1_750_000_000_000,
) -> tuple[str, bool]:
    queued = messages.queue(
        line_id=line,
        peer=peer,
        precedence=precedence,
        text=text,
        idempotency_key=key,
        now_ms=now_ms,
    )
    return queued.message.id, queued.created


def count(path: Path, table: str) -> int:
    db = raw(path)
    try:
        value: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return value
    finally:
        db.close()


def test_the_same_idempotency_key_twice_queues_one_message(
    messages: Messages, db_path: Path
) -> None:
    first, created = queue(messages, "hello", "retry-me")
    again, created_again = queue(messages, "hello", "retry-me", now_ms=1_750_000_009_999)
    assert (created, created_again) == (True, False)
    assert again == first
    assert count(db_path, "outbox") == 1
    (message,) = messages.outbox()
    assert message.queued_at_ms == 1_750_000_000_000  # the first request's time, kept


@pytest.mark.parametrize(
    "change",
    [
        {"text": "hello!"},
        {"precedence": Precedence.FLASH},
        {"peer": "washington", "line": OTHER_LINE},
        {"line": OTHER_LINE},
    ],
    ids=["text", "precedence", "peer", "line"],
)
def test_a_key_reused_for_another_message_is_refused(
    messages: Messages, db_path: Path, change: dict[str, object]
) -> None:
    first, _ = queue(messages, "hello", "k")
    arguments: dict[str, object] = {"text": "hello", "key": "k"} | change
    with pytest.raises(DuplicateKeyError, match=f"already queued message {first}"):
        queue(messages, **arguments)  # type: ignore[arg-type]
    assert count(db_path, "outbox") == 1


@pytest.mark.parametrize("text", TEXTS)
def test_texts_round_trip_byte_for_byte(
    messages: Messages, db: sqlite3.Connection, db_path: Path, text: str
) -> None:
    queue(messages, text, "k")
    messages.receive(
        line_id=LINE,
        peer="moscow",
        direction=Direction.SECOND,
        seq=1,
        precedence=Precedence.IMMEDIATE,
        text=text,
        sent_at_ms=1,
        received_at_ms=2,
    )
    # Read back through a new connection, as after a restart.
    other = connect(db_path)
    try:
        reopened = Messages(other, db_path, RowCipher(KEY))
        (queued,) = reopened.outbox()
        (received,) = reopened.inbox()
    finally:
        other.close()
    assert queued.text.encode("utf-8") == text.encode("utf-8")
    assert received.text.encode("utf-8") == text.encode("utf-8")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200))
def test_any_unicode_text_round_trips(messages: Messages, text: str) -> None:
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()  # one key per distinct text
    message_id, _ = queue(messages, text, key)
    stored = next(m for m in messages.outbox() if m.id == message_id)
    assert stored.text == text


def test_the_longest_text_fits_and_one_byte_more_does_not(messages: Messages) -> None:
    hebrew = "ש" * (MAX_TEXT_LEN // 2)  # two bytes a letter: exactly MAX_TEXT_LEN bytes
    queue(messages, hebrew, "k1")
    with pytest.raises(ValueError, match="1 to 61440 bytes"):
        queue(messages, hebrew + "a", "k2")
    with pytest.raises(ValueError, match="1 to 61440 bytes"):
        queue(messages, "", "k3")
    with pytest.raises(ValueError):
        queue(messages, "lone \ud800 surrogate", "k4")
    assert [m.text for m in messages.outbox()] == [hebrew]


def test_the_outbox_is_in_sending_order(messages: Messages) -> None:
    queue(messages, "routine 1", "a", now_ms=1)
    queue(messages, "flash", "b", precedence=Precedence.FLASH, now_ms=2)
    queue(messages, "priority", "c", precedence=Precedence.PRIORITY, now_ms=3)
    queue(messages, "routine 2", "d", now_ms=0)  # a clock stepped back: arrival order rules
    queue(messages, "flash to washington", "e", precedence=Precedence.FLASH, peer="washington")
    assert [m.text for m in messages.outbox()] == [
        "flash",
        "flash to washington",
        "priority",
        "routine 1",
        "routine 2",
    ]
    assert [m.text for m in messages.outbox("washington")] == ["flash to washington"]
    assert messages.outbox("nobody") == []
    assert {m.state for m in messages.outbox()} == {OutboxState.QUEUED}
    assert {m.seq for m in messages.outbox()} == {None}


def test_the_inbox_is_in_delivery_order(messages: Messages, db_path: Path) -> None:
    for seq, peer in ((1, "moscow"), (1, "washington"), (2, "moscow")):
        messages.receive(
            line_id=LINE if peer == "moscow" else OTHER_LINE,
            peer=peer,
            direction=Direction.FIRST,
            seq=seq,
            precedence=Precedence.ROUTINE,
            text=f"{peer} {seq}",
            sent_at_ms=10 - seq,
            received_at_ms=100,
        )
    assert [m.text for m in messages.inbox()] == ["moscow 1", "washington 1", "moscow 2"]
    assert [m.seq for m in messages.inbox("moscow")] == [1, 2]
    with pytest.raises(StoreError, match="UNIQUE"):  # one envelope per (line, direction, seq)
        messages.receive(
            line_id=LINE,
            peer="moscow",
            direction=Direction.FIRST,
            seq=2,
            precedence=Precedence.ROUTINE,
            text="again",
            sent_at_ms=1,
            received_at_ms=1,
        )
    assert count(db_path, "inbox") == 3


def test_reprs_hold_no_text(messages: Messages) -> None:
    queue(messages, "the secret text", "k")
    (message,) = messages.outbox()
    assert "secret" not in repr(message)
