"""The listener's pre-authentication limits, over real loopback sockets."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotline.constants import MSG1_LEN
from hotline.handshake import PeerTable
from hotline.line import Listener, RefusalLog

from .nodes import stations


async def open_idle(port: int, count: int) -> list[asyncio.StreamWriter]:
    writers = []
    for _ in range(count):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
    return writers


async def reset_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the listener resets the stream within ``seconds``, without sending a byte."""
    try:
        data = await asyncio.wait_for(reader.read(1), seconds)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    raise AssertionError(f"the listener sent {data!r} instead of a reset")


async def is_reset(port: int) -> bool:
    """Whether a new connection is reset by the listener on arrival."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await reset_within(reader, 1.0)
    finally:
        writer.close()


async def listener(**limits: float) -> tuple[Listener, int]:
    _, _, to_bob, _ = stations()
    listening = Listener(PeerTable([to_bob]), lambda peer: None, RefusalLog(10.0), **limits)  # type: ignore[arg-type]
    _, port = await listening.listen("127.0.0.1", 0)
    return listening, port


async def test_unauthenticated_connections_per_source_are_capped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listening, port = await listener(max_per_source=4, max_total=64)
    caplog.set_level(logging.WARNING, "hotline.line")
    try:
        idle = await open_idle(port, 4)
        await asyncio.sleep(0.05)
        assert listening.unauthenticated == 4
        assert await is_reset(port)  # the fifth from the same address
        assert await is_reset(port)
        refusals = [r for r in caplog.records if "from this address" in str(r.__dict__)]
        assert len(refusals) == 1  # logged once per source and interval
        for writer in idle:
            writer.close()
        await asyncio.sleep(0.05)
        assert listening.unauthenticated == 0  # slots come back when streams end
        assert not await is_reset(port)
    finally:
        await listening.close()


async def test_unauthenticated_connections_in_all_are_capped() -> None:
    listening, port = await listener(max_per_source=100, max_total=3)
    try:
        idle = await open_idle(port, 3)
        await asyncio.sleep(0.05)
        assert await is_reset(port)
        for writer in idle:
            writer.close()
    finally:
        await listening.close()


async def test_a_silent_stream_is_dropped_at_the_handshake_deadline() -> None:
    listening, port = await listener(deadline=0.3)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x06\x88")  # a msg1 length prefix, and then nothing (slowloris)
        start = asyncio.get_running_loop().time()
        assert await reset_within(reader, 2.0)
        assert asyncio.get_running_loop().time() - start < 1.0
        assert listening.unauthenticated == 0
    finally:
        await listening.close()


@pytest.mark.parametrize(
    "first",
    [b"\x00\x10" + bytes(16), MSG1_LEN.to_bytes(2, "big") + bytes(MSG1_LEN)],
    ids=["wrong-length", "forged-mac1"],
)
async def test_a_msg1_no_paired_peer_sent_is_dropped_without_a_reply(first: bytes) -> None:
    listening, port = await listener()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(first)
        assert await reset_within(reader, 1.0)  # dropped at once, nothing sent back
    finally:
        await listening.close()
