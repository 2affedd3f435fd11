"""The dial loop outlives a bug in one attempt (a dead loop would leave the line down for good)."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field

import pytest

from hotline.line import _line
from hotline.line._backoff import Backoff
from hotline.line._dialer import dial_loop

from .nodes import start_node, stations


@dataclass
class _Peer:
    addresses: tuple[str, ...]


@dataclass
class _FlakyLine:
    """Raises on its first attempt, then comes up; closed once up."""

    peer: _Peer = field(default_factory=lambda: _Peer(("127.0.0.1:9",)))
    attempts: int = 0
    up: bool = False

    @property
    def closed(self) -> bool:
        return self.up

    def needs_dial(self) -> bool:
        return not self.up

    async def wait_until_down(self) -> None:
        return None

    async def attempt(self, address: str, host: str, port: int) -> bool:
        self.attempts += 1
        if self.attempts == 1:
            raise RuntimeError("a bug in one attempt")
        self.up = True
        return True

    def dial_failed_all(self) -> None:
        return None


async def test_an_unexpected_error_fails_one_attempt_not_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = _FlakyLine()
    backoff = Backoff(0.02, base=0.01, rng=random.Random(1))
    with caplog.at_level(logging.ERROR, logger="hotline.line"):
        await asyncio.wait_for(dial_loop(line, backoff), 2.0)
    assert line.attempts == 2 and line.up
    assert any("dial failed unexpectedly" in r.getMessage() for r in caplog.records)


async def test_a_dial_loop_that_dies_is_logged_and_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(line: object, backoff: object) -> None:
        raise RuntimeError("a bug outside any attempt")

    monkeypatch.setattr(_line, "dial_loop", broken)
    alice, _, to_bob, _ = stations()
    node = await start_node(alice, to_bob, "bob")
    died = asyncio.Event()
    try:
        with caplog.at_level(logging.CRITICAL, logger="hotline.line"):
            node.line.start(on_died=died.set)
            await asyncio.wait_for(died.wait(), 2.0)
        assert any("dial loop died" in r.getMessage() for r in caplog.records)
    finally:
        await node.stop()


async def test_a_dial_loop_stopped_with_its_line_is_no_death() -> None:
    alice, _, to_bob, _ = stations()
    node = await start_node(alice, to_bob, "bob")
    died = asyncio.Event()
    node.line.start(on_died=died.set)
    await node.stop()
    await asyncio.sleep(0)
    assert not died.is_set()
