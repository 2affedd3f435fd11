"""Escalation of unacknowledged FLASH/IMMEDIATE messages, on a virtual clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.watch import Escalations
from hotline.watch._escalations import MAX_WAITING

MINUTES_5 = 300_000
L = bytes(64)
M = bytes(range(64))


def test_an_unacknowledged_flash_escalates_exactly_on_time_and_once() -> None:
    escalations = Escalations(after_ms=MINUTES_5)
    escalations.expect(
        "a" * 32, peer="moscow", precedence="flash", seq=7, received_at_ms=1_000, line_id=L
    )
    assert escalations.due(1_000 + MINUTES_5 - 1) == []
    (due,) = escalations.due(1_000 + MINUTES_5)
    assert (due.message_id, due.peer, due.precedence, due.seq) == ("a" * 32, "moscow", "flash", 7)
    assert escalations.due(10 * MINUTES_5) == []  # once only


def test_an_acknowledged_message_never_escalates() -> None:
    escalations = Escalations(after_ms=MINUTES_5)
    escalations.expect(
        "a" * 32, peer="moscow", precedence="flash", seq=1, received_at_ms=0, line_id=L
    )
    escalations.expect(
        "b" * 32, peer="moscow", precedence="immediate", seq=2, received_at_ms=5, line_id=L
    )
    assert escalations.acknowledged("a" * 32) is True
    assert escalations.acknowledged("a" * 32) is False
    assert [d.message_id for d in escalations.due(MINUTES_5 + 5)] == ["b" * 32]


def test_an_unpaired_peers_messages_no_longer_escalate() -> None:
    escalations = Escalations(after_ms=MINUTES_5)
    escalations.expect(
        "a" * 32, peer="moscow", precedence="flash", seq=1, received_at_ms=0, line_id=L
    )
    escalations.expect(
        "b" * 32, peer="minsk", precedence="flash", seq=1, received_at_ms=0, line_id=M
    )
    assert [w.message_id for w in escalations.forget({L})] == ["a" * 32]
    assert escalations.forget({L}) == []
    assert [d.peer for d in escalations.due(MINUTES_5)] == ["minsk"]


def test_the_same_message_is_expected_once() -> None:
    escalations = Escalations(after_ms=10)
    escalations.expect("a" * 32, peer="p", precedence="flash", seq=1, received_at_ms=0, line_id=L)
    escalations.expect("a" * 32, peer="p", precedence="flash", seq=1, received_at_ms=100, line_id=L)
    assert [d.due_ms for d in escalations.due(10)] == [10]


def test_a_flood_escalates_the_oldest_rather_than_grow() -> None:
    escalations = Escalations(after_ms=MINUTES_5)
    for i in range(MAX_WAITING):
        assert (
            escalations.expect(
                f"{i:032x}", peer="p", precedence="flash", seq=i + 1, received_at_ms=i, line_id=L
            )
            == []
        )
    (pushed,) = escalations.expect(
        "f" * 32, peer="p", precedence="flash", seq=0, received_at_ms=MAX_WAITING, line_id=L
    )
    assert pushed.message_id == f"{0:032x}"
    assert len(escalations) == MAX_WAITING


def test_the_wait_is_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Escalations(after_ms=0)


@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 10**6), st.booleans()), max_size=40),
    st.integers(0, 3 * 10**6),
)
def test_every_unacknowledged_message_escalates_once_at_its_time(
    events: list[tuple[int, int, bool]], horizon: int
) -> None:
    escalations = Escalations(after_ms=MINUTES_5)
    expected: dict[str, int] = {}
    for number, at, acked in sorted(events, key=lambda e: e[1]):
        message_id = f"{number:032x}"
        if message_id not in expected:
            escalations.expect(
                message_id,
                peer="p",
                precedence="flash",
                seq=number + 1,
                received_at_ms=at,
                line_id=L,
            )
            expected[message_id] = at + MINUTES_5
        if acked:
            escalations.acknowledged(message_id)
            expected.pop(message_id, None)
            expected[message_id] = -1  # acknowledged: never escalates
    first = escalations.due(horizon)
    later = escalations.due(10**9)
    assert {d.message_id for d in first} == {
        m for m, due in expected.items() if 0 <= due <= horizon
    }
    assert {d.message_id for d in later} == {m for m, due in expected.items() if due > horizon}
    assert all(d.due_ms <= horizon for d in first)
