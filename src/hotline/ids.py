"""Unique ids that sort by creation time: 48 bits of UTC milliseconds, then random bits.

Message ids and the client's idempotency keys are the keys of UNIQUE indexes in ``hotline.db``
that grow with every message. A purely random key lands on a random leaf page of its index,
so a batch of 1,000 inserts dirties hundreds of index pages, each written whole to the WAL
and again at the checkpoint; past ~100,000 rows that costs more than the message texts
themselves. A key that starts with the time lands at the right edge of the index, on the same
few pages (the layout of UUIDv7, RFC 9562 §5.7). The random part keeps ids unguessable and,
at 80 bits per millisecond, free of collisions; the time part says only when the message was
queued, which the record states anyway.
"""

from __future__ import annotations

import secrets
import time
from typing import Final

#: Bytes of the time prefix: UTC milliseconds, big-endian (enough until the year 10889).
TIME_BYTES: Final = 6


def time_ordered_id(length: int) -> bytes:
    """Return ``length`` bytes: the current UTC milliseconds (6 bytes) then random bytes.

    Raises:
        ValueError: ``length`` leaves fewer than 10 random bytes.
    """
    if length < TIME_BYTES + 10:
        raise ValueError(f"a time-ordered id is at least {TIME_BYTES + 10} bytes")
    now_ms = time.time_ns() // 1_000_000
    return now_ms.to_bytes(TIME_BYTES, "big") + secrets.token_bytes(length - TIME_BYTES)
