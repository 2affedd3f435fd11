"""The msg1 timestamps are per peer, not per connection: one shared record, checked and updated
within one call; a per-peer limit on msg1s opening connections; the responder's clock is used."""

from __future__ import annotations

import pytest

from hotline.constants import MSG1_MIN_INTERVAL
from hotline.handshake import KatHooks, ReplayError, StaleTimestampError
from hotline.session import (
    Connection,
    ConnectionState,
    Msg1FloodError,
    PeerTimestamps,
    SessionConfig,
    TimestampAccepted,
    TimestampSent,
)

from ..handshake.stations import CountingKem, count_c_calls, make_station, pair

NOW = 1_750_000_000.0
ALICE, BOB = make_station(1), make_station(2)
TO_BOB, TO_ALICE = pair(ALICE, BOB)


def events(connection: Connection) -> list[object]:
    found = []
    while (event := connection.next_event()) is not None:
        found.append(event)
    return found


def bob(record: PeerTimestamps, kem: CountingKem | None = None) -> Connection:
    hooks = None if kem is None else KatHooks(kem=kem)
    return Connection.accept(
        SessionConfig(BOB.creds, TO_ALICE, timestamps=record, hooks=hooks), NOW
    )


def alice_msg1(record: PeerTimestamps | None = None, now: float = NOW) -> bytes:
    config = SessionConfig(ALICE.creds, TO_BOB, timestamps=record or PeerTimestamps())
    return Connection.connect(config, now).data_to_send()


def test_one_replayed_msg1_costs_one_encapsulation_across_connections() -> None:
    """The finding: each connection copied last_accepted, so a recorded msg1 replayed on a
    second connection (opened before the first persisted anything) was answered again."""
    record, kem = PeerTimestamps(), CountingKem()
    first, second = bob(record, kem), bob(record, kem)  # both open before either reads
    msg1 = alice_msg1()
    first.receive_data(msg1, NOW)
    with pytest.raises(ReplayError):
        second.receive_data(msg1, NOW + 1.0)  # well past the rate limit: a replay, refused
    assert kem.calls["encapsulate"] == 1
    assert second.state is ConnectionState.ERROR
    assert [e for e in events(second) if isinstance(e, TimestampAccepted)] == []
    (accepted,) = [e for e in events(first) if isinstance(e, TimestampAccepted)]
    assert record.last_accepted == accepted.timestamp


def test_two_connections_to_one_peer_never_send_one_timestamp() -> None:
    record = PeerTimestamps(last_sent=5)
    config = SessionConfig(ALICE.creds, TO_BOB, timestamps=record)
    first, second = Connection.connect(config, NOW), Connection.connect(config, NOW)
    (a,), (b,) = ([e for e in events(c) if isinstance(e, TimestampSent)] for c in (first, second))
    assert a.timestamp == int(NOW * 1000) and b.timestamp == a.timestamp + 1
    assert record.last_sent == b.timestamp


def test_a_second_msg1_within_the_rate_limit_is_refused_before_any_dh() -> None:
    alice_record, record = PeerTimestamps(), PeerTimestamps()
    bob(record).receive_data(alice_msg1(alice_record), NOW)
    fresh = alice_msg1(alice_record)  # genuine and newer: only the rate limit refuses it
    kem = CountingKem()
    flooded = bob(record, kem)
    with count_c_calls("exchange", "public_key") as calls, pytest.raises(Msg1FloodError):
        flooded.receive_data(fresh, NOW + MSG1_MIN_INTERVAL / 2)
    assert sum(calls.values()) == 0 and kem.calls.total() == 0
    later = bob(record)
    later.receive_data(fresh, NOW + MSG1_MIN_INTERVAL)  # the same msg1, once the interval passed
    assert later.data_to_send()  # msg2


def test_a_clock_stepped_back_does_not_lock_the_peer_out() -> None:
    alice_record, record = PeerTimestamps(), PeerTimestamps()
    bob(record).receive_data(alice_msg1(alice_record), NOW)
    stepped = bob(record)
    stepped.receive_data(alice_msg1(alice_record, NOW - 60), NOW - 60)
    assert stepped.data_to_send()


def test_the_responder_reads_msg1_against_its_own_clock() -> None:
    """The session passes ``now`` to the handshake: an hour-old msg1 no one replayed before
    is refused as stale, before any KEM work."""
    kem = CountingKem()
    late = bob(PeerTimestamps(), kem)
    with pytest.raises(StaleTimestampError):
        late.receive_data(alice_msg1(now=NOW - 3600), NOW)
    assert kem.calls.total() == 0
