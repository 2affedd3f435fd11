"""Log at most one line per source and interval: refusals must not flood the log.

A listener refuses whatever an attacker sends, and an attacker can send a lot: logging every
refusal would let anyone fill the disk and drown the one line an operator needs. So each
refusal is keyed (source address and reason) and logged at most once per ``interval``; the
refusals swallowed in between are counted and reported on the next line of that key.

Sans-IO: time is passed in. The table is bounded (``MAX_KEYS``): when it is full the oldest key
is forgotten, so the worst an attacker with many addresses achieves is one line per new source,
which a firewall rule answers better than a log.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final

#: Keys remembered at once. A key is a few dozen bytes; 4096 of them stay under a megabyte.
MAX_KEYS: Final = 4096


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to log now, and how many events of this key were swallowed since the last line.

    Attributes:
        log: write a line for this event.
        suppressed: events of this key not logged since its last line (report them now).
    """

    log: bool
    suppressed: int


@dataclass(slots=True)
class _Window:
    logged_at: float
    suppressed: int


class RateLimiter:
    """At most one logged event per key and ``interval`` seconds."""

    __slots__ = ("_interval", "_max_keys", "_windows")

    def __init__(self, interval: float, *, max_keys: int = MAX_KEYS) -> None:
        """Args:
        interval: seconds between two lines of the same key.
        max_keys: keys remembered at once (the oldest is forgotten first).

        Raises:
            ValueError: ``interval`` is negative or ``max_keys`` is below 1.
        """
        if interval < 0 or max_keys < 1:
            raise ValueError("interval must be >= 0 and max_keys >= 1")
        self._interval = interval
        self._max_keys = max_keys
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()

    def __len__(self) -> int:
        return len(self._windows)

    def check(self, key: Hashable, now: float) -> Verdict:
        """Count one event of ``key`` at ``now`` and say whether to log it.

        Args:
            key: what is rate-limited together (e.g. ``(source_address, reason)``).
            now: a monotonic clock, seconds.

        Returns:
            ``log=True`` for the first event of a key and the first after each ``interval``,
            with the number of events swallowed since the previous line.
        """
        window = self._windows.get(key)
        if window is not None and now - window.logged_at < self._interval:
            window.suppressed += 1
            return Verdict(log=False, suppressed=window.suppressed)
        suppressed = 0 if window is None else window.suppressed
        self._windows.pop(key, None)
        self._windows[key] = _Window(logged_at=now, suppressed=0)
        while len(self._windows) > self._max_keys:
            self._windows.popitem(last=False)
        return Verdict(log=True, suppressed=suppressed)
