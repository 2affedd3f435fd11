"""Time-ordered ids: they sort by the millisecond they were made, and are otherwise random."""

from __future__ import annotations

import time

import pytest

from hotline.api import new_idempotency_key
from hotline.ids import TIME_BYTES, time_ordered_id
from hotline.store import MESSAGE_ID_LEN, new_message_id


def test_an_id_starts_with_the_milliseconds_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = time_ordered_id(16)
    after = time.time_ns() // 1_000_000
    assert len(made) == 16
    assert before <= int.from_bytes(made[:TIME_BYTES], "big") <= after


def test_later_ids_sort_after_earlier_ones_and_none_repeats() -> None:
    first = [time_ordered_id(16) for _ in range(1000)]
    time.sleep(0.002)
    second = [time_ordered_id(16) for _ in range(1000)]
    assert max(first) < min(second)
    assert len(set(first + second)) == 2000
    assert len({made[TIME_BYTES:] for made in first}) == 1000  # the rest is random


def test_too_short_for_80_random_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        time_ordered_id(15)


def test_message_ids_and_client_keys_are_time_ordered() -> None:
    assert len(new_message_id()) == MESSAGE_ID_LEN
    key = new_idempotency_key()
    assert len(key) == 32 and int(key, 16) >= 0
    assert new_message_id()[:TIME_BYTES] <= time_ordered_id(16)[:TIME_BYTES]
    assert bytes.fromhex(key)[:TIME_BYTES] <= time_ordered_id(16)[:TIME_BYTES]
