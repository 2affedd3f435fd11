"""The receive buffer's bound holds whatever chunk the caller hands in (docs/protocol.md §3.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotline.constants import LENGTH_PREFIX_LEN, MAX_DATA_LEN, MAX_NOISE_MESSAGE_LEN, MSG1_LEN
from hotline.handshake import PeerTable
from hotline.session import (
    Acceptor,
    Connection,
    Data,
    FrameReceived,
    Identified,
    SessionConfig,
)
from hotline.session import _wire as wire_module

from ..handshake.stations import make_station, pair
from .link import established

ALICE, BOB = make_station(1), make_station(2)
#: One incomplete message with its prefix, plus one slice of one message with its prefix.
BOUND = 2 * (LENGTH_PREFIX_LEN + MAX_NOISE_MESSAGE_LEN)


@pytest.fixture
def high_water(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The largest the buffer of any connection or acceptor grew, measured at every feed."""
    seen = [0]
    feed = wire_module.ReceiveBuffer.feed

    def measured(self: wire_module.ReceiveBuffer, data: bytes | memoryview) -> None:
        feed(self, data)
        seen[0] = max(seen[0], len(self))

    monkeypatch.setattr(wire_module.ReceiveBuffer, "feed", measured)
    yield seen


def test_a_megabyte_chunk_is_buffered_one_slice_at_a_time(high_water: list[int]) -> None:
    world = established(ALICE, BOB)
    alice = world.a.connection
    for i in range(20):
        alice.send_data(bytes([i]) * MAX_DATA_LEN, world.clock.now)
    stream = alice.data_to_send()
    assert len(stream) > 1_300_000
    world.b.drain()
    high_water[0] = 0
    world.b.connection.receive_data(stream[:-10], world.clock.now)  # the last one incomplete
    world.b.drain()
    assert len(world.b.of_type(FrameReceived)) == 19
    assert high_water[0] <= BOUND
    assert len(world.b.connection._buffer) < LENGTH_PREFIX_LEN + MAX_NOISE_MESSAGE_LEN
    world.b.connection.receive_data(stream[-10:], world.clock.now)
    world.b.drain()
    assert [e.frame for e in world.b.of_type(FrameReceived)][-1] == Data(bytes([19]) * MAX_DATA_LEN)


def test_an_acceptor_buffers_only_the_msg1_of_a_big_first_chunk(high_water: list[int]) -> None:
    to_bob, to_alice = pair(ALICE, BOB)
    msg1 = Connection.connect(SessionConfig(ALICE.creds, to_bob), 1_750_000_000.0).data_to_send()
    chunk = msg1 + bytes(200_000)  # a pipelining (or flooding) client
    verdict = Acceptor(PeerTable([to_alice])).receive_data(chunk)
    assert isinstance(verdict, Identified) and verdict.data == chunk
    assert high_water[0] == LENGTH_PREFIX_LEN + MSG1_LEN
