"""The sans-IO path-health tracker in virtual time: down after exactly ``probe_missed`` missed
pings, up only after ``probe_recover`` answered and the hold-down, no flapping, and exact RTT,
loss and clock-offset figures on scripted input."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.line import LOSS_WINDOW, PROBE_WAIT_MAX, LineTiming, PathHealth, PathState
from tests.harness import IO_MODULES
from tests.harness.layering import imported_names, is_forbidden

DEFAULTS = LineTiming()
INTERVAL = DEFAULTS.ping_interval
#: Our wall clock at virtual time 0, in ms (any value: offsets are differences).
EPOCH_MS = 1_767_225_600_000
UP, DOWN = PathState.UP, PathState.DOWN

#: A path: the RTT of a ping sent at ``t``, or ``None`` if it (or its PONG) is lost.
Path_ = Callable[[float], float | None]


@dataclass
class Run:
    """One simulated session: PINGs every interval, PONGs as the path allows, timers fired."""

    health: PathHealth
    transitions: list[tuple[float, PathState]] = field(default_factory=list)

    def observe(self, now: float) -> None:
        state = self.health.state(now)
        last = self.transitions[-1][1] if self.transitions else UP
        if state is not last:
            self.transitions.append((now, state))


def simulate(
    path: Path_, until: float, *, timing: LineTiming = DEFAULTS, heard: Path_ | None = None
) -> Run:
    """Drive a tracker from 0 to ``until`` as the adapter does (its timer included).

    ``heard``: for each ping time, when (after it) some data from the peer arrives, if any.
    """
    run = Run(PathHealth(timing, 0.0))
    events: list[tuple[float, int, str, int]] = []
    pings = int(until / timing.ping_interval)
    for ping_id in range(1, pings + 1):
        heapq.heappush(events, (ping_id * timing.ping_interval, 0, "ping", ping_id))
    while events:
        at, _, kind, ping_id = heapq.heappop(events)
        if at > until:
            break
        while (deadline := run.health.get_timer()) is not None and deadline <= at:
            run.health.handle_timer(deadline)
            run.observe(deadline)
        if kind == "ping":
            run.health.ping_sent(ping_id, at, EPOCH_MS + round(at * 1000))
            rtt = path(at)
            if rtt is not None:
                heapq.heappush(events, (at + rtt, 1, "pong", ping_id))
            later = heard(at) if heard is not None else None
            if later is not None:
                heapq.heappush(events, (at + later, 2, "data", ping_id))
        elif kind == "pong":
            sent = ping_id * timing.ping_interval
            run.health.pong_received(ping_id, at, EPOCH_MS + round(sent * 1000))
        else:
            run.health.heard(at)
        run.observe(at)
    return run


def cut(start: float, end: float = float("inf"), rtt: float = 0.01) -> Path_:
    """A healthy path (``rtt``) blackholed for pings sent in ``[start, end)``."""
    return lambda t: None if start <= t < end else rtt


# --- Down -----------------------------------------------------------------------------------


def test_down_exactly_when_the_third_missed_ping_is_due_not_the_second() -> None:
    # Pings at 0.25, 0.5, 0.75 answered; those at 1.0, 1.25, 1.5 lost; due at +0.25 each.
    health = simulate(cut(1.0), 1.7).health
    assert health.state(1.7499) is UP  # two missed (due 1.25 and 1.5): still up
    assert health.state(1.75) is DOWN  # the third is due
    assert simulate(cut(1.0), 10.0).transitions == [(1.75, DOWN)]


def test_two_missed_pings_then_an_answer_never_bring_the_path_down() -> None:
    def path(t: float) -> float | None:
        return 0.01 if round(t / INTERVAL) % 3 == 0 else None

    run = simulate(path, 30.0)
    assert run.transitions == []
    report = run.health.report(30.0)
    assert report.loss == pytest.approx(2 / 3, abs=1 / LOSS_WINDOW)


@pytest.mark.parametrize("missed", [1, 2, 5])
def test_probe_missed_is_the_threshold(missed: int) -> None:
    timing = LineTiming(probe_missed=missed)
    run = simulate(cut(1.0), 10.0, timing=timing)
    assert run.transitions == [(1.0 + missed * INTERVAL, DOWN)]


@given(st.integers(min_value=160, max_value=400), st.floats(min_value=0.0, max_value=0.2))
def test_a_blackhole_is_down_within_a_second_at_the_defaults(quarter: int, rtt: float) -> None:
    # The cut falls anywhere between two pings (any phase), after 10 s of a steady path with any
    # RTT up to 200 ms (so the RTT's variation has settled and a ping waits one interval).
    at = quarter * INTERVAL / 4 + 0.001
    run = simulate(cut(at - rtt, rtt=rtt), at + 5.0)  # a PONG due after the cut is lost too
    ((down_at, state),) = run.transitions
    assert state is DOWN
    assert 0.5 < down_at - at <= (DEFAULTS.probe_missed + 1) * INTERVAL == 1.0


@given(st.integers(min_value=4, max_value=400), st.floats(min_value=0.0, max_value=0.9))
def test_a_blackhole_on_a_slow_or_young_path_waits_at_most_the_cap(
    quarter: int, rtt: float
) -> None:
    # A slow path, or one whose RTT is not settled yet, gives each ping up to PROBE_WAIT_MAX.
    at = quarter * INTERVAL / 4 + 0.001
    run = simulate(cut(at - rtt, rtt=rtt), at + 5.0)
    ((down_at, state),) = run.transitions
    assert state is DOWN
    assert down_at - at <= DEFAULTS.probe_missed * INTERVAL + PROBE_WAIT_MAX


# --- Up again -------------------------------------------------------------------------------


def test_up_only_after_three_answers_and_the_hold_down() -> None:
    # Down at 1.75; the ping of 1.75 is missed too (due 2.0): the hold-down ends at 4.0, though
    # the pings from 2.0 on are answered (three by 2.51).
    run = simulate(cut(1.0, 2.0), 10.0)
    assert run.transitions == [(1.75, DOWN), (4.0, UP)]
    assert run.health.state(10.0) is UP


SHORT_HOLD = LineTiming(probe_hold_down=0.5)


def test_after_the_hold_down_the_third_answer_brings_it_up() -> None:
    # The last miss is due at 5.0, the hold-down over at 5.5; answers at 5.01, 5.26, 5.51.
    run = simulate(cut(1.0, 5.0), 10.0, timing=SHORT_HOLD)
    assert run.transitions == [(1.75, DOWN), (pytest.approx(5.51), UP)]


def test_a_miss_during_recovery_restarts_the_count_and_the_hold_down() -> None:
    # Back from 5.0 except the ping at 5.5 (its miss due 5.75: held down until 6.25); answers
    # 5.01, 5.26, (miss), then 5.76, 6.01, 6.26: up at the third in a row.
    run = simulate(lambda t: None if 1.0 <= t < 5.0 or t == 5.5 else 0.01, 10.0, timing=SHORT_HOLD)
    assert run.transitions == [(1.75, DOWN), (pytest.approx(6.26), UP)]


@pytest.mark.parametrize(("recover", "hold_down"), [(1, 0.0), (5, 0.0), (3, 10.0)])
def test_probe_recover_and_hold_down_are_the_thresholds(recover: int, hold_down: float) -> None:
    timing = LineTiming(probe_recover=recover, probe_hold_down=hold_down)
    run = simulate(cut(1.0, 5.0), 30.0, timing=timing)
    expected_up = max(5.0 + (recover - 1) * INTERVAL + 0.01, 5.0 + hold_down)
    assert run.transitions == [(1.75, DOWN), (pytest.approx(expected_up), UP)]


# --- No flapping ----------------------------------------------------------------------------


def test_a_path_alternating_every_300_ms_is_never_bounced() -> None:
    # Half the pings are lost, but never three in a row: up throughout, with the loss shown.
    run = simulate(lambda t: 0.01 if int(t / 0.3) % 2 == 0 else None, 60.0)
    assert run.transitions == []
    assert run.health.report(60.0).loss == pytest.approx(0.5, abs=0.1)


def test_a_path_alternating_every_second_goes_down_once_and_stays_down() -> None:
    # Each good second brings 4 answers, but never 2 s after the last miss: held down. Once
    # the flapping stops (the last miss is due at 20.0) it comes up, once, 2 s later.
    def path(t: float) -> float | None:
        return None if t < 20.0 and int(t) % 2 == 1 else 0.01

    assert simulate(path, 40.0).transitions == [(1.75, DOWN), (22.0, UP)]


@given(
    st.lists(st.floats(min_value=0.05, max_value=3.0), min_size=1, max_size=40),
    st.booleans(),
)
def test_any_flapping_is_bounded_by_the_hold_down(periods: list[float], starts_bad: bool) -> None:
    edges = [sum(periods[: i + 1]) for i in range(len(periods))]

    def path(t: float) -> float | None:
        bad = (sum(edge <= t for edge in edges) % 2 == 0) == starts_bad
        return None if bad and t < edges[-1] else 0.01

    until = edges[-1] + 10.0
    run = simulate(path, until)
    hold_down = DEFAULTS.probe_hold_down
    states = [state for _, state in run.transitions]
    assert states == [DOWN, UP] * (len(states) // 2) + [DOWN] * (len(states) % 2)
    for (down_at, _), (up_at, _) in zip(run.transitions[::2], run.transitions[1::2], strict=False):
        assert up_at - down_at >= hold_down
    # At most one fall per hold-down, plus the last rise: the line cannot be bounced faster.
    assert len(run.transitions) <= 2 * (until / hold_down) + 1
    assert run.health.state(until) is UP  # 10 s of a healthy path at the end


# --- Late answers, slow paths, busy paths ------------------------------------------------------


def test_a_slow_path_is_slow_not_down() -> None:
    # 600 ms round trips (a satellite hop): every PONG comes after the next two PINGs.
    run = simulate(lambda t: 0.6, 30.0)
    assert run.transitions == []
    report = run.health.report(30.0)
    assert report.rtt_ms == pytest.approx(600.0)
    assert report.loss == 0.0


def test_pongs_late_behind_bulk_data_are_excused_not_missed() -> None:
    # PONGs 400 ms late at first (no RTT known yet), but the peer's data arrives all along.
    def path(t: float) -> float | None:
        return 0.4 if t < 3.0 else 0.01

    assert simulate(path, 10.0, heard=lambda t: 0.05).transitions == []


def test_a_path_slower_than_the_cap_stays_up_while_its_pongs_arrive() -> None:
    # 1.1 s round trips: no PONG is ever in time, but each one proves the path alive.
    run = simulate(lambda t: 1.1, 30.0)
    assert run.transitions == []
    assert run.health.report(30.0).rtt_last_ms == pytest.approx(1100.0)


def test_before_the_first_pong_a_ping_waits_the_cap() -> None:
    # Lost from the start: the first three pings (0.25, 0.5, 0.75) wait 1 s each.
    assert simulate(cut(0.0), 5.0).transitions == [(0.75 + PROBE_WAIT_MAX, DOWN)]


@pytest.mark.parametrize(
    ("handshake", "down_at"),
    [(0.03, 1.0), (0.5, 1.25), (3.0, 0.75 + PROBE_WAIT_MAX)],
)
def test_before_the_first_pong_a_ping_waits_as_long_as_the_handshake_took(
    handshake: float, down_at: float
) -> None:
    # At least an interval, at most the cap.
    health = PathHealth(DEFAULTS, 0.0, rtt_bound=handshake)
    for ping_id in (1, 2, 3):
        health.ping_sent(ping_id, ping_id * INTERVAL, EPOCH_MS)
    assert health.state(down_at - 0.001) is UP
    assert health.state(down_at) is DOWN


def test_a_late_pong_counts_as_answered_for_the_loss() -> None:
    health = PathHealth(DEFAULTS, 0.0)
    for ping_id in range(1, 5):
        health.ping_sent(ping_id, ping_id * 0.0625, EPOCH_MS)
    # No RTT known yet: each waits PROBE_WAIT_MAX, so ping 1 is due at 1.0625.
    assert health.report(1.0).loss is None
    assert health.report(1.25).loss == 1.0  # all four due, none answered
    health.pong_received(2, 1.375, EPOCH_MS)  # ping 2's PONG, late
    assert health.report(1.5).loss == 0.75
    assert health.report(1.5).rtt_last_ms == 1250.0
    assert health.state(1.5) is DOWN  # the in-time verdict stands: 3+ missed


# --- Exact figures ----------------------------------------------------------------------------


def test_rtt_is_the_last_and_the_rfc_6298_smoothed_value() -> None:
    health = PathHealth(DEFAULTS, 0.0)
    assert health.report(0.0).rtt_ms is None
    health.ping_sent(1, 0.25, EPOCH_MS)
    health.pong_received(1, 0.375, EPOCH_MS)  # 125 ms: srtt 125, rttvar 62.5
    health.ping_sent(2, 0.5, EPOCH_MS)
    health.pong_received(2, 0.75, EPOCH_MS)  # 250 ms: rttvar 78.125, srtt 140.625
    health.ping_sent(3, 0.75, EPOCH_MS)
    health.pong_received(3, 0.8125, EPOCH_MS)  # 62.5 ms: rttvar 78.125, srtt 130.859375
    report = health.report(0.8125)
    assert report.rtt_last_ms == 62.5
    assert report.rtt_ms == 130.859375
    assert report.loss == 0.0


def test_loss_is_over_the_last_forty_pings_due() -> None:
    health = PathHealth(DEFAULTS, 0.0)
    now = 0.0
    for ping_id in range(1, 61):
        now = ping_id * INTERVAL
        health.ping_sent(ping_id, now, EPOCH_MS)
        if ping_id % 4 != 0 or ping_id <= 20:  # from ping 21 on, every 4th is lost
            health.pong_received(ping_id, now + 0.01, EPOCH_MS)
    # Due: pings 1-59 (60 was sent at `now`); the window holds 21-60, so 21-59 count.
    assert health.report(now).loss == 9 / 39  # 24, 28, ..., 56
    assert health.report(now + INTERVAL).loss == 10 / 40  # and 60
    health.pong_received(60, now + INTERVAL + 0.5, EPOCH_MS)  # late: answered after all
    assert health.report(now + 1.0).loss == 9 / 40


def test_the_clock_offset_is_the_median_of_the_last_nine() -> None:
    health = PathHealth(DEFAULTS, 0.0)
    assert health.report(0.0).clock_offset_ms is None
    offsets = [1000, 1000, 5, -3, 7, 2, 9000, 4, 6, 1, 3]
    for ping_id, offset in enumerate(offsets, start=1):
        sent = ping_id * INTERVAL
        sent_ms = EPOCH_MS + ping_id * 250
        health.ping_sent(ping_id, sent, sent_ms)
        # RTT 125 ms: the peer read its clock 62.5 ms after we sent, by our clock.
        health.pong_received(ping_id, sent + 0.125, sent_ms + 62 + offset)
    # Samples are offset - 0.5; the last nine sorted: -3 1 2 3 4 5 6 7 9000 (all - 0.5).
    assert health.report(3.0).clock_offset_ms == 3.5


def test_a_peer_clock_behind_ours_is_a_negative_offset() -> None:
    health = PathHealth(DEFAULTS, 0.0)
    health.ping_sent(1, 0.25, EPOCH_MS)
    health.pong_received(1, 0.35, EPOCH_MS - 30_000 + 50)
    assert health.report(0.35).clock_offset_ms == pytest.approx(-30_000.0)


# --- Misuse and odd input -----------------------------------------------------------------------


def test_unknown_and_duplicate_pongs_change_nothing_but_the_time_heard() -> None:
    health = PathHealth(DEFAULTS, 0.0)
    health.ping_sent(1, 0.25, EPOCH_MS)
    health.pong_received(1, 0.3, EPOCH_MS)
    before = health.report(0.3)
    health.pong_received(1, 0.31, EPOCH_MS)  # again
    health.pong_received(99, 0.32, EPOCH_MS)  # never sent (or forgotten)
    assert health.report(0.32) == before


def test_time_going_backwards_and_a_reused_ping_id_fail_loudly() -> None:
    health = PathHealth(DEFAULTS, 10.0)
    with pytest.raises(ValueError, match="backwards"):
        health.heard(9.0)
    health.ping_sent(1, 10.0, EPOCH_MS)
    with pytest.raises(ValueError, match="already awaited"):
        health.ping_sent(1, 10.1, EPOCH_MS)


def test_the_timer_names_the_next_deadline_and_the_hold_downs_end() -> None:
    health = PathHealth(DEFAULTS, 0.0)
    assert health.get_timer() is None
    for ping_id in (1, 2, 3):
        health.ping_sent(ping_id, ping_id * 0.0625, EPOCH_MS)
    assert health.get_timer() == 0.0625 + PROBE_WAIT_MAX  # no RTT yet: the cap
    health.handle_timer(2.0)
    assert health.state(2.0) is DOWN and health.get_timer() is None
    for ping_id in (4, 5, 6):
        health.ping_sent(ping_id, 2.0 + ping_id * 0.01, EPOCH_MS)
        health.pong_received(ping_id, 2.005 + ping_id * 0.01, EPOCH_MS)
    held_until = 0.1875 + PROBE_WAIT_MAX + DEFAULTS.probe_hold_down  # from ping 3's miss
    assert health.get_timer() == held_until
    assert health.state(held_until - 0.001) is DOWN
    assert health.state(held_until) is UP


def test_the_tracker_is_sans_io() -> None:
    # The rest of hotline.line is asyncio; this module must stay testable in virtual time.
    source = (Path(__file__).parents[2] / "src" / "hotline" / "line" / "_health.py").read_text()
    names = [name for _, name in imported_names(source, "hotline.line._health", is_package=False)]
    assert "hotline.line._timing" in names
    assert [name for name in names if is_forbidden(name, IO_MODULES)] == []
