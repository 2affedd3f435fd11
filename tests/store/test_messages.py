"""The outbox and inbox: idempotent queueing, exact texts in any script, the orders promised."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.constants import MAX_TEXT_LEN
from hotline.record import Direction, Kind, Precedence
from hotline.store import (
    Chains,
    DuplicateKeyError,
    Messages,
    OutboxState,
    RowCipher,
    connect,
)

from .helpers import KEY, LINE, OTHER_LINE, T0, count, deliver

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
    messages: Messages, chains: Chains, db_path: Path, text: str
) -> None:
    queue(messages, text, "k")
    deliver(chains, [text], precedence=Precedence.IMMEDIATE)
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


def test_the_inbox_is_in_delivery_order(messages: Messages, chains: Chains) -> None:
    deliver(chains, ["moscow 1"], sent_at_ms=T0 + 9, now_ms=T0 + 100)
    deliver(chains, ["paris 1"], line=OTHER_LINE, peer="paris", now_ms=T0 + 101)
    deliver(
        chains,
        ["moscow 2", "moscow 3"],
        precedence=Precedence.FLASH,
        kind=Kind.TEST,
        sent_at_ms=T0 + 8,  # the sender's clock went back: recorded as it happened
        now_ms=T0 + 102,
    )
    inbox = messages.inbox()
    assert [m.text for m in inbox] == ["moscow 1", "paris 1", "moscow 2", "moscow 3"]
    assert [(m.peer, m.seq) for m in inbox] == [
        ("moscow", 1),
        ("paris", 1),
        ("moscow", 2),
        ("moscow", 3),
    ]
    assert [(m.sent_at_ms, m.received_at_ms) for m in inbox] == [
        (T0 + 9, T0 + 100),
        (T0, T0 + 101),
        (T0 + 8, T0 + 102),
        (T0 + 8, T0 + 102),
    ]
    assert [m.precedence for m in inbox] == [Precedence.ROUTINE] * 2 + [Precedence.FLASH] * 2
    assert {m.direction for m in inbox} == {Direction.SECOND}
    assert [m.line_id for m in inbox] == [LINE, OTHER_LINE, LINE, LINE]
    assert len({m.id for m in inbox}) == 4 and all(len(m.id) == 32 for m in inbox)
    assert [m.seq for m in messages.inbox("moscow")] == [1, 2, 3]
    assert messages.inbox("nobody") == []
    assert messages.inbox() == inbox  # ids are given once, when stored


def test_reprs_hold_no_text(messages: Messages) -> None:
    queue(messages, "the secret text", "k")
    (message,) = messages.outbox()
    assert "secret" not in repr(message)
