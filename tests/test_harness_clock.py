"""The virtual clock and its timer driver, tested with tiny fake sans-IO objects."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.harness import Firing, VirtualClock
from tests.harness.clock import MAX_FIRINGS


class Ticker:
    """Fires every ``period`` seconds from ``first``; records the ``now`` of each firing."""

    def __init__(self, first: float, period: float, name: str = "ticker") -> None:
        self.deadline: float | None = first
        self.period = period
        self.name = name
        self.fired: list[float] = []

    def get_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> None:
        self.fired.append(now)
        assert self.deadline is not None
        self.deadline += self.period

    def __repr__(self) -> str:
        return self.name


class OneShot:
    """One deadline; on firing it may arm another object (a message across a wire)."""

    def __init__(self, deadline: float | None, then: OneShot | None = None, delay: float = 0.0):
        self.deadline = deadline
        self.then = then
        self.delay = delay
        self.fired: list[float] = []

    def get_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> None:
        self.fired.append(now)
        self.deadline = None
        if self.then is not None:
            self.then.deadline = now + self.delay


class Stuck:
    """A buggy object whose handle_timer never moves its deadline."""

    def get_timer(self) -> float | None:
        return 1.0

    def handle_timer(self, now: float) -> None:
        del now


def test_advance_moves_time_and_refuses_to_go_back() -> None:
    clock = VirtualClock(start=10.0)
    assert clock.now == clock() == 10.0
    assert clock.advance(0.25) == 10.25
    assert clock.advance_to(12.0) == 12.0
    assert clock.advance(0) == 12.0
    for bad in (-0.001, math.inf, math.nan):
        with pytest.raises(ValueError):
            clock.advance(bad)
    with pytest.raises(ValueError):
        clock.advance_to(11.0)
    with pytest.raises(ValueError):
        clock.run_until(11.0)
    with pytest.raises(ValueError):
        VirtualClock(start=math.nan)
    assert clock.now == 12.0
    assert repr(clock) == "VirtualClock(now=12.0)"


def test_run_until_fires_timers_in_deadline_order_at_their_deadlines() -> None:
    clock = VirtualClock()
    fast = Ticker(first=0.1, period=0.25, name="fast")
    slow = Ticker(first=0.3, period=1.0, name="slow")
    fired = clock.run_until(1.0, slow, fast)
    assert fast.fired == pytest.approx([0.1, 0.35, 0.6, 0.85])
    assert slow.fired == [0.3]
    assert [f.target for f in fired] == [fast, slow, fast, fast, fast]
    assert [f.at for f in fired] == sorted(f.at for f in fired)
    assert clock.now == 1.0
    assert fast.deadline == pytest.approx(1.1)


def test_ties_go_to_the_first_listed_and_deadline_at_t_fires() -> None:
    clock = VirtualClock()
    a, b = OneShot(2.0), OneShot(2.0)
    assert clock.run_until(2.0, b, a) == [Firing(2.0, b), Firing(2.0, a)]


def test_overdue_timer_fires_now_and_time_never_goes_back() -> None:
    clock = VirtualClock(start=5.0)
    late = OneShot(1.0)
    assert clock.run_until(6.0, late) == [Firing(5.0, late)]
    assert clock.now == 6.0


def test_a_firing_can_arm_another_object() -> None:
    clock = VirtualClock()
    receiver = OneShot(None)
    sender = OneShot(1.0, then=receiver, delay=0.5)
    fired = clock.run_until(3.0, receiver, sender)
    assert fired == [Firing(1.0, sender), Firing(1.5, receiver)]


def test_nothing_due_leaves_objects_alone_and_run_for_is_relative() -> None:
    clock = VirtualClock(start=1.0)
    idle, later = OneShot(None), OneShot(10.0)
    assert clock.run_for(2.0, idle, later) == []
    assert clock.now == 3.0
    assert later.fired == []
    assert clock.run_for(7.0, idle, later) == [Firing(10.0, later)]


def test_a_deadline_that_never_moves_is_reported_not_hung() -> None:
    with pytest.raises(RuntimeError, match="move the deadline forward"):
        VirtualClock().run_until(2.0, Stuck())


def test_max_firings_is_large_enough_for_real_runs() -> None:
    # A 250 ms heartbeat over one hour of virtual time is well inside the limit.
    clock = VirtualClock()
    beat = Ticker(first=0.25, period=0.25)
    assert len(clock.run_until(3600.0, beat)) == 14_400 < MAX_FIRINGS


@given(
    st.lists(
        st.tuples(st.floats(0, 50), st.floats(0.01, 10)),
        min_size=1,
        max_size=5,
    ),
    st.floats(0, 100),
)
def test_firings_match_a_direct_computation(specs: list[tuple[float, float]], end: float) -> None:
    tickers = [Ticker(first, period) for first, period in specs]
    fired = VirtualClock().run_until(end, *tickers)
    assert [f.at for f in fired] == sorted(f.at for f in fired)
    for ticker, (first, period) in zip(tickers, specs, strict=True):
        expected = []
        deadline = first
        while deadline <= end:
            expected.append(deadline)
            deadline += period
        assert ticker.fired == expected
