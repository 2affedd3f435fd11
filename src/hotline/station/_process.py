"""The daemon process keeps its secrets to itself: no core dump, no inspection by its children.

A hook runs as the station's user. Without this, it could read the daemon's start-up
environment (``HOTLINE_PASSPHRASE``, if the operator used it) from ``/proc/<daemon>/environ``,
or attach a debugger to read the unlocked keys; a crash would write them to a core file. Linux
makes a process that is not *dumpable* unreadable through ``/proc`` and unattachable to any
process of the same user without ``CAP_SYS_PTRACE``, and never dumps its core.
"""

from __future__ import annotations

import ctypes
import resource
import sys
from typing import Final

#: ``PR_SET_DUMPABLE`` and ``PR_GET_DUMPABLE`` from <linux/prctl.h>.
PR_SET_DUMPABLE: Final = 4
PR_GET_DUMPABLE: Final = 3


def _prctl(option: int, value: int) -> int:
    # The process's own symbols, libc's among them: ctypes.util.find_library would run
    # ldconfig or a compiler with our environment, the passphrase perhaps in it.
    libc = ctypes.CDLL(None, use_errno=True)
    result: int = libc.prctl(option, value, 0, 0, 0)
    return result


def forbid_inspection() -> None:
    """Make this process non-dumpable and give it no core file; call before unlocking.

    Raises:
        OSError: the kernel refused (never seen on Linux; elsewhere this does nothing but
            the core limit).
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux") and _prctl(PR_SET_DUMPABLE, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def dumpable() -> bool | None:
    """Whether this process may be dumped and inspected (None where it cannot tell)."""
    if not sys.platform.startswith("linux"):
        return None
    return _prctl(PR_GET_DUMPABLE, 0) == 1
