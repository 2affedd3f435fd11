"""The msg1 timestamp: WireGuard's replay defence, with the state kept by the caller.

Every msg1 carries, as its encrypted payload, the initiator's clock in milliseconds, made
strictly increasing per peer: ``max(last_sent + 1, now_ms)``. The responder accepts a msg1 only
if its timestamp is greater than the last one it accepted from that peer, so a recorded msg1
replayed later is dropped after the two DHs that decrypt it and before any ML-KEM work (the
responder's only KEM work is the encapsulation in msg2).

Monotonic alone, a timestamp never expires: a genuine msg1 that the network held back would
still be accepted hours later if nothing newer had been. So the responder also refuses one
further than ``MSG1_MAX_AGE`` behind or ``MSG1_MAX_FUTURE`` ahead of its own clock.

The core keeps no clock and no store: the caller passes ``now`` and the last values in and
persists the new ones the handshake hands out (``last_sent`` on the initiator, ``last_accepted``
on the responder), so the defence survives a restart and a clock that steps back.
"""

from __future__ import annotations

import math
from typing import Final

from hotline.constants import MSG1_MAX_AGE, MSG1_MAX_FUTURE, TIMESTAMP_LEN
from hotline.noise import LocalProtocolError, RemoteProtocolError

from ._errors import ReplayError, StaleTimestampError

#: Largest timestamp: a u64 (the wire field).
MAX_TIMESTAMP: Final = 2**64 - 1
_MAX_AGE_MS: Final = round(MSG1_MAX_AGE * 1000)
_MAX_FUTURE_MS: Final = round(MSG1_MAX_FUTURE * 1000)


def now_ms(now: float) -> int:
    """Return the wall clock ``now`` (seconds since the Unix epoch) in whole milliseconds.

    Raises:
        LocalProtocolError: ``now`` is not a finite, non-negative number (a broken clock or a
            bug in the caller: refused here rather than turned into a nonsense timestamp).
    """
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise LocalProtocolError(f"now must be seconds as a float, not {type(now).__name__}")
    if not math.isfinite(now) or now < 0:
        raise LocalProtocolError(f"now must be finite and non-negative, not {now!r}")
    return math.floor(now * 1000)


def require_timestamp(value: int, what: str) -> int:
    """Return ``value`` if it is a stored timestamp: an ``int`` from 0 to 2**64 - 1.

    Raises:
        LocalProtocolError: it is not (the caller's store handed in something else).
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIMESTAMP:
        raise LocalProtocolError(f"{what} must be an int from 0 to 2**64 - 1, not {value!r}")
    return value


def next_timestamp(last_sent: int, now: float) -> int:
    """Return the timestamp for the next msg1 to a peer: ``max(last_sent + 1, now_ms)``.

    Args:
        last_sent: the last timestamp we sent to this peer (0 if none).
        now: the wall clock, seconds since the Unix epoch.

    Raises:
        LocalProtocolError: a bad ``now`` or ``last_sent``, or the counter would leave the u64
            range.
    """
    value = max(require_timestamp(last_sent, "last_sent") + 1, now_ms(now))
    if value > MAX_TIMESTAMP:
        raise LocalProtocolError("msg1 timestamp out of range")
    return value


def encode_timestamp(value: int) -> bytes:
    """Return the 8-byte big-endian msg1 payload for ``value``."""
    return value.to_bytes(TIMESTAMP_LEN, "big")


def decode_timestamp(payload: bytes) -> int:
    """Parse a msg1 payload.

    Raises:
        RemoteProtocolError: it is not exactly 8 bytes.
    """
    if len(payload) != TIMESTAMP_LEN:
        raise RemoteProtocolError(f"msg1 payload must be {TIMESTAMP_LEN} bytes")
    return int.from_bytes(payload, "big")


def check_timestamp(value: int, last_accepted: int) -> None:
    """Accept a msg1 timestamp only if it is newer than the last one accepted from that peer.

    Raises:
        ReplayError: ``value <= last_accepted``.
    """
    if value <= last_accepted:
        raise ReplayError(f"msg1 timestamp {value} is not newer than {last_accepted}")


def check_fresh(value: int, local_ms: int) -> None:
    """Accept a msg1 timestamp only within ``MSG1_MAX_AGE`` / ``MSG1_MAX_FUTURE`` of our clock.

    Args:
        value: the msg1 timestamp.
        local_ms: our clock, from :func:`now_ms`.

    Raises:
        StaleTimestampError: ``value`` is outside ``[local_ms - age, local_ms + future]``.
    """
    if not local_ms - _MAX_AGE_MS <= value <= local_ms + _MAX_FUTURE_MS:
        raise StaleTimestampError(value, local_ms)
