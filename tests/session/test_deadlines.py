"""Deadlines hold against ``now`` itself, not only when the caller's timer fires; a bad ``now``
or any exception ends the connection in ERROR; the message limits close a session cleanly.

None of the tests here fires a timer after the session is up: they call the connection with a
``now`` past a deadline, as an adapter whose timer is late (a busy loop, a suspended process)
would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Self

import pytest

from hotline.constants import HANDSHAKE_DEADLINE, LENGTH_PREFIX_LEN, REJECT_AFTER_TIME
from hotline.handshake import KatHooks
from hotline.noise import LocalProtocolError
from hotline.session import (
    SESSION_FRAMES,
    CloseReason,
    Connection,
    ConnectionState,
    ConnectionTerminated,
    Frame,
    FrameReceived,
    PingReceived,
    SessionConfig,
    SessionEstablished,
    TimestampAccepted,
    TimestampSent,
)
from hotline.session import _connection as connection_module
from hotline.session import _rekey as rekey_module

from ..handshake.stations import CountingKem, count_c_calls, make_station, pair
from .link import START, World, established

ALICE, BOB = make_station(1), make_station(2)


def drained(connection: Connection) -> list[object]:
    events = []
    while (event := connection.next_event()) is not None:
        events.append(event)
    return events


def expired_at(world: World) -> float:
    """A moment past REJECT_AFTER_TIME for both sides' current keys."""
    return world.clock.now + REJECT_AFTER_TIME + 1


# --- Rule 5: deadlines against now -------------------------------------------------------------


def test_a_frame_arriving_after_reject_after_time_is_not_read() -> None:
    world = established(ALICE, BOB)
    world.a.connection.send_data(b"sent in time", world.clock.now)
    wire = world.a.connection.data_to_send()
    world.b.drain()
    bob = world.b.connection
    bob.receive_data(wire, expired_at(world))  # no timer was ever fired for the expiry
    events = drained(bob)
    assert events == [
        ConnectionTerminated(
            CloseReason.SESSION_EXPIRED, "no rekey before REJECT_AFTER_TIME", False
        )
    ]
    assert bob.state is ConnectionState.CLOSED
    assert bob.data_to_send() == b""


@pytest.mark.parametrize(
    "send",
    [lambda c, now: c.send_data(b"late", now), lambda c, now: c.send_ping(now)],
    ids=["send_data", "send_ping"],
)
def test_sending_after_reject_after_time_encrypts_nothing(send: object) -> None:
    world = established(ALICE, BOB)
    alice = world.a.connection
    world.a.drain()
    with pytest.raises(LocalProtocolError):
        send(alice, expired_at(world))  # type: ignore[operator]
    assert alice.data_to_send() == b""  # nothing under the expired keys
    (terminated,) = [e for e in drained(alice) if isinstance(e, ConnectionTerminated)]
    assert terminated.reason is CloseReason.SESSION_EXPIRED


def test_closing_an_expired_session_sends_no_close_frame() -> None:
    world = established(ALICE, BOB)
    alice = world.a.connection
    world.a.drain()
    alice.close(CloseReason.NORMAL, "bye", now=expired_at(world))
    assert alice.data_to_send() == b""
    assert drained(alice) == [
        ConnectionTerminated(
            CloseReason.SESSION_EXPIRED, "no rekey before REJECT_AFTER_TIME", False
        )
    ]
    assert alice.state is ConnectionState.CLOSED


def test_a_msg1_arriving_after_the_handshake_deadline_costs_nothing() -> None:
    to_bob, to_alice = pair(ALICE, BOB)
    kem = CountingKem()
    bob = Connection.accept(SessionConfig(BOB.creds, to_alice, hooks=KatHooks(kem=kem)), START)
    msg1 = Connection.connect(SessionConfig(ALICE.creds, to_bob), START).data_to_send()
    with count_c_calls("exchange", "encapsulate") as calls:
        bob.receive_data(msg1, START + HANDSHAKE_DEADLINE)
    assert sum(calls.values()) == 0 and kem.calls.total() == 0
    assert drained(bob) == [
        ConnectionTerminated(CloseReason.HANDSHAKE_TIMEOUT, "handshake deadline passed", False)
    ]
    assert bob.data_to_send() == b""  # no msg2, and no TimestampAccepted above


def test_an_initiator_past_its_deadline_does_not_sign() -> None:
    to_bob, to_alice = pair(ALICE, BOB)
    alice = Connection.connect(SessionConfig(ALICE.creds, to_bob), START)
    bob = Connection.accept(SessionConfig(BOB.creds, to_alice), START)
    bob.receive_data(alice.data_to_send(), START)
    msg2 = bob.data_to_send()
    drained(alice)
    with count_c_calls("sign") as calls:
        alice.receive_data(msg2, START + HANDSHAKE_DEADLINE + 0.5)
    assert calls["sign"] == 0
    assert alice.data_to_send() == b""
    assert alice.state is ConnectionState.CLOSED


# --- Rule 4 and rule 1: a bad now, any exception ----------------------------------------------

BAD_NOWS = {"nan": math.nan, "inf": math.inf, "negative": -1.0, "str": "1750000000", "bool": True}


@pytest.mark.parametrize("now", BAD_NOWS.values(), ids=BAD_NOWS.keys())
def test_a_bad_now_is_refused_before_the_ping_is_decrypted(now: object) -> None:
    """The finding: with ``now=nan`` a PING was decrypted (its nonce used), then the PONG's
    time failed with a ValueError, and the connection stayed ESTABLISHED with no PONG sent."""
    world = established(ALICE, BOB)
    world.a.connection.send_ping(world.clock.now)
    ping = world.a.connection.data_to_send()
    world.b.drain()
    bob = world.b.connection
    with pytest.raises(LocalProtocolError):
        bob.receive_data(ping, now)  # type: ignore[arg-type]
    assert bob.state is ConnectionState.ERROR
    assert not [e for e in drained(bob) if isinstance(e, PingReceived)]
    assert bob.data_to_send() == b""


@pytest.mark.parametrize(
    "call",
    [
        lambda c, now: c.handle_timer(now),
        lambda c, now: c.send_data(b"x", now),
        lambda c, now: c.send_ping(now),
        lambda c, now: c.close(now=now),
    ],
    ids=["handle_timer", "send_data", "send_ping", "close"],
)
def test_every_entry_point_refuses_a_bad_now(call: object) -> None:
    world = established(ALICE, BOB)
    alice = world.a.connection
    with pytest.raises(LocalProtocolError):
        call(alice, math.nan)  # type: ignore[operator]
    assert alice.state is ConnectionState.ERROR
    with pytest.raises(LocalProtocolError):
        Connection.accept(SessionConfig(BOB.creds, pair(ALICE, BOB)[1]), math.inf)


@dataclass(frozen=True, slots=True)
class Buggy(Frame):
    """A later issue's frame type whose parser has a bug (raises something not a NoiseError)."""

    TYPE: ClassVar[int] = 0x70
    MAX_BODY: ClassVar[int] = 16

    def encode_body(self) -> bytes:
        return b"boom"

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        raise ZeroDivisionError("a bug in a frame parser")


def test_any_exception_moves_the_connection_to_error() -> None:
    codec = {"codec": SESSION_FRAMES.extended(Buggy)}
    world = established(ALICE, BOB, initiator_config=codec, responder_config=codec)
    world.a.connection.send_frame(Buggy(), world.clock.now)
    wire = world.a.connection.data_to_send()
    bob = world.b.connection
    with pytest.raises(ZeroDivisionError):
        bob.receive_data(wire, world.clock.now)
    assert bob.state is ConnectionState.ERROR
    with pytest.raises(LocalProtocolError):
        bob.receive_data(b"", world.clock.now)  # ERROR is final


# --- Rule 6 and the rekeyer's rule 2: message limits ------------------------------------------


def test_a_rekey_starts_at_the_send_that_reaches_rekey_after_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connection_module, "REKEY_AFTER_MESSAGES", 10)
    monkeypatch.setattr(rekey_module, "REKEY_AFTER_MESSAGES", 10)
    world = established(ALICE, BOB)
    alice = world.a.connection
    world.a.drain()
    assert len(world.a.of_type(TimestampSent)) == 1
    # The proof used nonce 0; DATA takes 1..9, and the 9th send is the 10th message.
    for i in range(8):
        alice.send_data(bytes([i]), world.clock.now)
    assert not [e for e in drained(alice) if isinstance(e, TimestampSent)]
    alice.send_data(b"the tenth", world.clock.now)  # no timer read, no timer fired
    assert [type(e) for e in drained(alice)] == [TimestampSent]
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    assert world.a.error is None and world.b.error is None
    for end in (world.a, world.b):  # the rekey it started completed
        assert [e.rekey for e in end.of_type(SessionEstablished)] == [False, True]
    assert len(world.b.of_type(FrameReceived)) == 9


def test_the_send_limit_closes_the_session_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection_module, "REJECT_AFTER_MESSAGES", 20)
    world = established(ALICE, BOB)
    alice = world.a.connection
    world.a.drain()
    sent = 0
    while alice.state is ConnectionState.ESTABLISHED:
        alice.send_data(sent.to_bytes(2, "big"), world.clock.now)  # never raises at the limit
        sent += 1
    assert sent == 19  # nonces 1..19 after the proof's 0: the last one below the limit
    assert drained(alice)[-1] == ConnectionTerminated(
        CloseReason.SESSION_EXPIRED, "no rekey before REJECT_AFTER_MESSAGES", False
    )
    assert alice.state is ConnectionState.CLOSED
    # Everything sent before the limit still arrives.
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    assert len(world.b.of_type(FrameReceived)) == 19
    with pytest.raises(LocalProtocolError):
        alice.send_data(b"after the end", world.clock.now)


def test_pongs_reaching_the_send_limit_close_cleanly_inside_receive_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connection_module, "REJECT_AFTER_MESSAGES", 20)
    world = established(ALICE, BOB)
    bob, alice = world.b.connection, world.a.connection
    for i in range(10):
        bob.send_data(bytes([i]), world.clock.now)  # Bob's nonce: 11
    world.link.collect(world.clock.now)
    world.run_for(1.0)
    for _ in range(12):
        alice.send_ping(world.clock.now)  # Alice's nonce: 13
    world.b.drain()
    bob.receive_data(alice.data_to_send(), world.clock.now)  # no exception: a clean close
    events = drained(bob)
    assert len([e for e in events if isinstance(e, PingReceived)]) == 9  # PONGs at 11..19
    assert events[-1] == ConnectionTerminated(
        CloseReason.SESSION_EXPIRED, "no rekey before REJECT_AFTER_MESSAGES", False
    )
    assert bob.state is ConnectionState.CLOSED


def test_timestamps_of_a_late_handshake_are_not_persisted() -> None:
    """A flight refused at the deadline emits no TimestampAccepted (nothing to persist)."""
    to_bob, to_alice = pair(ALICE, BOB)
    bob = Connection.accept(SessionConfig(BOB.creds, to_alice), START)
    msg1 = Connection.connect(SessionConfig(ALICE.creds, to_bob), START).data_to_send()
    bob.receive_data(msg1[:LENGTH_PREFIX_LEN], START)
    bob.receive_data(msg1[LENGTH_PREFIX_LEN:], START + HANDSHAKE_DEADLINE + 1)
    assert not [e for e in drained(bob) if isinstance(e, TimestampAccepted)]
    assert bob.state is ConnectionState.CLOSED
