"""The line's wall clock: the ``now`` of handshakes and heartbeats.

It is ``time.time()``, except when a test shifts it (``[testing] clock_offset_ms``) to play a
station whose clock is wrong: the peer then measures the offset from our heartbeats and rings
the skew alarm, as it would for a real drifting clock. One daemon per process, so the shift is
the process's; it is set once, before any line starts.
"""

from __future__ import annotations

import time

_shift_s = 0.0


def wall_time() -> float:
    """Seconds since the Unix epoch, by the line's clock."""
    return time.time() + _shift_s


def shift_for_testing(offset_ms: int) -> None:
    """Run the line's clock ``offset_ms`` ahead (negative: behind) of the system's."""
    global _shift_s  # noqa: PLW0603 - the one process-wide test knob, set before lines start
    _shift_s = offset_ms / 1000
