"""The msg1 timestamp: WireGuard's replay defence, with the state kept by the caller.

Every msg1 carries, as its encrypted payload, the initiator's clock in milliseconds, made
strictly increasing per peer: ``max(last_sent + 1, now_ms)``. The responder accepts a msg1 only
if its timestamp is greater than the last one it accepted from that peer, so a recorded msg1
replayed later is dropped after the two DHs that decrypt it and before any ML-KEM work (the
responder's only KEM work is the encapsulation in msg2).

The core keeps no clock and no store: the caller passes the last values in and persists the new
ones the handshake hands out (``last_sent`` on the initiator, ``last_accepted`` on the
responder), so the defence survives a restart and a clock that steps back.
"""

from __future__ import annotations

import math

from hotline.constants import TIMESTAMP_LEN
from hotline.noise import LocalProtocolError, RemoteProtocolError

from ._errors import ReplayError

#: Largest timestamp: a u64 (the wire field).
MAX_TIMESTAMP = 2**64 - 1


def next_timestamp(last_sent: int, now: float) -> int:
    """Return the timestamp for the next msg1 to a peer: ``max(last_sent + 1, now_ms)``.

    Args:
        last_sent: the last timestamp we sent to this peer (0 if none).
        now: the wall clock, seconds since the Unix epoch.

    Raises:
        LocalProtocolError: the counter would leave the u64 range.
    """
    value = max(last_sent + 1, math.floor(now * 1000))
    if not 0 < value <= MAX_TIMESTAMP:
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
