"""How long to wait before dialling again: exponential, capped, jittered, reset after a session.

A station that lost its line redials; if the other side is down for an hour it must not dial
thousands of times, and two stations that lost the same path must not redial in lock-step. So
attempt ``n`` (from 0) waits a random time in ``[d/2, d]`` with ``d = min(cap, base * 2**n)``
("equal jitter"): never less than half the nominal delay, never two stations in step. A
session that lived at least the ping timeout resets ``n`` when it ends, so the next loss is
retried quickly again; one that dies at once does not (it would redial in a tight loop).

Sans-IO: the random source is passed in, so tests fix it.
"""

from __future__ import annotations

import random
from typing import Final

#: The first retry waits 0.25-0.5 s: long enough not to spin on an instant refusal, short
#: enough that a peer that restarted is back on the line at once.
BACKOFF_BASE: Final = 0.5


class Backoff:
    """The delays before successive dial attempts of one line."""

    __slots__ = ("_attempt", "_base", "_cap", "_random")

    def __init__(self, cap: float, *, base: float = BACKOFF_BASE, rng: random.Random) -> None:
        """Args:
        cap: the longest delay, seconds (``[line] dial_backoff_max_s``).
        base: the nominal first delay, seconds.
        rng: the random source of the jitter.

        Raises:
            ValueError: ``base`` or ``cap`` is not positive, or ``cap < base``.
        """
        if not 0 < base <= cap:
            raise ValueError(f"need 0 < base <= cap, not base={base} cap={cap}")
        self._base = base
        self._cap = cap
        self._random = rng
        self._attempt = 0

    @property
    def attempt(self) -> int:
        """Failed attempts since the last reset."""
        return self._attempt

    def next_delay(self) -> float:
        """Return the delay before the next attempt, and count the attempt."""
        nominal = min(self._cap, self._base * 2 ** min(self._attempt, 62))
        self._attempt += 1
        return self._random.uniform(nominal / 2, nominal)

    def reset(self) -> None:
        """Start again from the shortest delay (a session came up)."""
        self._attempt = 0
