"""A line: the one authenticated session this station keeps with one paired peer.

A line owns every stream to its peer: the ones it dials and the ones the listener hands it once
a msg1 carried the peer's mac1. It keeps at most one *established* session, reports its state
(``connecting`` before the first session, ``up``, ``down`` after a loss or a failed attempt, or
while the session's path misses its heartbeats), persists the handshake timestamps through its
ledger, and redials while it has no session.

Rules:

1. At most one session is the line's. A stream becomes it when its handshake completes; the
   stream it replaces, if any, is closed with ``CLOSE(REPLACED)``.
2. Crossing dials (docs/protocol.md §2.8): when a session completes while the line's session
   is younger than ``CROSSING_WINDOW`` and the two were dialled by different sides, both
   stations keep the one dialled by the lower static key (``preferred_initiator``) and close
   the other; they agree without talking. Otherwise the newer session wins: the peer evidently
   lost the older one (it restarted, or its path changed).
3. Timestamps: every connection of the line shares the peer's one
   :class:`~hotline.session.PeerTimestamps` record (by reference), which the connections check
   and update within one synchronous call, so two streams never hand out one timestamp or
   accept one msg1 twice (nor pay two encapsulations for it). Every ``TimestampSent`` /
   ``TimestampAccepted`` is written to the ledger before the connection's bytes leave (the
   adapter drains events before it transmits), so a restart never reuses or re-accepts one.
4. The line dials only while it has no session, one address at a time, with backoff
   (:mod:`._dialer`); a session coming up resets the backoff.
5. A session whose path is down (:mod:`._health`: missed heartbeats) still is the line's
   session: the courier keeps it, nothing is redialled, and it carries on when the path comes
   back within ``ping_timeout``. Only the state the line reports is ``down`` meanwhile, and
   each change is logged once (``path down``, ``path up``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from hotline.constants import HANDSHAKE_DEADLINE
from hotline.handshake import (
    LocalCredentials,
    PairedPeer,
    StaleTimestampError,
    preferred_initiator,
)
from hotline.logfmt import log_event
from hotline.session import (
    SESSION_FRAMES,
    CloseReason,
    Connection,
    Event,
    Frame,
    FrameCodec,
    FrameReceived,
    Hello,
    PeerTimestamps,
    SessionConfig,
    SessionEstablished,
    SessionTiming,
    TimestampAccepted,
    TimestampSent,
)

from ._adapter import SessionProtocol
from ._backoff import Backoff
from ._dialer import dial_loop
from ._health import PathReport, PathState
from ._ratelimit import RateLimiter
from ._refusals import RefusalLog
from ._timing import LineTiming
from ._wall import wall_time

_log = logging.getLogger("hotline.line")

#: Two sessions completing this close together were crossing dials (rule 2): a handshake ends
#: within ``HANDSHAKE_DEADLINE`` of its dial, so two simultaneous dials finish within it.
CROSSING_WINDOW: Final = HANDSHAKE_DEADLINE
#: How long :meth:`Line.stop` waits for a CLOSE to be flushed before dropping the stream.
CLOSE_FLUSH_TIMEOUT: Final = 1.0


class LineState(enum.Enum):
    """Where a line is, as ``hotline status`` shows it."""

    CONNECTING = "connecting"  #: no session yet since the station started; dialling
    UP = "up"  #: an established session
    DOWN = "down"  #: the session was lost or attempts failed; redialling with backoff
    CLOSED = "closed"  #: stopped (the station is shutting down, or the peer was unpaired)


class SessionObserver(Protocol):
    """What runs over the line's session (the station's courier): told when the line's session
    changes and given its application frames. Frames of a stream that is not (or no longer) the
    line's session never reach it, so it sees one session at a time."""

    def session_up(self, session: SessionProtocol) -> None:
        """``session`` became the line's session (after ``session_down`` of the one before)."""

    def frame_received(self, session: SessionProtocol, frame: Frame) -> None:
        """The line's session received ``frame`` (any application frame but HELLO)."""

    def session_down(self, session: SessionProtocol) -> None:
        """``session`` is no longer the line's session (lost, replaced or closed)."""


class Ledger(Protocol):
    """Where a line persists its handshake timestamps (the station's store)."""

    def record_sent(self, peer_static: bytes, timestamp: int) -> None:
        """A msg1 with ``timestamp`` is about to be sent to the peer."""

    def record_accepted(self, peer_static: bytes, timestamp: int) -> None:
        """A msg1 with ``timestamp`` from the peer was accepted."""

    def record_handshake(self, peer_static: bytes, at: float) -> None:
        """A handshake with the peer completed at ``at`` (seconds since the epoch)."""


@dataclass(frozen=True, slots=True)
class LinePeer:
    """The paired peer at the far end of a line.

    Attributes:
        name: the peer's station name (from its pinned card).
        paired: its keys and mac1 keys, as the handshake needs them.
        addresses: where to dial it, ``host:port``, in order (its card's, or an override).
        timestamps: its msg1 timestamps, seeded from the store, shared by every connection
            to it (the daemon makes one per peer).
        last_handshake: when the last handshake completed (epoch seconds), or ``None``.
    """

    name: str
    paired: PairedPeer
    addresses: tuple[str, ...]
    timestamps: PeerTimestamps = field(default_factory=PeerTimestamps)
    last_handshake: float | None = None


@dataclass(frozen=True, slots=True)
class LineStatus:
    """A snapshot of a line for ``hotline status``.

    Attributes:
        peer: the peer's name.
        state: see :class:`LineState`.
        path: the remote ``host:port`` of the session, or ``None`` when not up.
        direction: ``"out"`` if we dialled the session, ``"in"`` if the peer did.
        rtt_ms: the smoothed heartbeat round trip (RFC 6298), milliseconds.
        session_age_s: seconds since the keys in use were established (resets at each rekey).
        up_for_s: seconds since this session's first handshake.
        last_handshake: when the last handshake (first or rekey) completed, epoch seconds.
        rekeys: rekeys completed on the current session.
        rtt_last_ms: the last heartbeat round trip, milliseconds.
        loss: the fraction of the last 40 heartbeats unanswered, 0 to 1.
        clock_offset_ms: how far the peer's wall clock is ahead of ours (median of the last 9
            heartbeats; negative when behind).
        path_state: whether the session's path carries heartbeats in time; ``None`` with no
            session. ``state`` is ``DOWN`` while it is ``DOWN``.
    """

    peer: str
    state: LineState
    path: str | None
    direction: str | None
    rtt_ms: float | None
    session_age_s: float | None
    up_for_s: float | None
    last_handshake: float | None
    rekeys: int
    rtt_last_ms: float | None = None
    loss: float | None = None
    clock_offset_ms: float | None = None
    path_state: PathState | None = None


class Line:
    """The line to one paired peer: its sessions, its state, its dialler."""

    def __init__(
        self,
        peer: LinePeer,
        local: LocalCredentials,
        *,
        ledger: Ledger,
        refusals: RefusalLog,
        timing: LineTiming,
        session_timing: SessionTiming,
        observer: SessionObserver | None = None,
        codec: FrameCodec = SESSION_FRAMES,
        rng: random.Random | None = None,
    ) -> None:
        """Args:
        peer: who, and where to dial.
        local: our credentials.
        ledger: persists the handshake timestamps.
        refusals: logs failed inbound handshakes (rate-limited).
        timing: heartbeats, silence timeout, redial cap.
        session_timing: the session's rekey timers (the protocol's unless testing).
        observer: told of the line's sessions and given their frames (the courier).
        codec: the frames the line's sessions speak.
        rng: the random source of the dial jitter.
        """
        self._peer = peer
        self._local = local
        self._ledger = ledger
        self._refusals = refusals
        self._timing = timing
        self._session_timing = session_timing
        self._observer = observer
        self._codec = codec
        # The jitter needs independence between stations, not secrecy.
        self._backoff = Backoff(timing.dial_backoff_max, rng=rng or random.Random())  # noqa: S311
        self._dial_failures = RateLimiter(timing.refusal_log_interval)
        self._loop = asyncio.get_running_loop()
        self._last_handshake = peer.last_handshake
        self._state = LineState.CONNECTING
        self._session: SessionProtocol | None = None
        self._streams: set[SessionProtocol] = set()
        self._needs_dial = asyncio.Event()
        self._needs_dial.set()
        self._dialer: asyncio.Task[None] | None = None
        ours, theirs = local.static_public, peer.paired.keys.static
        self._wins_crossing = preferred_initiator(ours, theirs) == ours

    def __repr__(self) -> str:
        return f"Line({self._peer.name}, {self._state.value})"

    # --- Public surface ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The peer's station name."""
        return self._peer.name

    @property
    def peer(self) -> LinePeer:
        """The peer, as last configured."""
        return self._peer

    @property
    def state(self) -> LineState:
        """Where the line is: ``DOWN`` too while its session's path is down (rule 5)."""
        if self._state is LineState.UP and self._session is not None:
            report = self._session.path_report()
            if report is not None and report.state is PathState.DOWN:
                return LineState.DOWN
        return self._state

    @property
    def session(self) -> SessionProtocol | None:
        """The established session, if the line is up."""
        return self._session

    def start(self, on_died: Callable[[], None] | None = None) -> None:
        """Start dialling (at once, then with backoff while the line is not up).

        Args:
            on_died: called if the dial loop ever ends by itself with an error (a bug): the
                line would never redial, so the owner should stop rather than serve on.
        """
        if self._dialer is None:
            self._dialer = self._loop.create_task(
                dial_loop(self, self._backoff), name=f"hotline-dial-{self._peer.name}"
            )
            self._dialer.add_done_callback(lambda task: self._dialer_done(task, on_died))

    def _dialer_done(self, task: asyncio.Task[None], on_died: Callable[[], None] | None) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log_event(
            _log,
            logging.CRITICAL,
            "dial loop died",
            peer=self._peer.name,
            error=type(task.exception()).__name__,
        )
        if on_died is not None:
            on_died()

    def set_addresses(self, addresses: tuple[str, ...]) -> None:
        """Dial these addresses from the next attempt on (the peer's card was refreshed)."""
        self._peer = dataclasses.replace(
            self._peer, addresses=addresses, last_handshake=self._last_handshake
        )

    async def stop(self, text: str = "station shutting down") -> None:
        """Close every stream (CLOSE on the session), stop dialling, and wait for the flush."""
        self._state = LineState.CLOSED
        self._needs_dial.set()  # wake the dial loop: it ends on a closed line
        if self._dialer is not None:
            self._dialer.cancel()
            await asyncio.gather(self._dialer, return_exceptions=True)
        streams = list(self._streams)
        for stream in streams:
            stream.close(CloseReason.GOING_AWAY, text)
        gone = [stream.transport_gone for stream in streams]
        if gone:
            await asyncio.wait(gone, timeout=CLOSE_FLUSH_TIMEOUT)
        for stream in streams:
            stream.abort("stopped")

    def status(self) -> LineStatus:
        """Return a snapshot of the line."""
        session = self._session
        now = wall_time()
        report = None if session is None else session.path_report()
        if session is None or session.established_at is None or report is None:
            return LineStatus(
                self._peer.name, self._state, None, None, None, None, None, self._last_handshake, 0
            )
        keys_at = session.keys_at or session.established_at
        return LineStatus(
            peer=self._peer.name,
            state=LineState.DOWN if report.state is PathState.DOWN else self._state,
            path=session.path,
            direction="out" if session.outbound else "in",
            rtt_ms=_rounded(report.rtt_ms),
            session_age_s=round(now - keys_at, 3),
            up_for_s=round(now - session.established_at, 3),
            last_handshake=self._last_handshake,
            rekeys=session.rekeys,
            rtt_last_ms=_rounded(report.rtt_last_ms),
            loss=None if report.loss is None else round(report.loss, 4),
            clock_offset_ms=_rounded(report.clock_offset_ms),
            path_state=report.state,
        )

    def accept(self, deadline: float, release: Callable[[], None]) -> SessionProtocol | None:
        """Take a stream the listener identified as this peer's; ``None`` if the line is closed.

        Args:
            deadline: loop time by which the session must be established.
            release: frees the listener's pre-authentication slot (called once).
        """
        if self._state is LineState.CLOSED:
            return None
        connection = Connection.accept(self._config(), wall_time())
        stream = SessionProtocol(
            connection,
            self,
            self._timing,
            outbound=False,
            deadline=deadline,
            on_authenticated=release,
        )
        self._streams.add(stream)
        return stream

    # --- For the dialler -----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the line was stopped."""
        return self._state is LineState.CLOSED

    def needs_dial(self) -> bool:
        """Whether the line wants a session (it has none and is not closed)."""
        return self._session is None and self._state is not LineState.CLOSED

    async def wait_until_down(self) -> None:
        """Return once the line has no session."""
        await self._needs_dial.wait()

    async def attempt(self, address: str, host: str, port: int) -> bool:
        """Dial ``host:port`` once and run the handshake.

        Returns:
            Whether a session came up on this stream.
        """
        stream: SessionProtocol | None = None

        def factory() -> SessionProtocol:
            nonlocal stream
            connection = Connection.connect(self._config(), wall_time())
            deadline = self._loop.time() + self._session_timing.handshake_deadline
            stream = SessionProtocol(
                connection, self, self._timing, outbound=True, deadline=deadline
            )
            self._streams.add(stream)
            return stream

        try:
            await asyncio.wait_for(
                self._loop.create_connection(factory, host, port),
                self._session_timing.handshake_deadline,
            )
        except (OSError, TimeoutError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "timed out"
            self._dial_failed(address, f"cannot connect: {reason}")
            return False
        assert stream is not None
        try:  # the stream's own deadline settles it; this bound only guards against a bug
            settled = await asyncio.wait_for(
                asyncio.shield(stream.settled), self._session_timing.handshake_deadline + 1.0
            )
        except TimeoutError:
            stream.abort("handshake deadline passed")
            settled = False
        if settled:
            return True
        self._dial_failed(address, await stream.closed)
        return False

    def dial_failed_all(self) -> None:
        """Every address failed this round: a line still connecting is now down."""
        if self._state is LineState.CONNECTING:
            self._state = LineState.DOWN

    # --- SessionOwner --------------------------------------------------------------------------

    def session_event(self, session: SessionProtocol, event: Event) -> None:
        """Act on one event of one of our streams (see rules 1-3)."""
        static = self._peer.paired.keys.static
        if isinstance(event, TimestampSent):
            self._ledger.record_sent(static, event.timestamp)
        elif isinstance(event, TimestampAccepted):
            self._ledger.record_accepted(static, event.timestamp)
        elif isinstance(event, SessionEstablished):
            self._handshake_completed(event)
            if not event.rekey:
                self._offer(session, event)
            elif session is self._session:
                log_event(
                    _log,
                    logging.INFO,
                    "rekey",
                    peer=self._peer.name,
                    rekeys=session.rekeys,
                    handshake=event.handshake_hash[:8].hex(),
                )
        elif (
            isinstance(event, FrameReceived)
            and self._observer is not None
            and session is self._session
            and not isinstance(event.frame, Hello)
        ):
            self._observer.frame_received(session, event.frame)

    def path_changed(self, session: SessionProtocol, report: PathReport) -> None:
        """Log the line's path going down or coming up (rule 5); other streams' are theirs."""
        if session is not self._session or self._state is not LineState.UP:
            return
        down = report.state is PathState.DOWN
        log_event(
            _log,
            logging.WARNING if down else logging.INFO,
            "path down" if down else "path up",
            peer=self._peer.name,
            path=session.path,
            rtt_ms=_rounded(report.rtt_ms),
            loss=None if report.loss is None else round(report.loss, 4),
        )

    def session_ended(self, session: SessionProtocol, reason: str) -> None:
        """Forget the stream; if it was the line's session, the line is down."""
        self._streams.discard(session)
        if session is self._session:
            self._session = None
            if self._observer is not None:
                self._observer.session_down(session)
            up_for = wall_time() - (session.established_at or wall_time())
            # Only a session that lived resets the backoff: one that dies at once (a peer that
            # accepts then drops us) must not make us redial every quarter second forever.
            if up_for >= self._timing.ping_timeout:
                self._backoff.reset()
            if self._state is not LineState.CLOSED:
                self._state = LineState.DOWN
                self._needs_dial.set()
            log_event(
                _log,
                logging.WARNING,
                "line down",
                peer=self._peer.name,
                path=session.path,
                reason=reason,
                up_for_s=round(up_for, 3),
            )
        elif session.established_at is None and not session.outbound:
            source = session.path.rpartition(":")[0].strip("[]")
            fields: dict[str, object] = {"peer": self._peer.name}
            error = session.error
            if isinstance(error, StaleTimestampError):  # how far apart: for the clock alarm
                fields["offset_s"] = (error.timestamp - error.local_ms) / 1000
            self._refusals.refuse(source, reason, **fields)

    # --- Internals -----------------------------------------------------------------------------

    def _config(self) -> SessionConfig:
        return SessionConfig(
            self._local,
            self._peer.paired,
            timestamps=self._peer.timestamps,
            codec=self._codec,
            timing=self._session_timing,
        )

    def _handshake_completed(self, event: SessionEstablished) -> None:
        self._last_handshake = wall_time()
        self._ledger.record_handshake(self._peer.paired.keys.static, self._last_handshake)

    def _offer(self, new: SessionProtocol, event: SessionEstablished) -> None:
        """A stream's first session came up: make it the line's, or close it (rules 1-2)."""
        current = self._session
        keep = new
        if current is not None and current.established_at is not None:
            young = wall_time() - current.established_at < CROSSING_WINDOW
            if young and new.outbound != current.outbound:
                keep = new if new.outbound == self._wins_crossing else current
        if self._state is LineState.CLOSED:
            new.close(CloseReason.GOING_AWAY, "station shutting down")
            return
        if keep is not new:
            new.close(CloseReason.REPLACED, "crossing dial")
            return
        if current is not None and self._observer is not None:
            self._observer.session_down(current)
        self._session = new
        self._state = LineState.UP
        self._needs_dial.clear()
        log_event(
            _log,
            logging.INFO,
            "line up",
            peer=self._peer.name,
            path=new.path,
            direction="out" if new.outbound else "in",
            handshake=event.handshake_hash[:8].hex(),
            replaced=current.path if current is not None else None,
        )
        if current is not None:
            current.close(CloseReason.REPLACED, "replaced by a newer session")
        if self._observer is not None:
            self._observer.session_up(new)

    def _dial_failed(self, address: str, reason: str) -> None:
        if self._dial_failures.check((address, reason), self._loop.time()).log:
            log_event(
                _log,
                logging.INFO,
                "dial failed",
                peer=self._peer.name,
                address=address,
                reason=reason,
                attempt=self._backoff.attempt,
            )


def _rounded(ms: float | None) -> float | None:
    """Milliseconds to the microsecond, as the status reports them."""
    return None if ms is None else round(ms, 3)
