"""The dial loop of one line: at once at start, then with backoff while the line is down.

Each round tries the peer's addresses in order, one stream at a time (the msg1 timestamps are
per peer, docs/protocol.md §3.4, so two msg1s to one peer must never race). A round ends at the
first address whose session comes up; if none does, the line waits ``Backoff.next_delay()``
and tries again. While the line is up the loop sleeps until it goes down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from hotline.logfmt import log_event

from ._address import split_address
from ._backoff import Backoff

_log = logging.getLogger("hotline.line")


class Dialable(Protocol):
    """What the dial loop needs from a line."""

    @property
    def peer(self) -> _HasAddresses:
        """The peer and where to dial it."""

    @property
    def closed(self) -> bool:
        """Whether the line was stopped (the loop ends)."""

    def needs_dial(self) -> bool:
        """Whether the line wants a session now."""

    async def wait_until_down(self) -> None:
        """Return once the line has no session."""

    async def attempt(self, address: str, host: str, port: int) -> bool:
        """Dial once; return whether a session came up."""

    def dial_failed_all(self) -> None:
        """A whole round failed."""


class _HasAddresses(Protocol):
    @property
    def addresses(self) -> tuple[str, ...]: ...


async def dial_loop(line: Dialable, backoff: Backoff) -> None:
    """Keep ``line`` dialled until it is closed (or the task is cancelled).

    The loop also ends by itself once the line is closed: on Python 3.11 ``asyncio.wait_for``
    can swallow a cancellation that races with its result, so cancelling is not enough.
    """
    first = True
    while not line.closed:
        await line.wait_until_down()
        if not first:
            await asyncio.sleep(backoff.next_delay())
            if not line.needs_dial():
                continue
        first = False
        for address in line.peer.addresses:
            if await _attempt(line, address) or not line.needs_dial():
                break
        else:
            line.dial_failed_all()


async def _attempt(line: Dialable, address: str) -> bool:
    """Dial ``address`` once; an unexpected error fails this attempt, never the whole loop.

    A dead dial loop would leave the line down for good, and silently: so a bug in one attempt
    is logged and the loop backs off and tries again.
    """
    try:
        host, port = split_address(address)
        return await line.attempt(address, host, port)
    except Exception as exc:  # the loop must outlive a bug in one attempt
        log_event(_log, logging.ERROR, "dial failed unexpectedly", address=address, error=exc)
        return False
