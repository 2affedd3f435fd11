"""The refusal rate limiter (sans-IO) and the dial backoff (sans-IO), in virtual time."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.line import Backoff, RateLimiter, Verdict


def test_one_line_per_key_and_interval_with_the_swallowed_count() -> None:
    limiter = RateLimiter(10.0)
    assert limiter.check("a", 0.0) == Verdict(log=True, suppressed=0)
    assert limiter.check("a", 1.0) == Verdict(log=False, suppressed=1)
    assert limiter.check("a", 9.9) == Verdict(log=False, suppressed=2)
    assert limiter.check("b", 9.9).log  # another key has its own window
    assert limiter.check("a", 10.0) == Verdict(log=True, suppressed=2)  # reports the swallowed
    assert limiter.check("a", 10.5) == Verdict(log=False, suppressed=1)


def test_the_table_is_bounded_and_forgets_the_oldest() -> None:
    limiter = RateLimiter(10.0, max_keys=3)
    for key in range(5):
        assert limiter.check(key, 0.0).log
    assert len(limiter) == 3
    assert limiter.check(0, 1.0).log  # forgotten: logged again (one line per new source)
    assert not limiter.check(4, 1.0).log


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=200))
def test_never_more_lines_than_intervals(times: list[float]) -> None:
    limiter = RateLimiter(5.0)
    logged = [t for t in sorted(times) if limiter.check("k", t).log]
    assert all(later - earlier >= 5.0 for earlier, later in itertools.pairwise(logged))
    assert len(logged) <= 100 // 5 + 1


def test_bad_limiter_arguments() -> None:
    with pytest.raises(ValueError):
        RateLimiter(-1)
    with pytest.raises(ValueError):
        RateLimiter(1, max_keys=0)


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(4.0, base=0.5, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, nominal in zip(delays, [0.5, 1, 2, 4, 4, 4], strict=True):
        assert nominal / 2 <= delay <= nominal
    assert backoff.attempt == 6
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay() <= 0.5


def test_backoff_jitter_keeps_two_stations_out_of_step() -> None:
    a, b = Backoff(30, rng=random.Random(1)), Backoff(30, rng=random.Random(2))
    assert [a.next_delay() for _ in range(5)] != [b.next_delay() for _ in range(5)]


def test_backoff_survives_a_very_long_outage() -> None:
    backoff = Backoff(30.0, rng=random.Random(0))
    assert max(backoff.next_delay() for _ in range(10_000)) <= 30.0


def test_bad_backoff_arguments() -> None:
    with pytest.raises(ValueError):
        Backoff(0.1, base=0.5, rng=random.Random())
