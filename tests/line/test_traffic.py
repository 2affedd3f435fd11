"""Continuous DATA across in-band rekeys, over real loopback TCP: once each, in order."""

from __future__ import annotations

import asyncio

from hotline.session import Data, SessionTiming

from .nodes import both_up, start_node, stations, wait_for


async def test_data_frames_cross_three_rekeys_once_and_in_order() -> None:
    alice, bob, to_bob, to_alice = stations()
    timing = SessionTiming.scaled(0.8)
    received: list[int] = []

    def on_frame(frame: object) -> None:
        assert isinstance(frame, Data)
        received.append(int.from_bytes(frame.body[:8], "big"))

    b = await start_node(bob, to_alice, "alice", session_timing=timing, on_frame=on_frame)
    a = await start_node(alice, to_bob, "bob", dial=(f"127.0.0.1:{b.port}",), session_timing=timing)
    try:
        await wait_for(lambda: both_up(a, b), 5.0, "line up")
        session = a.line.session
        assert session is not None
        sent = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15.0
        while min(a.line.status().rekeys, b.line.status().rekeys) < 3:
            assert loop.time() < deadline, "three rekeys did not happen"
            for _ in range(50):
                await session.wait_writable()
                session.send_data(sent.to_bytes(8, "big") + bytes(200))
                sent += 1
            await asyncio.sleep(0.002)
        await wait_for(lambda: len(received) >= sent, 5.0, "every frame delivered")
        assert received == list(range(sent))
        assert a.line.session is session  # one stream throughout: no reconnect hid a loss
        assert a.line.status().rekeys >= 3 and b.line.status().rekeys >= 3
        assert sent > 1000
    finally:
        await a.stop()
        await b.stop()
