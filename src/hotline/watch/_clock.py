"""Whether the system keeps our clock synchronised, where it can tell.

Receipts, checkpoints and the handshake's timestamps all carry wall-clock times, so a station
whose clock drifts unattended misjudges its peer's. Linux knows whether its clock discipline
(NTP, chrony, systemd-timesyncd) is holding the clock: ``adjtimex(2)`` in read-only mode
returns ``TIME_ERROR`` while the kernel considers it unsynchronised.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Final

#: ``adjtimex``'s answer when the clock is not synchronised (``<sys/timex.h>``).
TIME_ERROR: Final = 5
#: ``struct timex`` is 208 bytes on x86_64; a larger zeroed buffer fits every architecture.
#: Zero ``modes`` makes the call read only (and need no privilege).
_TIMEX_SIZE: Final = 512

_Adjtimex = Callable[[ctypes.Array[ctypes.c_char]], int]


def _libc_adjtimex() -> _Adjtimex | None:
    """The C library's ``adjtimex``, or ``None`` where there is none."""
    if sys.platform != "linux":
        return None
    try:
        function: _Adjtimex = ctypes.CDLL(None).adjtimex  # the process's own C library
    except (OSError, AttributeError):
        return None
    return function


def clock_synchronised() -> bool | None:
    """``True`` if the system says our clock is synchronised, ``False`` if it says it is not,
    ``None`` if it cannot tell (not Linux, no ``adjtimex``, the call failed). Never raises."""
    adjtimex = _libc_adjtimex()
    if adjtimex is None:
        return None
    try:
        state = adjtimex(ctypes.create_string_buffer(_TIMEX_SIZE))
    except (OSError, ctypes.ArgumentError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR
