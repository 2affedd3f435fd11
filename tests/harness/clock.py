"""Virtual time for sans-IO protocol objects, so timer logic is tested in milliseconds.

The sans-IO core never reads a clock: every time-dependent method takes ``now: float`` and
``get_timer()`` names the next deadline (as in aioquic). A test keeps one :class:`VirtualClock`,
passes ``clock.now`` wherever a ``now`` is due, and lets :meth:`VirtualClock.run_until` fire the
objects' timers in deadline order, so a two-minute rekey or a 750 ms heartbeat loss runs
deterministically and at once:

    clock = VirtualClock()
    fired = clock.run_until(180.0, initiator, responder)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

#: The most timers one ``run_until`` fires before concluding an object never moves its deadline
#: forward (a bug that would otherwise hang the test).
MAX_FIRINGS = 100_000


class TimerDriven(Protocol):
    """What :meth:`VirtualClock.run_until` drives: an object with one pending deadline."""

    def get_timer(self) -> float | None:
        """The time at which :meth:`handle_timer` must be called, or None for no timer."""
        ...

    def handle_timer(self, now: float) -> None:
        """Act on the deadline that has been reached at ``now``."""
        ...


@dataclass(frozen=True, slots=True)
class Firing:
    """One timer fired by :meth:`VirtualClock.run_until`."""

    #: The virtual time passed to ``handle_timer``.
    at: float
    #: The object whose timer fired.
    target: TimerDriven


class VirtualClock:
    """A clock that moves only when the test says so.

    Calling the clock returns :attr:`now`, so it can stand in for ``time.monotonic`` wherever an
    adapter accepts a time source.
    """

    def __init__(self, start: float = 0.0) -> None:
        """Start at ``start`` seconds.

        Raises:
            ValueError: ``start`` is not finite.
        """
        if not math.isfinite(start):
            raise ValueError(f"a clock starts at a finite time, not {start}")
        self._now = start

    @property
    def now(self) -> float:
        """The current virtual time, in seconds."""
        return self._now

    def __call__(self) -> float:
        return self._now

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r})"

    def advance(self, dt: float) -> float:
        """Move time forward by ``dt`` seconds without firing anything.

        Returns:
            The new time.

        Raises:
            ValueError: ``dt`` is negative or not finite (time never runs backwards).
        """
        if not (math.isfinite(dt) and dt >= 0):
            raise ValueError(f"advance needs a finite, non-negative step, not {dt}")
        self._now += dt
        return self._now

    def advance_to(self, t: float) -> float:
        """Move time forward to ``t`` without firing anything.

        Returns:
            The new time.

        Raises:
            ValueError: ``t`` is before :attr:`now` or not finite.
        """
        if not (math.isfinite(t) and t >= self._now):
            raise ValueError(f"advance_to({t}) would move time backwards from {self._now}")
        self._now = t
        return self._now

    def run_until(self, t: float, *objects: TimerDriven) -> list[Firing]:
        """Advance to ``t``, firing every due timer of ``objects`` in deadline order.

        Before each step every object is asked for its timer again, so a firing that changes
        another object's deadline (a packet handed across an in-memory wire, say) is honoured.
        The earliest deadline at or before ``t`` fires next, with time set to it; ties go to the
        object listed first; a deadline already in the past fires at the current time (time
        never goes back). Afterwards time is exactly ``t``.

        Returns:
            The firings, in order, for assertions.

        Raises:
            ValueError: ``t`` is before :attr:`now`.
            RuntimeError: more than :data:`MAX_FIRINGS` timers fired: an object keeps a deadline
                it has already handled.
        """
        if not (math.isfinite(t) and t >= self._now):
            raise ValueError(f"run_until({t}) would move time backwards from {self._now}")
        fired: list[Firing] = []
        while True:
            due = _earliest(objects, t)
            if due is None:
                self._now = t
                return fired
            deadline, target = due
            if len(fired) >= MAX_FIRINGS:
                raise RuntimeError(
                    f"{MAX_FIRINGS} timers fired before t={t}; {target!r} still reports "
                    f"{deadline}: does its handle_timer move the deadline forward?"
                )
            self._now = max(self._now, deadline)
            target.handle_timer(self._now)
            fired.append(Firing(self._now, target))

    def run_for(self, dt: float, *objects: TimerDriven) -> list[Firing]:
        """:meth:`run_until` ``now + dt``."""
        return self.run_until(self._now + dt, *objects)


def _earliest(objects: tuple[TimerDriven, ...], limit: float) -> tuple[float, TimerDriven] | None:
    """The earliest deadline not after ``limit``, first-listed object on ties."""
    best: tuple[float, TimerDriven] | None = None
    for target in objects:
        deadline = target.get_timer()
        if deadline is not None and deadline <= limit and (best is None or deadline < best[0]):
            best = (deadline, target)
    return best
