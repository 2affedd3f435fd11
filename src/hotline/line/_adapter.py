"""One sans-IO :class:`~hotline.session.Connection` on one asyncio TCP transport.

As aioquic's ``QuicConnectionProtocol``, this adapter is thin: it feeds received bytes to the
connection with the time, drains the connection's events to its owner (the line), writes what
the connection wants sent, and re-arms one timer. Everything the protocol decides is decided
in the sans-IO core; the adapter adds only what needs a clock and a socket:

- **heartbeats**: a PING every ``ping_interval`` once the session is established, fed with
  their PONGs to a :class:`~._health.PathHealth` that calls the path down after a few missed
  ones (the owner is told of each change); and the session is dropped as *silent* when nothing
  has arrived for ``ping_timeout`` (the peer's PONGs arrive at least that often on a live
  path). ``TCP_USER_TIMEOUT`` is set to the same value, so the kernel also gives up on data the
  peer never acknowledges.
- **the pre-authentication deadline**: a stream not established ``HANDSHAKE_DEADLINE`` after it
  was accepted or dialled is aborted, counted from accept (the connection's own timer counts
  from its creation, which on a listener is after the first message arrived).

Two clocks, kept apart on purpose:

- the **wall clock** (``wall_time()``, seconds since the Unix epoch) is the ``now`` the
  connection takes: its msg1 timestamps and ping times are wall-clock values, and its
  ``get_timer()`` answers in wall-clock seconds;
- the **loop clock** (``loop.time()``, monotonic) runs the adapter's own timers (heartbeats,
  silence, deadline), which must not jump when an operator or NTP steps the wall clock.

The one timer handle is armed on the loop clock; a wall-clock deadline of the connection is
converted by its distance from the wall clock's present.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import typing
from collections.abc import Callable, Iterable
from typing import Final, Protocol

from hotline.handshake import ProofError, ReplayError, StaleTimestampError, UnknownPeerError
from hotline.logfmt import log_event
from hotline.noise import DecryptError, NoiseError
from hotline.session import (
    CloseReason,
    Connection,
    ConnectionState,
    ConnectionTerminated,
    Event,
    Frame,
    FrameError,
    Hello,
    Msg1FloodError,
    PingReceived,
    PongReceived,
    SessionEstablished,
    TimestampSent,
)

from ._address import format_address, reset
from ._health import PathHealth, PathReport, PathState
from ._timing import LineTiming
from ._wall import wall_time

_log = logging.getLogger("hotline.line")

#: The most we let the kernel-side write buffer of one stream hold before dropping the stream.
#: Reading pauses at asyncio's high-water mark (64 KiB), so only our own sends can push past it;
#: 4 MiB is many seconds of traffic at any rate a line carries, and bounds a stuck peer's cost.
MAX_WRITE_BUFFER: Final = 4 * 1024 * 1024
#: Linux's ``TCP_USER_TIMEOUT`` (RFC 5482); other systems lack it and rely on the heartbeats.
_TCP_USER_TIMEOUT: Final = getattr(socket, "TCP_USER_TIMEOUT", None)

#: The fixed phrase logged for each kind of protocol failure (first match wins). A stale msg1 is
#: ``clock``: it passed mac1 and decrypted, so a paired peer made it and the two clocks (or the
#: network's delay) are minutes apart; the clock alarm of a later issue keys on this reason.
_REASONS: Final[tuple[tuple[type[NoiseError], str], ...]] = (
    (ReplayError, "replayed msg1"),
    (StaleTimestampError, "clock"),
    (Msg1FloodError, "msg1 flood"),
    (UnknownPeerError, "not the expected peer's mac1"),
    (ProofError, "identity proof failed"),
    (DecryptError, "decryption failed"),
    (FrameError, "malformed frame"),
)


class SessionOwner(Protocol):
    """What a session reports to: the line it belongs to."""

    def session_event(self, session: SessionProtocol, event: Event) -> None:
        """The connection produced ``event`` (called in order, before its bytes are sent)."""

    def session_ended(self, session: SessionProtocol, reason: str) -> None:
        """The stream is over, for ``reason``; called exactly once per session."""

    def path_changed(self, session: SessionProtocol, report: PathReport) -> None:
        """The session's path went down or came up (``report.state``), once per change."""


class SessionProtocol(asyncio.Protocol):
    """Drives one :class:`Connection` over one stream: feed, drain, transmit, re-arm.

    Attributes:
        outbound: we dialled this stream (we are its first handshake's initiator).
        path: the remote end, ``host:port``.
        error: the protocol error that ended the stream, if one did.
        established_at: wall clock when the first session came up, or ``None``.
        keys_at: wall clock when the keys in use were established (the last rekey).
        rekeys: rekeys completed on this stream.
        health: the path's heartbeat view once established (loop clock), else ``None``.
    """

    def __init__(
        self,
        connection: Connection,
        owner: SessionOwner,
        timing: LineTiming,
        *,
        outbound: bool,
        deadline: float,
        on_authenticated: Callable[[], None] | None = None,
    ) -> None:
        """Args:
        connection: the sans-IO connection (from ``Connection.connect`` or ``accept``).
        owner: the line that receives the events.
        timing: heartbeat and silence timers.
        outbound: whether we dialled.
        deadline: loop time by which the session must be established, or the stream is
            aborted.
        on_authenticated: called once, when the session is established or the stream ends
            first (the listener's pre-authentication slot is released then).
        """
        self._connection = connection
        self._owner = owner
        self._timing = timing
        self._deadline = deadline
        self._on_authenticated = on_authenticated
        self.outbound = outbound
        self.path = "?"
        self.error: NoiseError | None = None
        self.established_at: float | None = None
        self.keys_at: float | None = None
        self.rekeys = 0
        self.health: PathHealth | None = None
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.Handle | None = None
        self._timer_at = 0.0
        self._created = self._last_heard = self._loop.time()
        self._next_ping = 0.0
        self._path_state = PathState.UP
        self._pumping = False
        self._receiving = False
        self._ended = False
        self._terminated_reason = "closed"
        self._writable = asyncio.Event()
        self._writable.set()
        #: Resolves to True once the session is established, False if the stream ended first.
        self.settled: asyncio.Future[bool] = self._loop.create_future()
        #: Resolves when the stream has ended (its result is the reason).
        self.closed: asyncio.Future[str] = self._loop.create_future()
        #: Resolves when the transport is gone (a CLOSE being flushed has left by then).
        self.transport_gone: asyncio.Future[None] = self._loop.create_future()

    def __repr__(self) -> str:
        direction = "out" if self.outbound else "in"
        return f"SessionProtocol({direction} {self.path}, {self._connection.state.value})"

    @property
    def connection(self) -> Connection:
        """The sans-IO connection this adapter drives."""
        return self._connection

    @property
    def transport(self) -> asyncio.Transport | None:
        """The stream's transport, once connected."""
        return self._transport

    def path_report(self) -> PathReport | None:
        """The path's state and figures now, or ``None`` before the session is established."""
        return None if self.health is None else self.health.report(self._loop.time())

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Take the transport, set the socket options, and send what is ready (msg1)."""
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = typing.cast(asyncio.Transport, transport)
        self.path = format_address(transport.get_extra_info("peername"))
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if _TCP_USER_TIMEOUT is not None:
                    timeout_ms = int(self._timing.ping_timeout * 1000)
                    sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, timeout_ms)
        self._pump()

    def data_received(self, data: bytes) -> None:
        """Feed the bytes to the connection with the wall clock, then drain and transmit."""
        if self._ended:
            return
        try:
            self._connection.receive_data(data, wall_time())
        except NoiseError as exc:
            self._failed(exc)
            return
        # Only an authenticated message counts as hearing the peer (see _observe): a path that
        # trickles a byte at a time, or a peer that sends half a frame, is still silent.
        self._receiving = True
        try:
            self._pump()
        finally:
            self._receiving = False

    def eof_received(self) -> bool:
        """The peer closed its side: the session is over (a CLOSE would have come first)."""
        self._end("the peer closed the stream", abort=False)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """The transport is gone."""
        if not self.transport_gone.done():
            self.transport_gone.set_result(None)
        self._end("connection lost" if exc is None else f"connection lost: {exc}", abort=False)

    def pause_writing(self) -> None:
        """The transport's buffer is above its high-water mark: senders wait.

        Reading goes on. Two stations that both stopped reading while their buffers were full
        would wait on each other for ever (both send envelopes at full speed); what bounds our
        buffer instead is that senders await :meth:`wait_writable`, and a peer that makes it
        grow anyway (PINGs it never reads the PONGs of) is dropped at ``MAX_WRITE_BUFFER``.
        """
        self._writable.clear()

    def resume_writing(self) -> None:
        """The transport's buffer drained: senders go on."""
        self._writable.set()

    # --- Sending -------------------------------------------------------------------------------

    def send_frames(self, frames: Iterable[Frame]) -> None:
        """Send application frames on the established session, in order, in one write.

        Raises:
            LocalProtocolError: the session is not established (or ended), or a frame is not
                of the session's codec.
        """
        now = wall_time()
        try:
            for frame in frames:
                self._connection.send_frame(frame, now)
        finally:
            self._pump()

    def send_data(self, payload: bytes) -> None:
        """Send one DATA frame on the established session.

        Raises:
            LocalProtocolError: the session is not established (or ended).
        """
        try:
            self._connection.send_data(payload, wall_time())
        finally:
            self._pump()  # a refused send leaves the connection in ERROR: drop the stream

    async def wait_writable(self) -> None:
        """Return when the transport accepts more bytes (TCP flow control)."""
        await self._writable.wait()

    def close(self, reason: CloseReason = CloseReason.NORMAL, text: str = "") -> None:
        """End the session in order: CLOSE (if established), then close the stream."""
        if self._ended:
            return
        if self._connection.state in (ConnectionState.HANDSHAKE, ConnectionState.ESTABLISHED):
            self._connection.close(reason, text, now=wall_time())
        # Write the CLOSE now, even from inside an event callback (when _pump is busy).
        data = self._connection.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)
        self._end(text or reason.name.lower(), abort=False)

    def abort(self, reason: str) -> None:
        """Drop the stream at once (RST), without a word to the peer."""
        self._end(reason, abort=True)

    # --- The loop: drain, transmit, re-arm -------------------------------------------------

    def _pump(self) -> None:
        """Drain events to the owner, write the bytes, act on the state, re-arm the timer."""
        if self._pumping or self._ended:
            return
        self._pumping = True
        try:
            while True:
                drained = self._pump_events()
                data = self._connection.data_to_send()
                transport = self._transport
                if data and transport is not None and not transport.is_closing():
                    transport.write(data)
                    if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
                        log_event(
                            _log,
                            logging.WARNING,
                            "write buffer overflow; stream dropped",
                            path=self.path,
                            limit=MAX_WRITE_BUFFER,
                        )
                        self._end("write buffer overflow", abort=True)
                        return
                if not drained and not data:
                    break
        finally:
            self._pumping = False
        state = self._connection.state
        if state is ConnectionState.CLOSED:
            self._end(self._terminated_reason, abort=False)
        elif state is ConnectionState.ERROR:
            self._end("protocol error", abort=True)
        else:
            self._check_path()
            self._rearm()

    def _pump_events(self) -> bool:
        drained = False
        while (event := self._connection.next_event()) is not None:
            drained = True
            self._observe(event)
            self._owner.session_event(self, event)
        return drained

    def _observe(self, event: Event) -> None:
        """Update the adapter's own view (heartbeats, path health, ages) from one event."""
        if self._receiving and not isinstance(event, TimestampSent):
            self._last_heard = self._loop.time()  # an authenticated message came in
            self._probe(event)
        if isinstance(event, SessionEstablished):
            now = wall_time()
            self.keys_at = now
            if event.rekey:
                self.rekeys += 1
            else:
                self.established_at = now
                # The handshake took at least one round trip: a bound until the first PONG.
                up_at = self._loop.time()
                self.health = PathHealth(self._timing, up_at, rtt_bound=up_at - self._created)
                self._next_ping = up_at + self._timing.ping_interval
                self._authenticated()
                if not self.settled.done():
                    self.settled.set_result(True)
                if self._connection.state is ConnectionState.ESTABLISHED:
                    self._connection.send_frame(Hello(), now)
        elif isinstance(event, ConnectionTerminated):
            who = "the peer" if event.by_peer else "we"
            text = f": {event.text}" if event.text else ""
            self._terminated_reason = f"{who} closed ({event.reason.name.lower()}){text}"

    def _probe(self, event: Event) -> None:
        """Feed one authenticated event to the path's health (its PINGs prove only one way)."""
        health = self.health
        if health is None or isinstance(event, PingReceived):
            return
        if isinstance(event, PongReceived):
            health.pong_received(event.ping_id, self._loop.time(), event.peer_time_ms)
        else:
            health.heard(self._loop.time())

    def _check_path(self) -> None:
        """Tell the owner when the path's state changed since it was last told."""
        report = self.path_report()
        if report is not None and report.state is not self._path_state:
            self._path_state = report.state
            self._owner.path_changed(self, report)

    def _rearm(self) -> None:
        """Arm the one timer at the earliest deadline (loop clock)."""
        now = self._loop.time()
        deadlines = []
        wall_deadline = self._connection.get_timer()
        if wall_deadline is not None:
            deadlines.append(now + max(0.0, wall_deadline - wall_time()))
        if self.established_at is None:
            deadlines.append(self._deadline)
        else:
            deadlines.append(self._next_ping)
            deadlines.append(self._last_heard + self._timing.ping_timeout)
            probe_deadline = None if self.health is None else self.health.get_timer()
            if probe_deadline is not None:
                deadlines.append(probe_deadline)
        when = min(deadlines)
        if self._timer is not None:
            if self._timer_at == when:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._on_timer)
        self._timer_at = when

    def _on_timer(self) -> None:
        self._timer = None
        if self._ended:
            return
        now = self._loop.time()
        wall_now = wall_time()
        wall_deadline = self._connection.get_timer()
        try:
            if wall_deadline is not None and wall_now >= wall_deadline:
                self._connection.handle_timer(wall_now)
            if self.established_at is None:
                if now >= self._deadline:
                    self._end("handshake deadline passed", abort=True)
                    return
            elif now >= self._last_heard + self._timing.ping_timeout:
                self._end(f"silent for {self._timing.ping_timeout:g} s", abort=True)
                return
            elif now >= self._next_ping and self._connection.state is ConnectionState.ESTABLISHED:
                ping_id = self._connection.send_ping(wall_now)
                if self.health is not None:  # the PING carries the wall clock in whole ms
                    self.health.ping_sent(ping_id, now, math.floor(wall_now * 1000))
                # On a fixed grid, so a late timer does not push every later probe back.
                following = self._next_ping + self._timing.ping_interval
                self._next_ping = following if following > now else now + self._timing.ping_interval
        except NoiseError as exc:
            self._failed(exc)
            return
        self._pump()

    # --- Ending --------------------------------------------------------------------------------

    def _failed(self, exc: NoiseError) -> None:
        """The connection raised (it is in ``ERROR``): report its last events, drop the stream."""
        self.error = exc
        self._pump_events()  # events queued before the error (e.g. a timestamp) still count
        self._end(_describe(exc), abort=True)

    def _authenticated(self) -> None:
        callback, self._on_authenticated = self._on_authenticated, None
        if callback is not None:
            callback()

    def _end(self, reason: str, *, abort: bool) -> None:
        """Close or abort the transport and tell the owner, once."""
        if self._ended:
            return
        self._ended = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        transport = self._transport
        if transport is not None:
            if abort:
                reset(transport)
            else:
                transport.close()
        self._writable.set()  # wake senders: their next send fails loudly, not forever
        self._authenticated()
        if not self.settled.done():
            self.settled.set_result(False)
        self.closed.set_result(reason)
        self._owner.session_ended(self, reason)


def _describe(exc: NoiseError) -> str:
    """A short, fixed-vocabulary reason for a protocol failure (for logs, never for the peer)."""
    for kind, phrase in _REASONS:
        if isinstance(exc, kind):
            return phrase
    return f"protocol error ({type(exc).__name__})"
