"""Probes on real loopback lines: the figures a healthy line reports, and a cut that heals
within the ping timeout taking the line down and up again on the same session, once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotline.line import LineState, LineTiming, PathState
from tests.harness import FaultProxy, Pass, Stall

from .nodes import both_up, start_node, stations, wait_for

#: Quick probes, a long silence timeout: the session outlives a short cut.
PROBES = LineTiming(ping_interval=0.1, ping_timeout=3.0, dial_backoff_max=1.0, probe_hold_down=0.5)


def path_events(caplog: pytest.LogCaptureFixture) -> list[tuple[str, object]]:
    return [
        (record.getMessage(), getattr(record, "hotline_fields", {}).get("peer"))
        for record in caplog.records
        if record.getMessage() in ("path down", "path up")
    ]


async def test_a_healthy_line_reports_rtt_loss_and_clock_offset() -> None:
    alice, bob, to_bob, to_alice = stations()
    b = await start_node(bob, to_alice, "alice", timing=PROBES)
    a = await start_node(alice, to_bob, "bob", dial=(f"127.0.0.1:{b.port}",), timing=PROBES)
    try:
        await wait_for(lambda: both_up(a, b), 5.0, "line up")
        await asyncio.sleep(1.0)  # about ten probes
        status = a.line.status()
        assert status.state is LineState.UP and status.path_state is PathState.UP
        assert status.rtt_ms is not None and 0 < status.rtt_ms < 100
        assert status.rtt_last_ms is not None and 0 < status.rtt_last_ms < 100
        assert status.loss == 0.0
        # One machine, one clock: the offset is within the loopback's delay and ms rounding.
        assert status.clock_offset_ms is not None and abs(status.clock_offset_ms) < 5
    finally:
        await a.stop()
        await b.stop()


async def test_a_short_cut_is_down_then_up_on_the_same_session_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "hotline.line")
    alice, bob, to_bob, to_alice = stations()
    b = await start_node(bob, to_alice, "alice", timing=PROBES)
    async with FaultProxy(b.port) as proxy:
        a = await start_node(alice, to_bob, "bob", dial=(f"127.0.0.1:{proxy.port}",), timing=PROBES)
        try:
            await wait_for(lambda: both_up(a, b), 5.0, "line up")
            sessions = a.line.session, b.line.session
            await proxy.set_mode("both", Stall())  # TCP holds the bytes: nothing is lost
            await wait_for(
                lambda: a.line.state is LineState.DOWN and b.line.state is LineState.DOWN,
                (PROBES.probe_missed + 1) * PROBES.ping_interval + 0.3,
                "both down",
            )
            await asyncio.sleep(0.3)
            await proxy.set_mode("both", Pass())
            up = await wait_for(lambda: both_up(a, b), 3.0, "both up again")
            # Held down for the hold-down after the last missed probe, which was due at most
            # one interval before the path came back.
            assert up >= PROBES.probe_hold_down - PROBES.ping_interval
            assert (a.line.session, b.line.session) == sessions
            await asyncio.sleep(1.0)  # healthy: no more transitions
            assert sorted(path_events(caplog)) == [
                ("path down", "alice"),
                ("path down", "bob"),
                ("path up", "alice"),
                ("path up", "bob"),
            ]
            status = a.line.status()
            assert status.loss == 0.0  # the held PINGs were all answered, late
            assert status.rtt_last_ms is not None and status.rtt_last_ms < 100
        finally:
            await a.stop()
            await b.stop()
