"""Named crash points: ``HOTLINE_CRASHPOINT=<name>[:<n>]`` kills the daemon there, for tests.

Delivery promises exactly once across crashes at *any* moment; the moments that matter are the
gaps between a durable step and the next one (a commit, then the frame that announces it). Each
has a name here, and a test per name starts a station with the variable set, watches it die at
that point (``os._exit``: no cleanup, no flush, as a power cut or SIGKILL), restarts it without
the variable, and checks that every message still arrives once, in order.

``<n>`` (default 1) makes the n-th passage through the point fatal, so a test can let some
traffic through first. Unset, a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Final

from hotline.logfmt import log_event

from ._config import ConfigError

_log = logging.getLogger("hotline.station")

#: The environment variable that arms one crash point.
CRASHPOINT_ENV: Final = "HOTLINE_CRASHPOINT"
#: The exit status of a crash point: distinct from every ExitCode, so a test knows it was one.
CRASH_EXIT_STATUS: Final = 86

#: Every crash point, by name: where it is, and what a crash there must not lose.
CRASHPOINTS: Final = {
    "queue.after_commit": "the message is queued, the operator not yet told",
    "sequence.after_commit": "a batch is sequenced and signed, nothing of it sent",
    "send.after_write": "a batch was written to the session, no receipt yet",
    "deliver.before_commit": "envelopes are covered and about to be stored",
    "deliver.after_commit": "envelopes and their receipt are stored, the receipt not sent",
    "receipt.after_commit": "the sender stored a receipt, nothing else done",
    "checkpoint.after_commit": "the proposer stored a checkpoint, its counter-signature not sent",
}


class _Armed:
    """The armed point (``None``: none) and how often it was passed."""

    point: tuple[str, int] | None = None
    passages = 0


def arm_from_environment() -> None:
    """Arm the crash point ``HOTLINE_CRASHPOINT`` names, if set (``hotline serve`` calls this).

    Raises:
        ConfigError: the variable names no crash point, or its count is not a positive integer.
    """
    value = os.environ.get(CRASHPOINT_ENV, "")
    _Armed.point, _Armed.passages = None, 0
    if not value:
        return
    name, _, count = value.partition(":")
    if name not in CRASHPOINTS or not (count == "" or (count.isdigit() and int(count) > 0)):
        known = ", ".join(CRASHPOINTS)
        raise ConfigError(f"{CRASHPOINT_ENV}={value!r} names no crash point (known: {known})")
    _Armed.point = (name, int(count or 1))
    log_event(_log, logging.WARNING, "CRASH POINT ARMED: testing only", point=name, at=count or 1)


def crashpoint(name: str) -> None:
    """Exit the process at once if ``name`` is the armed crash point and its count is reached."""
    point = _Armed.point
    if point is None or point[0] != name:
        return
    _Armed.passages += 1
    if _Armed.passages >= point[1]:
        log_event(_log, logging.CRITICAL, "crash point reached", point=name, passage=point[1])
        sys.stderr.flush()
        os._exit(CRASH_EXIT_STATUS)
