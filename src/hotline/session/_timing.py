"""The session's timers in one value: WireGuard's constants by default, shorter only in tests.

The protocol values live in :mod:`hotline.constants` and are what every real station runs.
Tests (and ``make demo``) need to watch several rekeys in seconds, so a connection reads its
timers from :attr:`SessionConfig.timing` instead of the constants directly; only the
``[testing]`` table of ``station.toml`` ever sets anything but the default, and the daemon
warns loudly when it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from hotline.constants import (
    HANDSHAKE_DEADLINE,
    REJECT_AFTER_TIME,
    REKEY_AFTER_TIME,
    REKEY_TIMEOUT,
    RESPONDER_REKEY_AFTER_TIME,
)
from hotline.noise import LocalProtocolError

#: The shortest rekey period :meth:`SessionTiming.scaled` allows: a rekey takes two round trips
#: and ~3 ms of CPU a side, so below half a second a loaded machine spends its time rekeying.
MIN_REKEY_AFTER: Final = 0.5


@dataclass(frozen=True, slots=True)
class SessionTiming:
    """When a connection rekeys, gives up on a rekey, expires, or abandons its handshake.

    Attributes:
        rekey_after: the current session's initiator starts a rekey this long after it was
            established (``REKEY_AFTER_TIME``).
        responder_rekey_after: the responder's fallback (``RESPONDER_REKEY_AFTER_TIME``).
        reject_after: keys this old are no longer used; the connection closes
            (``REJECT_AFTER_TIME``).
        rekey_timeout: a rekey attempt not done after this long is started again
            (``REKEY_TIMEOUT``).
        handshake_deadline: a connection not established this long after it was created
            closes (``HANDSHAKE_DEADLINE``).
    """

    rekey_after: float = REKEY_AFTER_TIME
    responder_rekey_after: float = RESPONDER_REKEY_AFTER_TIME
    reject_after: float = REJECT_AFTER_TIME
    rekey_timeout: float = REKEY_TIMEOUT
    handshake_deadline: float = HANDSHAKE_DEADLINE

    def __post_init__(self) -> None:
        if not (
            0 < self.rekey_after < self.reject_after
            and 0 < self.responder_rekey_after < self.reject_after
            and self.rekey_timeout > 0
            and self.handshake_deadline > 0
        ):
            raise LocalProtocolError(
                "session timing needs both rekey times between 0 and reject_after,"
                " and positive timeouts"
            )

    @property
    def is_default(self) -> bool:
        """Whether these are the protocol's own values (what every real station runs)."""
        return self == DEFAULT_TIMING

    @classmethod
    def scaled(cls, rekey_after: float) -> SessionTiming:
        """Return timing for tests: rekey every ``rekey_after`` seconds, the rest in proportion.

        The fallback and expiry keep their ratios to ``REKEY_AFTER_TIME`` (130/120, 180/120); a
        rekey attempt is retried after ``REKEY_TIMEOUT`` or half the margin before expiry,
        whichever is shorter; the handshake deadline stays ``HANDSHAKE_DEADLINE``.

        Raises:
            LocalProtocolError: ``rekey_after`` is below ``MIN_REKEY_AFTER`` or above
                ``REKEY_AFTER_TIME``.
        """
        if not MIN_REKEY_AFTER <= rekey_after <= REKEY_AFTER_TIME:
            raise LocalProtocolError(
                f"rekey_after must be {MIN_REKEY_AFTER} to {REKEY_AFTER_TIME} seconds"
            )
        ratio = rekey_after / REKEY_AFTER_TIME
        reject_after = REJECT_AFTER_TIME * ratio
        return cls(
            rekey_after=rekey_after,
            responder_rekey_after=RESPONDER_REKEY_AFTER_TIME * ratio,
            reject_after=reject_after,
            rekey_timeout=min(REKEY_TIMEOUT, (reject_after - rekey_after) / 2),
        )


#: The protocol's own timers, which every real station runs.
DEFAULT_TIMING: Final = SessionTiming()


def check_now(now: float) -> float:
    """Return ``now`` if it is a usable wall clock: a finite, non-negative number of seconds.

    Checked at every entry point before anything else, so a broken clock (``nan``, ``inf``, a
    string) is refused as the caller's bug before it can half-complete a step: after a decrypt
    has advanced a nonce, say, and before the PONG that answers it.

    Raises:
        LocalProtocolError: it is not.
    """
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise LocalProtocolError(f"now must be seconds as a float, not {type(now).__name__}")
    if not math.isfinite(now) or now < 0:
        raise LocalProtocolError(f"now must be finite and non-negative, not {now!r}")
    return now
