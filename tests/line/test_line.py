"""Lines over real loopback TCP: crossing dials, silent peers, timestamps, restarts."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

import pytest

from hotline.line import CROSSING_WINDOW, LineState, PathState, _adapter
from tests.harness import Bandwidth, Blackhole, FaultProxy

from .nodes import FAST, both_up, start_node, stations, wait_for


async def test_crossing_dials_leave_exactly_one_session_the_same_on_both_sides() -> None:
    alice, bob, to_bob, to_alice = stations()
    a = await start_node(alice, to_bob, "bob")
    b = await start_node(bob, to_alice, "alice")
    # Both dial at the same moment: two streams complete, one survives.
    a.line.set_addresses((f"127.0.0.1:{b.port}",))
    b.line.set_addresses((f"127.0.0.1:{a.port}",))
    a.line.start()
    b.line.start()
    try:
        await wait_for(lambda: both_up(a, b), 5.0, "line up")
        await asyncio.sleep(0.3)  # let the losing stream's CLOSE(REPLACED) land
        sa, sb = a.line.session, b.line.session
        assert sa is not None and sb is not None
        assert sa.connection.handshake_hash == sb.connection.handshake_hash
        assert sa.outbound != sb.outbound
        # Both dials really completed a handshake: each side sent one msg1 and accepted one.
        for node in (a, b):
            assert len(node.ledger.values("sent")) == len(node.ledger.values("accepted")) == 1
        assert both_up(a, b)
        assert CROSSING_WINDOW == 5.0
        # The kernel gives up on unacknowledged data after the ping timeout too.
        assert sa.transport is not None
        sock = sa.transport.get_extra_info("socket")
        timeout_ms = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        assert timeout_ms == int(FAST.ping_timeout * 1000)
    finally:
        await a.stop()
        await b.stop()


async def test_a_silent_path_is_down_at_the_probes_and_dropped_at_the_ping_timeout() -> None:
    alice, bob, to_bob, to_alice = stations()
    b = await start_node(bob, to_alice, "alice")
    async with FaultProxy(b.port) as proxy:
        a = await start_node(alice, to_bob, "bob", dial=(f"127.0.0.1:{proxy.port}",))
        try:
            await wait_for(lambda: both_up(a, b), 5.0, "line up")
            session = a.line.session
            await proxy.set_mode("both", Blackhole())
            # The probes see it first: down, but the session is kept (it may yet come back).
            probes = (FAST.probe_missed + 1) * FAST.ping_interval
            took = await wait_for(
                lambda: a.line.state is LineState.DOWN and b.line.state is LineState.DOWN,
                probes + 0.3,
                "both down",
            )
            assert a.line.session is session
            assert a.line.status().path_state is PathState.DOWN
            # Silence for the whole ping timeout drops the session itself.
            took += await wait_for(
                lambda: a.line.session is not session, FAST.ping_timeout + 1.0, "session dropped"
            )
            assert took >= FAST.ping_timeout - 2 * FAST.ping_interval  # not before the timeout
            assert a.line.state is LineState.DOWN and a.line.status().path_state is None
        finally:
            await a.stop()
            await b.stop()


async def test_timestamps_are_persisted_and_seed_the_next_connection() -> None:
    alice, bob, to_bob, to_alice = stations()
    b = await start_node(bob, to_alice, "alice")
    a = await start_node(alice, to_bob, "bob", dial=(f"127.0.0.1:{b.port}",))
    try:
        await wait_for(lambda: both_up(a, b), 5.0, "line up")
        (sent,) = a.ledger.values("sent")
        assert b.ledger.values("accepted") == [sent]
        assert a.ledger.values("handshake") and b.ledger.values("handshake")
        # Bob restarts with what his store holds: a second dial from Alice is newer, accepted.
        await b.stop()
        await wait_for(lambda: a.line.state is not LineState.UP, 3.0, "alice sees the loss")
        b2 = await start_node(bob, to_alice, "alice")
        a.line.set_addresses((f"127.0.0.1:{b2.port}",))
        await wait_for(lambda: both_up(a, b2), 5.0, "line up again")
        assert a.ledger.values("sent")[-1] > sent
    finally:
        await a.stop()
        await b2.stop()


async def test_a_trickle_of_bytes_without_a_whole_message_is_silence() -> None:
    # Bytes keep arriving (a few a second), but a whole authenticated message takes longer
    # than the ping timeout: only authenticated messages count as hearing the peer.
    alice, bob, to_bob, to_alice = stations()
    b = await start_node(bob, to_alice, "alice")
    async with FaultProxy(b.port) as proxy:
        a = await start_node(alice, to_bob, "bob", dial=(f"127.0.0.1:{proxy.port}",))
        try:
            await wait_for(lambda: both_up(a, b), 5.0, "line up")
            await proxy.set_mode("down", Bandwidth(8))
            await wait_for(
                lambda: a.line.state is not LineState.UP, FAST.ping_timeout + 1.5, "alice down"
            )
        finally:
            await a.stop()
            await b.stop()


async def test_a_full_write_buffer_keeps_reading_and_an_overfull_one_drops_the_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob, to_bob, to_alice = stations()
    b = await start_node(bob, to_alice, "alice")
    a = await start_node(alice, to_bob, "bob", dial=(f"127.0.0.1:{b.port}",))
    try:
        await wait_for(lambda: both_up(a, b), 5.0, "line up")
        stream = a.line.session
        assert stream is not None and stream.transport is not None
        # Above the high-water mark senders wait, but reading goes on: two stations sending
        # at full speed to each other would otherwise both stop reading and wait for ever.
        stream.pause_writing()
        assert stream.transport.is_reading()
        waiting = asyncio.ensure_future(stream.wait_writable())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        stream.resume_writing()
        await asyncio.wait_for(waiting, 1.0)
        # Past the cap, the stream is dropped rather than buffered without end.
        monkeypatch.setattr(_adapter, "MAX_WRITE_BUFFER", -1)
        stream.send_data(b"x")
        assert await asyncio.wait_for(stream.closed, 2.0) == "write buffer overflow"
    finally:
        await a.stop()
        await b.stop()


@dataclass(eq=False)
class _EndedSession:
    established_at: float
    path: str = "127.0.0.1:9"
    outbound: bool = True


async def test_only_a_session_that_lived_resets_the_backoff() -> None:
    alice, _, to_bob, _ = stations()
    a = await start_node(alice, to_bob, "bob")
    try:
        backoff = a.line._backoff
        for _ in range(3):
            backoff.next_delay()
        for age, attempts in ((0.0, 3), (FAST.ping_timeout + 1.0, 0)):
            session = _EndedSession(time.time() - age)
            a.line._session = session  # type: ignore[assignment]
            a.line.session_ended(session, "the peer closed the stream")  # type: ignore[arg-type]
            assert backoff.attempt == attempts
    finally:
        await a.stop()
