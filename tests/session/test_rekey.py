"""In-band rekey: timing, the marked switch under load, crossing attempts, retries, misuse."""

from __future__ import annotations

import pytest

from hotline.constants import (
    REKEY_AFTER_TIME,
    REKEY_TIMEOUT,
    RESPONDER_REKEY_AFTER_TIME,
)
from hotline.handshake import KatHooks, Role, preferred_initiator
from hotline.noise import LocalProtocolError, RemoteProtocolError
from hotline.session import (
    CloseReason,
    ConnectionState,
    ConnectionTerminated,
    Flight,
    FrameReceived,
    Rekey,
    SessionEstablished,
    SessionTiming,
    Switch,
    TimestampAccepted,
    TimestampSent,
)
from hotline.session import _rekey as rekey_module

from ..handshake.stations import CountingKem, Station, count_c_calls, make_station
from .link import End, Traffic, World, established

ALICE, BOB = make_station(1), make_station(2)
LOW, HIGH = sorted((ALICE, BOB), key=lambda s: s.keys.static)


def rekeys(end: End) -> list[SessionEstablished]:
    return [e for e in end.of_type(SessionEstablished) if e.rekey]


def received_numbers(end: End) -> list[int]:
    return [int.from_bytes(e.frame.body, "big") for e in end.of_type(FrameReceived)]


def test_the_initiator_rekeys_at_120_seconds() -> None:
    world = established(ALICE, BOB)
    first_hash = world.a.connection.handshake_hash
    world.run_for(REKEY_AFTER_TIME - 2)
    assert not rekeys(world.a)
    world.run_for(3)
    (a_rekey,), (b_rekey,) = rekeys(world.a), rekeys(world.b)
    assert a_rekey.handshake_hash == b_rekey.handshake_hash != first_hash
    assert (a_rekey.role, b_rekey.role) == (Role.INITIATOR, Role.RESPONDER)
    assert world.a.connection.handshake_hash == world.b.connection.handshake_hash
    # Each rekey moves the msg1 timestamps on, for the caller to persist.
    assert len(world.a.of_type(TimestampSent)) == 2
    assert (
        world.b.of_type(TimestampAccepted)[-1].timestamp
        == world.a.of_type(TimestampSent)[-1].timestamp
    )


def test_rekey_under_continuous_traffic_loses_and_reorders_nothing() -> None:
    world = established(ALICE, BOB, latency=0.03)
    now = world.clock.now
    a_traffic = Traffic(world.a, world.link, period=0.05, start=now)
    b_traffic = Traffic(world.b, world.link, period=0.07, start=now + 0.01)
    world.run_for(400.0, a_traffic, b_traffic)
    assert len(rekeys(world.a)) == len(rekeys(world.b)) == 3  # at ~120, ~240, ~360 s
    assert world.a.error is None and world.b.error is None
    assert world.a.connection.state is ConnectionState.ESTABLISHED
    # Everything sent up to one latency ago has arrived, in order, exactly once.
    assert received_numbers(world.b) == list(range(len(received_numbers(world.b))))
    assert received_numbers(world.a) == list(range(len(received_numbers(world.a))))
    assert a_traffic.sent - len(received_numbers(world.b)) <= 1
    assert b_traffic.sent - len(received_numbers(world.a)) <= 1


def test_the_responder_rekeys_at_130_seconds_if_the_initiator_does_not() -> None:
    silent = SessionTiming(rekey_after=170.0, responder_rekey_after=170.0)  # Alice waits
    world = established(ALICE, BOB, initiator_config={"timing": silent})
    world.run_for(RESPONDER_REKEY_AFTER_TIME - 1)
    assert not rekeys(world.b)
    world.run_for(2)
    (b_rekey,) = rekeys(world.b)
    assert b_rekey.role is Role.INITIATOR  # Bob, the first session's responder, started it
    assert rekeys(world.a)[0].handshake_hash == b_rekey.handshake_hash


def test_rekey_after_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rekey_module, "REKEY_AFTER_MESSAGES", 10)
    world = established(ALICE, BOB)
    for i in range(10):
        world.a.connection.send_data(bytes([i]), world.clock.now)
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    assert len(rekeys(world.a)) == 1
    assert len(received_numbers(world.b)) == 10


@pytest.mark.parametrize(
    ("first", "second"), [(LOW, HIGH), (HIGH, LOW)], ids=["low-dials", "high-dials"]
)
def test_crossing_rekeys_settle_to_one_session(first: Station, second: Station) -> None:
    latency = 0.05
    # The first session's responder is up one latency before its initiator; starting it half a
    # latency later makes both msg1s leave before either arrives: they cross.
    timing = {"timing": SessionTiming(responder_rekey_after=REKEY_AFTER_TIME + latency / 2)}
    world = established(
        first, second, latency=latency, initiator_config=timing, responder_config=timing
    )
    world.run_for(REKEY_AFTER_TIME + 2)
    assert world.a.error is None and world.b.error is None
    # Both sides started a rekey (the initial msg1 is Alice's other TimestampSent)...
    assert (len(world.a.of_type(TimestampSent)), len(world.b.of_type(TimestampSent))) == (2, 1)
    # ...and exactly one new session came out, the same on both sides.
    (a_rekey,), (b_rekey,) = rekeys(world.a), rekeys(world.b)
    assert a_rekey.handshake_hash == b_rekey.handshake_hash
    assert world.a.connection.handshake_hash == world.b.connection.handshake_hash
    low_end = world.a if first is LOW else world.b
    assert rekeys(low_end)[0].role is Role.INITIATOR  # the lower static key's attempt won


def test_crossing_dials_settle_by_the_lower_static_key() -> None:
    """Two TCP connections, one dialled by each side: both complete; each station keeps the one
    whose initiator ``preferred_initiator`` names, so both keep the same one."""
    dialled_by = {
        ALICE.keys.static: established(ALICE, BOB),
        BOB.keys.static: established(BOB, ALICE),
    }
    alice_keeps = preferred_initiator(ALICE.keys.static, BOB.keys.static)
    bob_keeps = preferred_initiator(BOB.keys.static, ALICE.keys.static)
    assert alice_keeps == bob_keeps == LOW.keys.static
    kept, dropped = dialled_by[alice_keeps], dialled_by[HIGH.keys.static]
    dropped.a.connection.close(CloseReason.REPLACED, now=dropped.clock.now)
    dropped.link.collect(dropped.clock.now)
    dropped.run_for(1.0)
    assert dropped.b.of_type(ConnectionTerminated)[0].reason is CloseReason.REPLACED
    assert kept.a.connection.state is kept.b.connection.state is ConnectionState.ESTABLISHED
    assert kept.a.connection.handshake_hash == kept.b.connection.handshake_hash


def test_an_unanswered_rekey_is_retried_and_stale_flights_are_ignored() -> None:
    """Bob stalls for longer than REKEY_TIMEOUT: Alice starts a fresh attempt; when Bob's
    answers arrive, the one to the abandoned attempt is ignored and the fresh one completes."""
    world = established(ALICE, BOB)
    world.link.hold_until[1] = world.clock.now + REKEY_AFTER_TIME + REKEY_TIMEOUT + 2
    world.run_for(REKEY_AFTER_TIME + 0.5)
    assert len(world.a.of_type(TimestampSent)) == 2
    world.run_for(REKEY_TIMEOUT)
    assert len(world.a.of_type(TimestampSent)) == 3  # a fresh msg1
    assert not rekeys(world.a)
    world.run_for(REKEY_TIMEOUT)
    assert world.a.error is None and world.b.error is None
    assert len(rekeys(world.a)) == len(rekeys(world.b)) == 1
    assert world.a.connection.handshake_hash == world.b.connection.handshake_hash
    (accepted_last,) = world.b.of_type(TimestampAccepted)[-1:]
    assert accepted_last.timestamp == world.a.of_type(TimestampSent)[-1].timestamp


def _inject(world: World, sender: End, frame: Rekey | Switch) -> None:
    """Make ``sender`` send a control frame it would not send itself (a misbehaving peer)."""
    sender.connection._send_frame(frame)
    world.link.collect(world.clock.now)
    world.run_for(1.0)


def test_switch_without_a_completed_rekey_is_an_error() -> None:
    world = established(ALICE, BOB)
    _inject(world, world.a, Switch(12345))
    assert isinstance(world.b.error, RemoteProtocolError)
    assert world.b.connection.state is ConnectionState.ERROR


@pytest.mark.parametrize("flight", [Flight.MSG2, Flight.INITIATOR_PROOF, Flight.RESPONDER_PROOF])
def test_a_flight_out_of_turn_is_an_error(flight: Flight) -> None:
    world = established(ALICE, BOB)
    size = {Flight.MSG2: 1632}.get(flight, 4709)
    _inject(world, world.a, Rekey(flight, 1, bytes(size)))
    assert isinstance(world.b.error, RemoteProtocolError)


def test_a_replayed_rekey_msg1_is_an_error() -> None:
    world = established(ALICE, BOB)
    world.run_for(REKEY_AFTER_TIME + 1)
    replay_target = world.b.connection
    stamp = world.a.of_type(TimestampSent)[-1].timestamp
    assert world.b.of_type(TimestampAccepted)[-1].timestamp == stamp
    # Alice's side "forgets" and re-sends an old msg1 timestamp: Bob refuses it.
    world.a.connection._handshakes.timestamps.last_sent = stamp - 10**6
    world.a.connection._rekeyer._start(world.clock.now - 10**4)  # type: ignore[union-attr]
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    assert isinstance(world.b.error, RemoteProtocolError)
    assert replay_target.state is ConnectionState.ERROR


def test_a_closed_link_rekeys_no_more() -> None:
    world = established(ALICE, BOB)
    world.a.connection.close(now=world.clock.now)
    world.link.collect(world.clock.now)
    world.run_for(REKEY_AFTER_TIME * 2)
    assert not rekeys(world.a) and not rekeys(world.b)
    assert world.b.of_type(ConnectionTerminated)


def test_a_frame_in_flight_across_the_switch_is_read_with_the_right_keys() -> None:
    """Bob sends under the old keys while Alice has already switched: the SWITCH marker orders
    it, so Alice still decrypts it with the old keys."""
    world = established(ALICE, BOB, latency=0.2)
    world.run_for(REKEY_AFTER_TIME - 0.1)
    traffic = Traffic(world.b, world.link, period=0.001, start=world.clock.now)
    world.run_for(3.0, traffic)
    assert len(rekeys(world.a)) == 1
    assert received_numbers(world.a) == list(range(len(received_numbers(world.a))))
    assert world.a.error is None


def test_a_lost_message_is_detected() -> None:
    """The no-loss assertions above can fail loudly: a message lost from the stream makes the
    next one fail to decrypt (its nonce is ahead)."""
    world = established(ALICE, BOB)
    count = 0

    def drop_third(data: bytes) -> bytes:
        nonlocal count
        count += 1
        return b"" if count == 3 else data

    world.link.tamper[0] = drop_third
    traffic = Traffic(world.a, world.link, period=0.05, start=world.clock.now)
    world.run_for(1.0, traffic)
    assert received_numbers(world.b) == [0, 1]
    assert isinstance(world.b.error, RemoteProtocolError)


def test_shortened_timing_rekeys_on_its_own_schedule() -> None:
    timing = SessionTiming.scaled(2.0)
    assert (timing.responder_rekey_after, timing.reject_after) == pytest.approx(
        (2 * 130 / 120, 3.0)
    )
    assert timing.rekey_timeout == pytest.approx(0.5)  # half the margin before expiry, not 5 s
    assert not timing.is_default and SessionTiming().is_default
    config = {"timing": timing}
    world = established(ALICE, BOB, initiator_config=config, responder_config=config)
    world.run_for(7.0)
    assert world.a.error is None and world.b.error is None
    assert len(rekeys(world.a)) == len(rekeys(world.b)) == 3  # at about 2, 4 and 6 s
    assert world.a.connection.state is ConnectionState.ESTABLISHED


@pytest.mark.parametrize("rekey_after", [0.1, 121.0])
def test_scaled_timing_is_bounded(rekey_after: float) -> None:
    with pytest.raises(LocalProtocolError):
        SessionTiming.scaled(rekey_after)


def test_a_rekey_msg1_under_another_id_costs_no_encapsulation() -> None:
    """The REKEY id is checked right after msg1 decrypts, before the responder encapsulates
    and before it commits (and reports) the timestamp as accepted."""
    world = established(ALICE, BOB)
    _, msg1 = world.a.connection._handshakes.initiate(world.clock.now)
    stamp = world.a.connection._handshakes.timestamps.last_sent
    world.a.connection._send_frame(Rekey(Flight.MSG1, stamp + 1, msg1))
    wire = world.a.connection.data_to_send()
    world.b.drain()
    bob = world.b.connection
    with count_c_calls("encapsulate") as calls, pytest.raises(RemoteProtocolError, match="id"):
        bob.receive_data(wire, world.clock.now)
    assert calls["encapsulate"] == 0
    assert bob.state is ConnectionState.ERROR
    world.b.drain()
    assert len(world.b.of_type(TimestampAccepted)) == 1  # the first handshake's only


def test_test_hooks_apply_to_the_first_handshake_only() -> None:
    """A fixed KAT input reused by every rekey would repeat across sessions: the hooks are
    handed to the first handshake and dropped (a counting KEM shows which handshakes used them)."""
    alice_kem, bob_kem = CountingKem(), CountingKem()
    world = established(
        ALICE,
        BOB,
        initiator_config={"hooks": KatHooks(kem=alice_kem)},
        responder_config={"hooks": KatHooks(kem=bob_kem)},
    )
    world.run_for(2 * REKEY_AFTER_TIME + 1)
    assert len(rekeys(world.a)) == len(rekeys(world.b)) == 2
    assert alice_kem.calls == {"generate": 1, "decapsulate": 1}
    assert bob_kem.calls == {"encapsulate": 1}
