"""The handshake and the wall clock: ``now`` is validated, and a msg1 must be fresh.

A msg1 timestamp only has to rise to pass the replay check, so on its own a genuine msg1 that
the network held back would still cost the responder an ML-KEM encapsulation hours later. The
responder also bounds it against its own clock (``MSG1_MAX_AGE`` behind, ``MSG1_MAX_FUTURE``
ahead), before any KEM work, with an error of its own type so the I/O layer can raise the
clock alarm.
"""

from __future__ import annotations

import math

import pytest

from hotline.constants import MSG1_MAX_AGE, MSG1_MAX_FUTURE
from hotline.handshake import (
    Initiator,
    KatHooks,
    LocalProtocolError,
    RemoteProtocolError,
    ReplayError,
    Responder,
    Stage,
    StaleTimestampError,
)

from .stations import CountingKem, count_c_calls, make_station, pair

NOW = 1_750_000_000.0
ALICE, BOB = make_station(1), make_station(2)
TO_BOB, TO_ALICE = pair(ALICE, BOB)


def msg1_made_at(when: float) -> tuple[bytes, int]:
    """A genuine msg1 from Alice, made with her clock at ``when``, and its timestamp."""
    initiator = Initiator(ALICE.creds, TO_BOB)
    return initiator.start(when, 0), initiator.timestamp


def counted_responder(last_accepted: int = 0) -> tuple[Responder, CountingKem]:
    kem = CountingKem()
    return Responder(BOB.creds, TO_ALICE, last_accepted=last_accepted, hooks=KatHooks(kem=kem)), kem


# --- Freshness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("made", "direction"),
    [(NOW - MSG1_MAX_AGE - 0.002, "behind"), (NOW - 3 * 3600, "behind"),
     (NOW + MSG1_MAX_FUTURE + 0.002, "ahead of"), (NOW + 86_400, "ahead of")],
    ids=["just-too-old", "hours-old", "just-too-new", "a-day-ahead"],
)  # fmt: skip
def test_a_stale_or_future_msg1_is_refused_before_any_kem_work(made: float, direction: str) -> None:
    message, timestamp = msg1_made_at(made)
    responder, kem = counted_responder()
    with count_c_calls("encapsulate") as calls, pytest.raises(StaleTimestampError) as raised:
        responder.receive_msg1(message, NOW)
    assert kem.calls.total() == 0 and calls["encapsulate"] == 0
    assert responder.stage is Stage.ERROR
    error = raised.value
    assert (error.timestamp, error.local_ms) == (timestamp, math.floor(NOW * 1000))
    assert direction in str(error) and "\n" not in str(error)


@pytest.mark.parametrize(
    "made",
    [NOW - MSG1_MAX_AGE, NOW - 1.0, NOW, NOW + 1.0, NOW + MSG1_MAX_FUTURE],
    ids=["oldest-accepted", "a-second-old", "now", "a-second-ahead", "newest-accepted"],
)
def test_a_msg1_within_the_bounds_is_answered(made: float) -> None:
    """The bounds are inclusive, and the same responder code does the KEM work when fresh."""
    message, timestamp = msg1_made_at(made)
    responder, kem = counted_responder()
    responder.receive_msg1(message, NOW)
    assert kem.calls == {"encapsulate": 1}
    assert responder.timestamp == timestamp
    assert responder.stage is Stage.AWAIT_INITIATOR_PROOF


def test_a_stale_msg1_is_a_remote_error_but_not_a_replay() -> None:
    """The I/O layer tells the two apart: a replay is noise, a stale msg1 rings the clock alarm."""
    assert issubclass(StaleTimestampError, RemoteProtocolError)
    assert not issubclass(StaleTimestampError, ReplayError)
    assert not issubclass(ReplayError, StaleTimestampError)


def test_a_replay_is_reported_as_a_replay_even_when_also_stale() -> None:
    message, timestamp = msg1_made_at(NOW - 3600)
    responder, _ = counted_responder(last_accepted=timestamp)
    with pytest.raises(ReplayError):
        responder.receive_msg1(message, NOW)


def test_a_held_back_msg1_is_refused_once_it_is_too_old() -> None:
    """The attack of the finding: a genuine msg1 kept for an hour, nothing newer accepted."""
    message, _ = msg1_made_at(NOW)
    fresh, _ = counted_responder()
    fresh.receive_msg1(message, NOW + 1.0)  # delivered on time: answered
    late, kem = counted_responder()
    with pytest.raises(StaleTimestampError):
        late.receive_msg1(message, NOW + 3600)
    assert kem.calls.total() == 0


# --- A bad clock is the caller's bug, and final ------------------------------------------------

BAD_NOWS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "negative": -1.0,
            "str": "1750000000", "bool": True, "none": None}  # fmt: skip


@pytest.mark.parametrize("now", BAD_NOWS.values(), ids=BAD_NOWS.keys())
def test_initiator_refuses_a_bad_now_and_is_finished(now: object) -> None:
    initiator = Initiator(ALICE.creds, TO_BOB)
    with pytest.raises(LocalProtocolError):
        initiator.start(now, 0)  # type: ignore[arg-type]
    assert initiator.stage is Stage.ERROR
    with pytest.raises(LocalProtocolError):
        initiator.start(NOW, 0)  # not reusable


@pytest.mark.parametrize("now", BAD_NOWS.values(), ids=BAD_NOWS.keys())
def test_responder_refuses_a_bad_now_before_reading(now: object) -> None:
    message, _ = msg1_made_at(NOW)
    responder = Responder(BOB.creds, TO_ALICE, last_accepted=0)
    with count_c_calls("exchange") as calls, pytest.raises(LocalProtocolError):
        responder.receive_msg1(message, now)  # type: ignore[arg-type]
    assert calls["exchange"] == 0
    assert responder.stage is Stage.ERROR


@pytest.mark.parametrize(
    "last", [-1, 2**64, 1.5, "0", None], ids=["neg", "big", "float", "str", "none"]
)
def test_stored_timestamps_must_be_u64(last: object) -> None:
    initiator = Initiator(ALICE.creds, TO_BOB)
    with pytest.raises(LocalProtocolError):
        initiator.start(NOW, last)  # type: ignore[arg-type]
    assert initiator.stage is Stage.ERROR
    with pytest.raises(LocalProtocolError):
        Responder(BOB.creds, TO_ALICE, last_accepted=last)  # type: ignore[arg-type]
