"""The line's own timers: heartbeats and probes, the silent-peer timeout, the redial cap, the log
interval.

These belong to the I/O layer, not the protocol: two stations with different values still talk.
They come from ``station.toml`` ``[line]``; each bound below is checked with a one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Heartbeats faster than 50 ms are noise on any real path; slower than a minute leave a dead
#: line unnoticed for too long.
PING_INTERVAL_BOUNDS: Final = (0.05, 60.0)
#: A silent peer is declared lost after at least two heartbeats and at most ten minutes.
PING_TIMEOUT_MAX: Final = 600.0
#: The redial delay is capped between half a second and an hour.
DIAL_BACKOFF_MAX_BOUNDS: Final = (0.5, 3600.0)
#: A path is down after 1 to 20 missed pings, and up after 1 to 20 answered in a row: more than
#: 20 heartbeats is a silence the session's own timeout should judge.
PROBE_COUNT_BOUNDS: Final = (1, 20)
#: A path that went down stays down at least this long (0: no hold-down), at most ten minutes.
PROBE_HOLD_DOWN_MAX: Final = 600.0


@dataclass(frozen=True, slots=True)
class LineTiming:
    """How a line watches its session and redials.

    Attributes:
        ping_interval: seconds between two PINGs on an established session (the probes).
        ping_timeout: a session from which nothing arrived for this long is dropped as silent,
            and the kernel gives up on unacknowledged data after the same time
            (``TCP_USER_TIMEOUT``). Longer than the probes take to call the path down, so a
            short cut does not cost the session: the path comes back up on the same one.
        probe_missed: the path is down after this many pings in a row went unanswered.
        probe_recover: a down path is up again after this many pings in a row answered in time,
        probe_hold_down: and no sooner than this many seconds after it went down (hysteresis).
        dial_backoff_max: the longest wait between two dial attempts.
        refusal_log_interval: at most one log line per source and reason in this many seconds.
    """

    ping_interval: float = 0.25
    ping_timeout: float = 5.0
    dial_backoff_max: float = 30.0
    refusal_log_interval: float = 10.0
    probe_missed: int = 3
    probe_recover: int = 3
    probe_hold_down: float = 2.0

    def __post_init__(self) -> None:
        low, high = PING_INTERVAL_BOUNDS
        if not low <= self.ping_interval <= high:
            raise ValueError(f"ping_interval_s must be {low} to {high} seconds")
        if not 2 * self.ping_interval <= self.ping_timeout <= PING_TIMEOUT_MAX:
            raise ValueError(
                f"ping_timeout_s must be at least twice ping_interval_s and at most"
                f" {PING_TIMEOUT_MAX} seconds"
            )
        low, high = DIAL_BACKOFF_MAX_BOUNDS
        if not low <= self.dial_backoff_max <= high:
            raise ValueError(f"dial_backoff_max_s must be {low} to {high} seconds")
        if self.refusal_log_interval < 0:
            raise ValueError("the refusal log interval cannot be negative")
        low, high = PROBE_COUNT_BOUNDS
        for key, count in (
            ("probe_missed", self.probe_missed),
            ("probe_recover", self.probe_recover),
        ):
            if not low <= count <= high:
                raise ValueError(f"{key} must be {low} to {high} pings")
        if not 0 <= self.probe_hold_down <= PROBE_HOLD_DOWN_MAX:
            raise ValueError(f"probe_hold_down_s must be 0 to {PROBE_HOLD_DOWN_MAX} seconds")
