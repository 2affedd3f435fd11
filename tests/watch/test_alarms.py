"""The alarm board's rules (fold, reopen, rate limit, acknowledgement, bound) and a line's
watch (down, test overdue, clock skew), in virtual time."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hotline.watch
from hotline.errors import ExitCode, HotlineError
from hotline.watch import (
    DEFAULT_LEVELS,
    Alarm,
    AlarmBoard,
    AlarmKind,
    AlarmLevel,
    LineWatch,
    UnknownAlarmError,
)

DOWN = AlarmKind.LINE_DOWN
W = 300_000  # the default repeat window


def test_surface() -> None:
    assert {name for name in vars(hotline.watch) if not name.startswith("_")} == {
        "DEFAULT_LEVELS",
        "MAX_OPERATOR_LEN",
        "MAX_TEXT_LEN",
        "Alarm",
        "AlarmBoard",
        "AlarmKind",
        "AlarmLevel",
        "Awaiting",
        "Escalations",
        "LineWatch",
        "UnknownAlarmError",
        "clock_synchronised",
    }


def test_every_kind_has_its_level() -> None:
    assert dict(DEFAULT_LEVELS) == {
        AlarmKind.HALTED: AlarmLevel.FLASH,
        AlarmKind.RECORD: AlarmLevel.FLASH,
        AlarmKind.UNACKNOWLEDGED: AlarmLevel.FLASH,
        AlarmKind.WATCH_FAILED: AlarmLevel.FLASH,
        AlarmKind.LINE_DOWN: AlarmLevel.IMMEDIATE,
        AlarmKind.TEST_OVERDUE: AlarmLevel.IMMEDIATE,
        AlarmKind.CLOCK_SKEW: AlarmLevel.IMMEDIATE,
        AlarmKind.CLOCK_UNSYNCED: AlarmLevel.ROUTINE,
    }
    assert [str(kind) for kind in AlarmKind] == [
        "line_down",
        "test_overdue",
        "halted",
        "record",
        "clock_skew",
        "clock_unsynced",
        "unacknowledged",
        "watch_failed",
    ]


def test_a_new_alarm_is_announced() -> None:
    board = AlarmBoard()
    alarm = board.raise_alarm(DOWN, "moscow", "line to moscow down for 31 s", 1_000)
    assert alarm == Alarm(
        id=1,
        kind=DOWN,
        level=AlarmLevel.IMMEDIATE,
        peer="moscow",
        text="line to moscow down for 31 s",
        raised_at_ms=1_000,
        last_at_ms=1_000,
    )
    assert alarm.active and not alarm.acknowledged and alarm.open
    assert board.alarms() == (alarm,)
    assert board.standing(DOWN, "moscow") == alarm
    assert board.standing(DOWN, "paris") is None
    assert board.standing(AlarmKind.HALTED, "moscow") is None


def test_the_caller_may_set_the_level() -> None:
    board = AlarmBoard()
    alarm = board.raise_alarm(DOWN, "moscow", "down", 0, level=AlarmLevel.FLASH)
    assert alarm is not None and alarm.level is AlarmLevel.FLASH


def test_a_standing_alarm_absorbs_a_raise() -> None:
    board = AlarmBoard()
    board.raise_alarm(DOWN, "moscow", "down for 31 s", 1_000)
    board.ack(1, "olga", 1_500)
    assert board.raise_alarm(DOWN, "moscow", "down for 62 s", 2_000) is None
    (alarm,) = board.alarms(include_closed=True)
    assert (alarm.id, alarm.count, alarm.raised_at_ms, alarm.last_at_ms, alarm.text) == (
        1,
        2,
        1_000,
        2_000,
        "down for 62 s",
    )
    assert alarm.acked_by == "olga"  # the condition it acknowledged still holds


def test_clear_ends_only_a_standing_alarm() -> None:
    board = AlarmBoard()
    assert board.clear(DOWN, "moscow", 5) is None
    board.raise_alarm(DOWN, "moscow", "down", 10)
    cleared = board.clear(DOWN, "moscow", 20)
    assert cleared is not None and cleared.cleared_at_ms == 20 and not cleared.active
    assert cleared.open  # not yet acknowledged: still shown
    assert board.clear(DOWN, "moscow", 30) is None
    assert board.standing(DOWN, "moscow") is None
    assert board.alarms() == (cleared,)


def test_a_flapping_line_reopens_its_alarm_silently() -> None:
    board = AlarmBoard()
    assert board.raise_alarm(DOWN, "moscow", "down", 0) is not None
    for second in range(1, 100):
        board.clear(DOWN, "moscow", second * 1_000)
        assert board.raise_alarm(DOWN, "moscow", f"down {second}", second * 1_000 + 500) is None
    (alarm,) = board.alarms(include_closed=True)
    assert (alarm.id, alarm.count, alarm.text, alarm.active) == (1, 100, "down 99", True)


def test_an_acknowledged_alarm_that_comes_back_is_announced_again() -> None:
    board = AlarmBoard(max_new_per_minute=3)
    board.raise_alarm(DOWN, "moscow", "down", 0)
    board.clear(DOWN, "moscow", 1_000)
    board.ack(1, "olga", 1_001)  # olga takes it for over
    back = board.raise_alarm(DOWN, "moscow", "down again", 2_000)
    assert back is not None and back.id == 1 and back.count == 2 and back.active
    assert (back.acked_by, back.acked_at_ms) == (None, None)  # to acknowledge again
    # acknowledged while it stands, it is folded: the acknowledgement covers it
    board.ack(1, "olga", 2_001)
    assert board.raise_alarm(DOWN, "moscow", "still down", 2_002) is None
    # a flapping line is announced once per acknowledgement, within the rate limit
    announced = 0
    for second in range(3, 10):
        board.clear(DOWN, "moscow", second * 1_000)
        board.ack(1, "olga", second * 1_000 + 1)
        announced += board.raise_alarm(DOWN, "moscow", "down", second * 1_000 + 500) is not None
    assert announced == 1  # 0 and 2 s announced already: three a minute
    assert board.suppressed_count == 6
    assert board.alarms()[0].count == 10


def test_the_repeat_window_boundary() -> None:
    board = AlarmBoard()
    board.raise_alarm(DOWN, "moscow", "down", 0)
    board.clear(DOWN, "moscow", 1_000)
    assert board.raise_alarm(DOWN, "moscow", "down", 1_000 + W - 1) is None  # reopened
    board.clear(DOWN, "moscow", 2_000 + W)
    again = board.raise_alarm(DOWN, "moscow", "down again", 2_000 + 2 * W)
    assert again is not None and again.id == 2 and again.count == 1
    assert [a.id for a in board.alarms()] == [2, 1]  # newest first; 1 is not acknowledged
    assert board.standing(DOWN, "moscow") == again


def test_the_rate_limit_records_but_does_not_announce() -> None:
    board = AlarmBoard(max_new_per_minute=3)
    announced = [board.raise_alarm(DOWN, f"peer{i}", "down", 1_000 * i) for i in range(3)]
    assert [a.id for a in announced if a is not None] == [1, 2, 3]
    assert board.raise_alarm(DOWN, "peer3", "down", 59_999) is None
    assert board.suppressed_count == 1
    suppressed = board.standing(DOWN, "peer3")
    assert suppressed is not None and suppressed.suppressed and suppressed.id == 4
    assert suppressed in board.alarms()
    # the window slides: the first announcement (at 0) leaves it at 60 s
    fifth = board.raise_alarm(DOWN, "peer4", "down", 60_000)
    assert fifth is not None and fifth.id == 5 and not fifth.suppressed
    assert board.raise_alarm(DOWN, "peer5", "down", 60_001) is None
    assert board.suppressed_count == 2
    # a FLASH alarm is never kept quiet by lesser ones
    halted = board.raise_alarm(AlarmKind.HALTED, "peer5", "direction in halted", 60_002)
    assert halted is not None and not halted.suppressed
    assert board.suppressed_count == 2


def test_acknowledgement() -> None:
    board = AlarmBoard()
    board.raise_alarm(AlarmKind.HALTED, "moscow", "direction halted", 0)
    acked = board.ack(1, "olga", 100)
    assert (acked.acked_by, acked.acked_at_ms, acked.acknowledged, acked.open) == (
        "olga",
        100,
        True,
        True,  # acknowledged, but the condition holds
    )
    assert board.ack(1, "ivan", 200) == acked  # the first acknowledgement stands
    closed = board.clear(AlarmKind.HALTED, "moscow", 300)
    assert closed is not None and not closed.open
    assert board.alarms() == ()
    assert board.alarms(include_closed=True) == (closed,)


def test_acknowledging_an_unknown_alarm() -> None:
    board = AlarmBoard()
    with pytest.raises(UnknownAlarmError, match="no alarm 7"):
        board.ack(7, "olga", 0)
    assert issubclass(UnknownAlarmError, HotlineError)
    assert UnknownAlarmError("x").exit_code == ExitCode.REQUEST_INVALID


@pytest.mark.parametrize(
    "operator", ["", " ", "o" * 65, "ж" * 33, "olga\n", "olga\x1b[2J", "\u202eolga"]
)
def test_an_operator_name_is_checked(operator: str) -> None:
    board = AlarmBoard()
    board.raise_alarm(DOWN, "moscow", "down", 0)
    with pytest.raises(ValueError, match="1 to 64 bytes of UTF-8"):
        board.ack(1, operator, 1)
    assert board.ack(1, "o" * 64, 1).acked_by == "o" * 64


def test_texts_are_one_bounded_line() -> None:
    board = AlarmBoard()
    alarm = board.raise_alarm(AlarmKind.RECORD, "moscow", "refused:\nALARM forged\x1b\u2028x", 0)
    assert alarm is not None and alarm.text == "refused:\ufffdALARM forged\ufffd\ufffdx"
    board.raise_alarm(AlarmKind.RECORD, "moscow", "é" * 501, 1)
    folded = board.standing(AlarmKind.RECORD, "moscow")
    assert folded is not None and folded.text == "é" * 499 + "…" and len(folded.text) == 500
    board.raise_alarm(AlarmKind.RECORD, "moscow", "é" * 500, 2)
    assert board.alarms()[0].text == "é" * 500


def test_station_wide_alarms_have_no_peer() -> None:
    board = AlarmBoard()
    alarm = board.raise_alarm(AlarmKind.CLOCK_UNSYNCED, None, "our clock is not synchronised", 0)
    assert alarm is not None and alarm.peer is None and alarm.level is AlarmLevel.ROUTINE
    assert board.standing(AlarmKind.CLOCK_UNSYNCED, None) == alarm


def test_to_json() -> None:
    board = AlarmBoard()
    board.raise_alarm(AlarmKind.CLOCK_SKEW, "moscow", "skew", 10)
    assert board.ack(1, "olga", 20).to_json() == {
        "id": 1,
        "kind": "clock_skew",
        "level": "immediate",
        "peer": "moscow",
        "text": "skew",
        "raised_at_ms": 10,
        "last_at_ms": 10,
        "count": 1,
        "cleared_at_ms": None,
        "acked_by": "olga",
        "acked_at_ms": 20,
        "suppressed": False,
        "active": True,
        "acknowledged": True,
    }


def test_the_board_drops_closed_then_cleared_never_standing() -> None:
    board = AlarmBoard(keep=2, repeat_window_ms=10)
    for i in range(3):
        board.raise_alarm(DOWN, f"p{i}", "down", i)
    assert [a.id for a in board.alarms()] == [3, 2, 1]  # all stand: none dropped
    board.clear(DOWN, "p0", 10)  # cleared, not acknowledged: the only candidate
    assert [a.id for a in board.alarms(include_closed=True)] == [3, 2]
    board.clear(DOWN, "p1", 11)
    board.clear(DOWN, "p2", 12)
    board.ack(3, "olga", 13)  # closed: goes before the older but still open 2
    board.raise_alarm(DOWN, "p3", "down", 14)
    assert [a.id for a in board.alarms(include_closed=True)] == [4, 2]
    with pytest.raises(UnknownAlarmError):
        board.ack(1, "olga", 15)


def test_a_reopening_kept_quiet_by_the_rate_limit_is_marked_suppressed() -> None:
    board = AlarmBoard(max_new_per_minute=1)
    board.raise_alarm(DOWN, "moscow", "down", 0)
    board.clear(DOWN, "moscow", 1)
    board.ack(1, "olga", 2)
    assert board.raise_alarm(DOWN, "moscow", "down", 3) is None  # the minute's one is used
    assert board.alarms()[0].suppressed and board.suppressed_count == 1
    board.clear(DOWN, "moscow", 60_001)
    board.ack(1, "olga", 60_002)
    back = board.raise_alarm(DOWN, "moscow", "down", 60_003)
    assert back is not None and not back.suppressed


def test_an_acknowledged_alarm_trimmed_then_back_is_announced() -> None:
    board = AlarmBoard(keep=1, repeat_window_ms=1_000)
    board.raise_alarm(AlarmKind.RECORD, "p0", "record damaged", 0)
    board.clear(AlarmKind.RECORD, "p0", 0)
    board.raise_alarm(AlarmKind.RECORD, "p1", "record damaged", 1)  # both kept: FLASH
    board.ack(1, "olga", 101)  # closed: trimmed at once, the board being full
    assert [a.id for a in board.alarms(include_closed=True)] == [2]
    back = board.raise_alarm(AlarmKind.RECORD, "p0", "record damaged again", 200)
    assert back is not None and back.id == 3


def test_the_board_keeps_flash_alarms_nobody_acknowledged() -> None:
    board = AlarmBoard(keep=2, repeat_window_ms=10)
    for i in range(4):
        board.raise_alarm(AlarmKind.RECORD, f"p{i}", "record damaged", i)
        board.clear(AlarmKind.RECORD, f"p{i}", i)
    board.raise_alarm(DOWN, "p0", "down", 10)
    board.clear(DOWN, "p0", 11)
    board.raise_alarm(DOWN, "p1", "down", 12)  # the cleared line_down goes, not the records
    assert [a.id for a in board.alarms(include_closed=True)] == [6, 4, 3, 2, 1]
    board.ack(1, "olga", 13)
    board.raise_alarm(DOWN, "p2", "down", 14)  # acknowledged: now it may go
    assert [a.id for a in board.alarms(include_closed=True)] == [7, 6, 4, 3, 2]
    # past ten times keep, even those go, oldest first
    for i in range(4, 30):
        board.raise_alarm(AlarmKind.RECORD, f"p{i}", "record damaged", 20 + i)
        board.clear(AlarmKind.RECORD, f"p{i}", 20 + i)
    held = board.alarms(include_closed=True)
    assert len(held) == 20
    assert 2 not in {a.id for a in held} and {7, 6} <= {a.id for a in held}


def test_a_trimmed_alarm_raised_again_within_the_window_is_not_announced() -> None:
    board = AlarmBoard(keep=1, repeat_window_ms=1_000)
    board.raise_alarm(DOWN, "p0", "down", 0)
    board.clear(DOWN, "p0", 100)
    board.raise_alarm(DOWN, "p1", "down", 200)  # trims alarm 1
    assert [a.id for a in board.alarms(include_closed=True)] == [2]
    assert board.raise_alarm(DOWN, "p0", "down", 1_099) is None
    again = board.standing(DOWN, "p0")
    assert again is not None and again.id == 3 and not again.suppressed
    assert board.suppressed_count == 0
    board.clear(DOWN, "p0", 1_200)
    assert board.raise_alarm(DOWN, "p0", "down", 2_200) is not None


# --- The property: announcements per (kind, peer) are a repeat window apart; memory bounded ---

# few (kind, peer) pairs, so that the same ones come back within a window
_KINDS = st.sampled_from([AlarmKind.LINE_DOWN, AlarmKind.CLOCK_UNSYNCED, AlarmKind.RECORD])
_PEERS = st.sampled_from(["moscow", None])
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["raise", "clear", "ack"]),
        _KINDS,
        _PEERS,
        st.integers(0, 50) | st.integers(0, 5_000),  # time step, ms: often within a window
        st.integers(1, 12),  # alarm id to acknowledge
    ),
    max_size=120,
)


@settings(max_examples=400)
@example(  # an alarm trimmed from the board and raised again within its window: not announced
    ops=[
        ("raise", DOWN, "moscow", 0, 1),
        ("clear", DOWN, "moscow", 1, 1),
        ("raise", DOWN, None, 1, 1),
        ("raise", DOWN, "moscow", 1, 1),
    ],
    window=3_000,
    keep=1,
    per_minute=4,
)
@given(
    ops=_OPS,
    window=st.integers(1, 3_000),
    keep=st.integers(1, 6),
    per_minute=st.integers(1, 4),
)
def test_announcements_are_spaced_and_the_board_bounded(
    ops: list[tuple[str, AlarmKind, str | None, int, int]],
    window: int,
    keep: int,
    per_minute: int,
) -> None:
    board = AlarmBoard(repeat_window_ms=window, keep=keep, max_new_per_minute=per_minute)
    now = 0
    last_announced: dict[tuple[AlarmKind, str | None], int] = {}
    #: The keys an operator acknowledged an alarm of since their last announcement.
    acked: set[tuple[AlarmKind, str | None]] = set()
    announced_at: list[int] = []
    ids: set[int] = set()
    for op, kind, peer, step, alarm_id in ops:
        now += step
        if op == "raise":
            alarm = board.raise_alarm(kind, peer, "text", now)
            if alarm is not None:
                key = (kind, peer)
                spaced = key not in last_announced or now - last_announced[key] >= window
                assert spaced or key in acked
                acked.discard(key)
                last_announced[key] = now
                if alarm.level is not AlarmLevel.FLASH:
                    announced_at.append(now)
                assert alarm.id not in ids or alarm.count > 1  # new, or reopened
        elif op == "clear":
            board.clear(kind, peer, now)
        elif alarm_id in {a.id for a in board.alarms(include_closed=True)}:
            alarm = board.ack(alarm_id, "olga", now)
            assert alarm.acknowledged
            acked.add((alarm.kind, alarm.peer))
        else:  # never made, or trimmed
            with pytest.raises(UnknownAlarmError):
                board.ack(alarm_id, "olga", now)
        held = board.alarms(include_closed=True)
        ids |= {a.id for a in held}
        standing = sum(a.active for a in held)
        kept = sum(a.level is AlarmLevel.FLASH and not a.acknowledged for a in held)
        assert len(held) <= max(keep, standing + kept)
        assert len(held) <= max(10 * keep, standing)
        assert [a.id for a in held] == sorted((a.id for a in held), reverse=True)
        assert all(board.standing(a.kind, a.peer) == a for a in held if a.active)
        assert sum(t > now - 60_000 for t in announced_at) <= per_minute


# --- A line's watch -----------------------------------------------------------------------------


def _watch(**overrides: int) -> LineWatch:
    settings = {
        "down_after_ms": 30_000,
        "test_interval_ms": 3_600_000,
        "test_grace_ms": 120_000,
        "skew_bound_ms": 1_000,
        "started_at_ms": 1_000_000,
    } | overrides
    return LineWatch("moscow", **settings)


START = 1_000_000
SKEW = AlarmKind.CLOCK_SKEW
OVERDUE = AlarmKind.TEST_OVERDUE


def _see(
    watch: LineWatch,
    at: int,
    *,
    up: bool = True,
    offset: int | None = None,
    test_at: int | None = None,
) -> list[tuple[AlarmKind, str | None]]:
    """Observe at ``START + at``; a test message is taken to have just arrived unless given."""
    return watch.observe(
        START + at,
        up=up,
        clock_offset_ms=offset,
        last_test_at_ms=START + at if test_at is None else test_at,
    )


def test_a_line_is_alarmed_once_down_long_enough() -> None:
    watch = _watch()
    assert _see(watch, 29_999, up=False) == []
    assert _see(watch, 31_500, up=False) == [(DOWN, "line to moscow down for 31 s")]
    assert _see(watch, 60_000, up=False) == []  # raised once
    assert _see(watch, 61_000, up=True) == [(DOWN, None)]
    assert _see(watch, 62_000, up=True) == []
    # down again: counted from when it was last seen up, the boundary included
    assert _see(watch, 91_999, up=False) == []
    assert _see(watch, 92_000, up=False) == [(DOWN, "line to moscow down for 30 s")]


def test_a_test_message_overdue() -> None:
    watch = _watch()
    # none ever came: counted from the start, alarmed only *past* interval + grace
    assert _see(watch, 3_720_000, test_at=None) == []
    assert watch.observe(
        START + 3_720_001, up=True, clock_offset_ms=None, last_test_at_ms=None
    ) == [(OVERDUE, "no test message from moscow for 3,720 s (one is due every 3,600 s)")]
    assert (
        watch.observe(START + 3_800_000, up=True, clock_offset_ms=None, last_test_at_ms=START - 5)
        == []
    )  # one from before the start changes nothing
    assert _see(watch, 3_800_000, test_at=START + 3_790_000) == [(OVERDUE, None)]
    assert _see(watch, 7_510_000, test_at=START + 3_790_000) == []
    assert _see(watch, 7_510_001, test_at=START + 3_790_000) == [
        (OVERDUE, "no test message from moscow for 3,720 s (one is due every 3,600 s)")
    ]


def test_clock_skew_has_hysteresis() -> None:
    watch = _watch()
    assert _see(watch, 0, offset=1_000) == []
    assert _see(watch, 1, offset=1_001) == [
        (SKEW, "moscow's clock is 1,001 ms ahead of ours (bound 1,000 ms)")
    ]
    assert _see(watch, 2, offset=2_500) == []
    assert _see(watch, 3, offset=None) == []  # no sample: no change
    assert _see(watch, 4, offset=900) == []  # back within the bound, not yet within 80 %
    assert _see(watch, 5, offset=-801) == []
    assert _see(watch, 6, offset=-800) == [(SKEW, None)]
    assert _see(watch, 7, offset=None) == []
    assert _see(watch, 8, offset=-2_500) == [
        (SKEW, "moscow's clock is 2,500 ms behind ours (bound 1,000 ms)")
    ]


def test_the_conditions_are_independent() -> None:
    watch = _watch(down_after_ms=10, test_interval_ms=100, test_grace_ms=0)
    changes = watch.observe(START + 101, up=False, clock_offset_ms=5_000, last_test_at_ms=None)
    assert [kind for kind, text in changes if text is not None] == [DOWN, OVERDUE, SKEW]
    changes = watch.observe(START + 102, up=True, clock_offset_ms=0, last_test_at_ms=START + 102)
    assert changes == [(DOWN, None), (OVERDUE, None), (SKEW, None)]
