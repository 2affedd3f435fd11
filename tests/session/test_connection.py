"""A connection from msg1 to CLOSE, over an in-memory wire in virtual time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.constants import (
    HANDSHAKE_DEADLINE,
    LENGTH_PREFIX_LEN,
    MSG1_LEN,
    MSG2_LEN,
    PROOF_LEN,
    REJECT_AFTER_TIME,
)
from hotline.handshake import Initiator, ProofError, Role
from hotline.handshake import _handshake as handshake_module
from hotline.noise import DecryptError
from hotline.session import (
    SESSION_FRAMES,
    CloseReason,
    Connection,
    ConnectionState,
    ConnectionTerminated,
    Data,
    FrameError,
    FrameReceived,
    Hello,
    LocalProtocolError,
    PingReceived,
    PongReceived,
    RemoteProtocolError,
    SessionConfig,
    SessionEstablished,
    TimestampAccepted,
    TimestampSent,
    with_length,
)

from ..handshake.stations import make_station, pair
from .link import START, connect, established

ALICE, BOB = make_station(1), make_station(2)


def test_the_handshake_establishes_one_session_on_both_sides() -> None:
    world = established(ALICE, BOB)
    a_up = world.a.of_type(SessionEstablished)
    b_up = world.b.of_type(SessionEstablished)
    assert len(a_up) == len(b_up) == 1
    assert a_up[0].handshake_hash == b_up[0].handshake_hash == world.a.connection.handshake_hash
    assert (a_up[0].role, b_up[0].role, a_up[0].rekey) == (Role.INITIATOR, Role.RESPONDER, False)
    sent = world.a.of_type(TimestampSent)
    assert sent == [TimestampSent(int(START * 1000))]
    assert world.b.of_type(TimestampAccepted) == [TimestampAccepted(sent[0].timestamp)]
    assert world.a.connection.state is world.b.connection.state is ConnectionState.ESTABLISHED


def test_frames_flow_both_ways_in_order() -> None:
    world = established(ALICE, BOB)
    world.a.connection.send_hello(b"heads", world.clock.now)
    for i in range(5):
        world.a.connection.send_data(bytes([i]), world.clock.now)
        world.b.connection.send_data(bytes([100 + i]), world.clock.now)
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    assert [e.frame for e in world.b.of_type(FrameReceived)] == [
        Hello(b"heads"),
        *(Data(bytes([i])) for i in range(5)),
    ]
    assert [e.frame for e in world.a.of_type(FrameReceived)] == [
        Data(bytes([100 + i])) for i in range(5)
    ]


def test_ping_is_answered_with_the_round_trip_time() -> None:
    world = established(ALICE, BOB, latency=0.04)
    ping_id = world.a.connection.send_ping(world.clock.now)
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    (ping,) = world.b.of_type(PingReceived)
    (pong,) = world.a.of_type(PongReceived)
    assert ping.ping_id == pong.ping_id == ping_id
    assert pong.rtt == pytest.approx(0.08)
    assert abs(pong.peer_time_ms - ping.peer_time_ms) <= 100


def test_close_reaches_the_peer() -> None:
    world = established(ALICE, BOB)
    world.a.connection.close(CloseReason.GOING_AWAY, "maintenance window", now=world.clock.now)
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    assert world.a.of_type(ConnectionTerminated) == [
        ConnectionTerminated(CloseReason.GOING_AWAY, "maintenance window", by_peer=False)
    ]
    assert world.b.of_type(ConnectionTerminated) == [
        ConnectionTerminated(CloseReason.GOING_AWAY, "maintenance window", by_peer=True)
    ]
    assert world.b.connection.state is ConnectionState.CLOSED
    assert world.b.connection.get_timer() is None


def test_nothing_is_sent_before_both_proofs_verify() -> None:
    world = connect(ALICE, BOB)
    for action in (
        lambda: world.a.connection.send_data(b"too early", START),
        lambda: world.b.connection.send_hello(b"", START),
        lambda: world.b.connection.send_ping(START),
    ):
        with pytest.raises(LocalProtocolError):
            action()
    assert world.a.connection.state is ConnectionState.ERROR


def test_the_application_cannot_send_control_frames() -> None:
    from hotline.session import Switch

    world = established(ALICE, BOB)
    with pytest.raises(LocalProtocolError):
        world.a.connection.send_frame(Switch(1), world.clock.now)


def _accepting_bob() -> tuple[Connection, Initiator]:
    to_bob, to_alice = pair(ALICE, BOB)
    bob = Connection.accept(SessionConfig(BOB.creds, to_alice), START)
    return bob, Initiator(ALICE.creds, to_bob)


def test_a_data_frame_instead_of_a_proof_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bob, alice = _accepting_bob()
    bob.receive_data(with_length(alice.start(START, 0)), START)
    msg2 = bob.data_to_send()[LENGTH_PREFIX_LEN:]
    monkeypatch.setattr(
        handshake_module, "sign_proof", lambda *a: SESSION_FRAMES.encode(Data(bytes(4691)))
    )
    fake_proof = alice.receive_msg2(msg2)
    with pytest.raises(ProofError):
        bob.receive_data(with_length(fake_proof), START)
    assert bob.state is ConnectionState.ERROR
    assert not any(isinstance(e, FrameReceived | SessionEstablished) for e in _events(bob))


def test_frames_pipelined_after_a_bad_proof_are_never_processed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bob, alice = _accepting_bob()
    bob.receive_data(with_length(alice.start(START, 0)), START)
    msg2 = bob.data_to_send()[LENGTH_PREFIX_LEN:]
    monkeypatch.setattr(handshake_module, "sign_proof", lambda *a: b"\x01\x08" + bytes(4691))
    bad_proof = alice.receive_msg2(msg2)
    # The attacker keeps the session keys and pipelines a DATA frame right behind its proof.
    keys = alice._keys.transport
    assert keys is not None
    data = keys.send.encrypt_with_ad(b"", SESSION_FRAMES.encode(Data(b"unauthenticated")))
    with pytest.raises(ProofError):
        bob.receive_data(with_length(bad_proof) + with_length(data), START)
    assert not any(isinstance(e, FrameReceived) for e in _events(bob))


def _events(connection: Connection) -> list[object]:
    events = []
    while (event := connection.next_event()) is not None:
        events.append(event)
    return events


def test_the_first_message_must_have_the_exact_msg1_size() -> None:
    bob, _ = _accepting_bob()
    with pytest.raises(RemoteProtocolError):
        bob.receive_data((MSG1_LEN + 1).to_bytes(2, "big"), START)  # refused on the prefix alone
    assert bob.state is ConnectionState.ERROR


def test_an_unfinished_handshake_is_closed_at_the_deadline() -> None:
    world = connect(ALICE, BOB)
    world.link.cut = [True, True]
    assert world.b.connection.get_timer() == START + HANDSHAKE_DEADLINE
    world.run_for(HANDSHAKE_DEADLINE + 1)
    for end in (world.a, world.b):
        assert end.of_type(ConnectionTerminated) == [
            ConnectionTerminated(CloseReason.HANDSHAKE_TIMEOUT, "handshake deadline passed", False)
        ]
        assert end.connection.state is ConnectionState.CLOSED


def test_a_session_that_never_rekeys_is_closed_at_180_seconds() -> None:
    world = established(ALICE, BOB)
    world.link.cut = [True, True]  # every rekey attempt goes nowhere
    world.run_for(REJECT_AFTER_TIME - 2)
    assert world.a.connection.state is ConnectionState.ESTABLISHED
    world.run_for(3)
    for end in (world.a, world.b):
        (terminated,) = end.of_type(ConnectionTerminated)
        assert terminated.reason is CloseReason.SESSION_EXPIRED
        assert end.connection.state is ConnectionState.CLOSED


def test_a_flipped_transport_bit_is_refused() -> None:
    world = established(ALICE, BOB)
    world.link.tamper[0] = lambda data: data[:-1] + bytes([data[-1] ^ 0x10])
    world.a.connection.send_data(b"payload", world.clock.now)
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    assert isinstance(world.b.error, DecryptError)
    assert world.b.connection.state is ConnectionState.ERROR
    assert not world.b.of_type(FrameReceived)
    with pytest.raises(LocalProtocolError):
        world.b.connection.receive_data(b"", world.clock.now)  # ERROR is final


@pytest.mark.parametrize(
    "plaintext",
    [
        b"\x02\x02data",  # unknown version
        b"\x01\x7fdata",  # unknown type
        b"\x01\x08" + bytes(4691),  # a PROOF frame inside a session
        b"\x01\x03" + bytes(17),  # PING with a trailing byte
        b"\x01\x01" + bytes(4097),  # HELLO over its bound
    ],
    ids=["version", "type", "proof", "trailing", "oversize"],
)
def test_a_bad_frame_from_an_authenticated_peer_is_refused(plaintext: bytes) -> None:
    world = established(ALICE, BOB)
    rekeyer = world.a.connection._rekeyer
    assert rekeyer is not None
    message = rekeyer.send.send.encrypt_with_ad(b"", plaintext)
    with pytest.raises(FrameError):
        world.b.connection.receive_data(with_length(message), world.clock.now)
    assert world.b.connection.state is ConnectionState.ERROR


def test_the_receive_buffer_is_bounded_during_the_handshake() -> None:
    """An unauthenticated peer cannot make the responder hold more than one msg1."""
    bob, alice = _accepting_bob()
    msg1 = with_length(alice.start(START, 0))
    bob.receive_data(msg1[:100], START)
    assert len(bob._buffer) == 100
    with pytest.raises(RemoteProtocolError):
        bob.receive_data(b"\xff\xff" + bytes(60000), START)  # too big as soon as it is seen
    assert len(bob._buffer) == 0


@settings(max_examples=30)
@given(
    direction=st.integers(0, 1),
    position=st.integers(0, 2 * LENGTH_PREFIX_LEN + MSG2_LEN + PROOF_LEN - 1),
    mask=st.integers(1, 255),
)
def test_corrupting_the_handshake_wire_only_raises_typed_errors(
    direction: int, position: int, mask: int
) -> None:
    offset = 0

    def corrupt(data: bytes) -> bytes:
        nonlocal offset
        start, offset = offset, offset + len(data)
        if start <= position < offset:
            at = position - start
            return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :]
        return data

    world = connect(ALICE, BOB, tamper=(corrupt, None) if direction == 0 else (None, corrupt))
    world.run_for(HANDSHAKE_DEADLINE + 1)  # errors are caught as NoiseError by the link
    receiver = world.b if direction == 0 else world.a
    assert isinstance(receiver.error, RemoteProtocolError)
    assert receiver.connection.state is ConnectionState.ERROR
    assert not receiver.of_type(FrameReceived)


@settings(max_examples=50)
@given(junk=st.binary(min_size=0, max_size=3000))
def test_junk_after_establishment_only_raises_typed_errors(junk: bytes) -> None:
    world = established(ALICE, BOB)
    try:
        world.b.connection.receive_data(junk, world.clock.now)
    except RemoteProtocolError:
        assert world.b.connection.state is ConnectionState.ERROR
    else:
        assert len(junk) < LENGTH_PREFIX_LEN + 18 or int.from_bytes(junk[:2], "big") > len(junk) - 2


@settings(max_examples=40)
@given(position=st.integers(0, 20 * (LENGTH_PREFIX_LEN + 18 + 8) - 1), mask=st.integers(1, 255))
def test_a_corrupted_data_stream_never_delivers_a_corrupted_frame(position: int, mask: int) -> None:
    world = established(ALICE, BOB)
    for i in range(20):
        world.a.connection.send_data(i.to_bytes(8, "big"), world.clock.now)
    stream = bytearray(world.a.connection.data_to_send())
    stream[position] ^= mask
    try:
        world.b.connection.receive_data(bytes(stream), world.clock.now)
    except RemoteProtocolError:
        assert world.b.connection.state is ConnectionState.ERROR
    else:  # only a length prefix grew: Bob waits for bytes that never come
        assert world.b.connection.state is ConnectionState.ESTABLISHED
    world.b.drain()
    received = [e.frame for e in world.b.of_type(FrameReceived)]
    assert received == [Data(i.to_bytes(8, "big")) for i in range(len(received))]
    assert len(received) <= position // (LENGTH_PREFIX_LEN + 18 + 8)
