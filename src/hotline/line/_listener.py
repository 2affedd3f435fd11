"""The listener: accept streams, keep unauthenticated ones cheap and few, hand the rest to lines.

An accepted stream is *unauthenticated* until its session is established (both proofs
verified). Until then it holds a slot, and slots are limited (docs/protocol.md §2.6):

- at most ``MAX_PREAUTH_CONNECTIONS`` in all, and ``MAX_PREAUTH_PER_SOURCE`` per source address;
  a stream over either limit is reset on arrival, before a byte is read;
- each must be established ``HANDSHAKE_DEADLINE`` after accept, or it is reset.

First contact reads one msg1 with a sans-IO :class:`~hotline.session.Acceptor` (a length check
and one HMAC per paired peer; no DH, no state, no reply). A msg1 that names no paired peer is
dropped silently. One that does goes to that peer's line, which builds the connection with the
peer's stored timestamps; the transport is switched over to the line's adapter
(``transport.set_protocol``) with the bytes read so far. Every refusal is logged through the
rate-limited :class:`RefusalLog`.
"""

from __future__ import annotations

import asyncio
import contextlib
import typing
from collections import Counter
from collections.abc import Callable
from typing import Final

from hotline.constants import HANDSHAKE_DEADLINE, MAX_PREAUTH_CONNECTIONS, MAX_PREAUTH_PER_SOURCE
from hotline.handshake import PairedPeer, PeerTable
from hotline.session import Acceptor, Identified, Rejected

from ._address import format_address, reset
from ._line import Line
from ._refusals import RefusalLog

#: The listen backlog: a few paired peers need a handful; a flood is cut by the slot limits.
LISTEN_BACKLOG: Final = 128


class Listener:
    """Accepts streams on one or more addresses and routes identified ones to their lines."""

    def __init__(
        self,
        table: PeerTable,
        line_for: Callable[[PairedPeer], Line | None],
        refusals: RefusalLog,
        *,
        max_total: int = MAX_PREAUTH_CONNECTIONS,
        max_per_source: int = MAX_PREAUTH_PER_SOURCE,
        deadline: float = HANDSHAKE_DEADLINE,
    ) -> None:
        """Args:
        table: the paired peers, searched by mac1 (replace it with :attr:`table`).
        line_for: the line of an identified peer (``None`` if it has none any more).
        refusals: logs refusals, rate-limited.
        max_total: unauthenticated streams allowed at once.
        max_per_source: unauthenticated streams allowed at once from one address.
        deadline: seconds from accept to an established session.
        """
        self.table = table
        self._line_for = line_for
        self._refusals = refusals
        self._max_total = max_total
        self._max_per_source = max_per_source
        self._deadline = deadline
        self._pending: Counter[str] = Counter()
        self._servers: list[asyncio.Server] = []
        self._first_contacts: set[_FirstContact] = set()

    @property
    def unauthenticated(self) -> int:
        """Streams accepted and not yet established."""
        return self._pending.total()

    async def listen(self, host: str, port: int) -> tuple[str, int]:
        """Start accepting on ``host:port``.

        Returns:
            the bound ``(host, port)`` (the real port if ``port`` was 0).

        Raises:
            OSError: the address cannot be bound.
        """
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _FirstContact(self), host, port, backlog=LISTEN_BACKLOG, reuse_address=True
        )
        self._servers.append(server)
        bound = server.sockets[0].getsockname()
        return bound[0], bound[1]

    async def close(self) -> None:
        """Stop accepting and reset every stream still in first contact."""
        for server in self._servers:
            server.close()
        for contact in list(self._first_contacts):
            contact.abort()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        self._servers.clear()

    # --- Slots ---------------------------------------------------------------------------------

    def admit(self, source: str) -> str | None:
        """Take a slot for a stream from ``source``; return why not, if the limits are reached."""
        if self._pending.total() >= self._max_total:
            return "too many unauthenticated connections"
        if self._pending[source] >= self._max_per_source:
            return "too many unauthenticated connections from this address"
        self._pending[source] += 1
        return None

    def release(self, source: str) -> None:
        """Give back a slot taken by :meth:`admit`."""
        self._pending[source] -= 1
        if self._pending[source] <= 0:
            del self._pending[source]

    def refuse(self, source: str, reason: str) -> None:
        """Log a refusal (rate-limited)."""
        self._refusals.refuse(source, reason)

    def hand_over(self, contact: _FirstContact, peer: PairedPeer) -> Line | None:
        """The line that takes over an identified stream."""
        self._first_contacts.discard(contact)
        return self._line_for(peer)

    def deadline(self) -> float:
        """The loop time by which a stream accepted now must be established."""
        return asyncio.get_running_loop().time() + self._deadline

    def track(self, contact: _FirstContact, active: bool) -> None:
        """Remember (or forget) a stream in first contact, so :meth:`close` can reset it."""
        if active:
            self._first_contacts.add(contact)
        else:
            self._first_contacts.discard(contact)


class _FirstContact(asyncio.Protocol):
    """An accepted stream until its msg1 names a paired peer (or fails to)."""

    def __init__(self, listener: Listener) -> None:
        self._listener = listener
        self._acceptor = Acceptor(listener.table)
        self._transport: asyncio.Transport | None = None
        self._source = "?"
        self._deadline = 0.0
        self._timer: asyncio.Handle | None = None
        self._holds_slot = False
        self._done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = stream = typing.cast(asyncio.Transport, transport)
        peer = stream.get_extra_info("peername")
        self._source = format_address(peer).rpartition(":")[0].strip("[]") or "?"
        refusal = self._listener.admit(self._source)
        if refusal is not None:
            self._finish()
            reset(stream)
            self._listener.refuse(self._source, refusal)
            return
        self._holds_slot = True
        self._listener.track(self, True)
        self._deadline = self._listener.deadline()
        self._timer = asyncio.get_running_loop().call_at(self._deadline, self._expire)

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        verdict = self._acceptor.receive_data(data)
        if verdict is None:
            return
        if isinstance(verdict, Rejected):
            self._refuse(verdict.reason)
            return
        assert isinstance(verdict, Identified)
        self._identified(verdict)

    def eof_received(self) -> bool:
        self._refuse("closed before a whole msg1")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish()

    def abort(self) -> None:
        """Reset the stream (the listener is closing)."""
        self._finish()
        if self._transport is not None:
            reset(self._transport)

    def _identified(self, verdict: Identified) -> None:
        transport = self._transport
        assert transport is not None
        line = self._listener.hand_over(self, verdict.peer)
        if line is None:
            self._refuse("peer no longer paired")
            return
        # From here the line's adapter holds the slot; it releases it once established.
        holds_slot, self._holds_slot = self._holds_slot, False
        source, listener = self._source, self._listener
        self._finish()

        def release() -> None:
            if holds_slot:
                listener.release(source)

        stream = line.accept(self._deadline, release)
        if stream is None:
            release()
            reset(transport)
            return
        transport.set_protocol(stream)
        stream.connection_made(transport)
        stream.data_received(verdict.data)

    def _expire(self) -> None:
        self._timer = None
        self._refuse("handshake deadline passed")

    def _refuse(self, reason: str) -> None:
        if self._done:
            return
        self._finish()
        if self._transport is not None:
            reset(self._transport)
        self._listener.refuse(self._source, reason)

    def _finish(self) -> None:
        """Release the slot and the timer, once."""
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._holds_slot:
            self._holds_slot = False
            self._listener.release(self._source)
        self._listener.track(self, False)
