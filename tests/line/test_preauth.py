"""Streams that identified a paired peer are still unauthenticated: the deadline counts from
accept, the default limits are the protocol's, and a refused handshake says why in the log."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hotline.constants import (
    HANDSHAKE_DEADLINE,
    LENGTH_PREFIX_LEN,
    MAX_PREAUTH_CONNECTIONS,
    MAX_PREAUTH_PER_SOURCE,
    MSG2_LEN,
)
from hotline.handshake import Initiator, PeerTable, StaleTimestampError
from hotline.line import Listener, RefusalLog
from hotline.line._adapter import _describe
from hotline.session import Msg1FloodError, with_length

from .nodes import start_node, stations
from .test_listener import reset_within


def fields_of(caplog: pytest.LogCaptureFixture, reason: str) -> list[dict[str, object]]:
    found = []
    for record in caplog.records:
        fields: dict[str, object] = getattr(record, "hotline_fields", {})
        if record.getMessage() == "refused" and fields.get("reason") == reason:
            found.append(fields)
    return found


async def test_an_identified_stream_that_stalls_is_reset_at_the_deadline_from_accept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A genuine msg1 gets a msg2; a client that then stalls is reset when the deadline counted
    from *accept* passes, not HANDSHAKE_DEADLINE after its msg1 (the connection's own timer)."""
    caplog.set_level(logging.WARNING, "hotline.line")
    alice, bob, to_bob, to_alice = stations()
    node = await start_node(bob, to_alice, "alice", deadline=0.6)
    loop = asyncio.get_running_loop()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
        accepted = loop.time()
        await asyncio.sleep(0.3)  # a slow start: the clock already runs
        writer.write(with_length(Initiator(alice.creds, to_bob).start(time.time(), 0)))
        await reader.readexactly(LENGTH_PREFIX_LEN + MSG2_LEN)  # answered...
        assert await reset_within(reader, 2.0)  # ...and reset: no proof came
        took = loop.time() - accepted
        assert 0.5 <= took < 1.0 < HANDSHAKE_DEADLINE
        assert node.listener.unauthenticated == 0  # the slot came back
        (refusal,) = fields_of(caplog, "handshake deadline passed")
        assert refusal["peer"] == "alice" and refusal["source"] == "127.0.0.1"
        writer.close()
    finally:
        await node.stop()


async def test_a_msg1_from_a_clock_far_off_is_refused_as_clock(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stale or future msg1 passed mac1 and decrypted: a paired peer made it. Its refusal is
    ``clock``, with how far off, for the clock alarm (never mixed with replays)."""
    caplog.set_level(logging.WARNING, "hotline.line")
    alice, bob, to_bob, to_alice = stations()
    node = await start_node(bob, to_alice, "alice")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
        writer.write(with_length(Initiator(alice.creds, to_bob).start(time.time() + 3600, 0)))
        assert await reset_within(reader, 2.0)  # no msg2: refused before any KEM work
        (refusal,) = fields_of(caplog, "clock")
        assert refusal["offset_s"] == pytest.approx(3600, abs=5)
        assert not fields_of(caplog, "replayed msg1")
        writer.close()
    finally:
        await node.stop()


def test_refusal_reasons_are_fixed_phrases() -> None:
    assert _describe(StaleTimestampError(10_000, 0)) == "clock"
    assert _describe(Msg1FloodError("too soon")) == "msg1 flood"


async def test_the_default_limits_are_the_protocols() -> None:
    _, _, to_bob, _ = stations()
    listener = Listener(PeerTable([to_bob]), lambda peer: None, RefusalLog(10.0))
    _, port = await listener.listen("127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []

    async def open_from(host: str) -> asyncio.StreamReader:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(host, 0))
        writers.append(writer)
        return reader

    try:
        for _ in range(MAX_PREAUTH_PER_SOURCE):
            await open_from("127.0.0.2")
        assert await reset_within(await open_from("127.0.0.2"), 1.0)  # one too many from .2
        sources = (f"127.0.0.{n}" for n in range(3, 255))
        while listener.unauthenticated < MAX_PREAUTH_CONNECTIONS:
            host = next(sources)
            for _ in range(MAX_PREAUTH_PER_SOURCE):
                await open_from(host)
            await asyncio.sleep(0.01)
        assert listener.unauthenticated == MAX_PREAUTH_CONNECTIONS
        assert await reset_within(await open_from(next(sources)), 1.0)  # a fresh source, refused
    finally:
        for writer in writers:
            writer.close()
        await listener.close()
