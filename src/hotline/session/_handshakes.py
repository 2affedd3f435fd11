"""Starting the handshakes of one connection, against the peer's shared msg1 timestamps.

A connection runs a first handshake and then one per rekey, in either role. Each msg1 we send
must carry a timestamp above the last one we sent this peer, and each msg1 we accept must be
above the last one we accepted from it, on *any* connection: the values live in the peer's one
:class:`PeerTimestamps` record, which the caller shares between all its connections to that
peer. This object reads and updates that record within each call, and reports each new value as
an event for the caller to persist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.handshake import (
    Initiator,
    KatHooks,
    LocalCredentials,
    PairedPeer,
    Responder,
    preferred_initiator,
)

from ._events import Event, TimestampAccepted, TimestampSent
from ._frames import SESSION_FRAMES, FrameCodec
from ._timestamps import PeerTimestamps
from ._timing import DEFAULT_TIMING, SessionTiming


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What one connection needs from its caller.

    Attributes:
        local: our credentials.
        peer: the paired peer at the other end (for an accepted connection, the one
            :class:`~hotline.session.Acceptor` identified).
        timestamps: the peer's msg1 timestamps, seeded from the store. Pass the *same* object
            to every connection with this peer (it is read and updated in place); the default,
            a fresh record, is only right for a lone connection (tests, benchmarks).
        codec: the frame types this connection speaks; later issues extend the default.
        hooks: test-only fixed handshake inputs; leave ``None``. They apply to the
            connection's first handshake only: a rekey always draws fresh ephemeral and KEM
            keys, so a fixed test input never repeats across sessions.
        timing: rekey, expiry and handshake timers; the protocol's constants unless a test
            shortens them (``station.toml`` ``[testing]``).
    """

    local: LocalCredentials
    peer: PairedPeer
    timestamps: PeerTimestamps = field(default_factory=PeerTimestamps)
    codec: FrameCodec = SESSION_FRAMES
    hooks: KatHooks | None = None
    timing: SessionTiming = DEFAULT_TIMING


class Handshakes:
    """Makes this connection's handshakes against the peer's shared timestamps."""

    __slots__ = ("_config", "_emit", "_hooks", "wins_crossing")

    def __init__(self, config: SessionConfig, emit: Callable[[Event], None]) -> None:
        self._config = config
        self._emit = emit
        #: Handed to the first handshake only, then dropped (see ``SessionConfig.hooks``).
        self._hooks = config.hooks
        ours = config.local.static_public
        #: When both sides start a handshake at once, ours goes on (the lower static key wins).
        self.wins_crossing = preferred_initiator(ours, config.peer.keys.static) == ours

    @property
    def timing(self) -> SessionTiming:
        """The connection's timers."""
        return self._config.timing

    @property
    def timestamps(self) -> PeerTimestamps:
        """The peer's shared msg1 timestamps."""
        return self._config.timestamps

    def _take_hooks(self) -> KatHooks | None:
        hooks, self._hooks = self._hooks, None
        return hooks

    def initiate(self, now: float) -> tuple[Initiator, bytes]:
        """Start a handshake as initiator.

        Returns:
            the handshake, waiting for msg2, and the msg1 to send.

        Raises:
            LocalProtocolError: a bad ``now`` or stored timestamp.
        """
        config = self._config
        initiator = Initiator(config.local, config.peer, hooks=self._take_hooks())
        message = initiator.start(now, config.timestamps.last_sent)
        config.timestamps.sent(initiator.timestamp)
        self._emit(TimestampSent(initiator.timestamp))
        return initiator, message

    def respond(
        self, message: bytes, now: float, *, handshake_id: int | None = None
    ) -> tuple[Responder, bytes]:
        """Answer a msg1 from the peer.

        Args:
            message: the msg1.
            now: the wall clock, seconds since the Unix epoch.
            handshake_id: ``None`` for the msg1 opening this connection, which is held to
                ``MSG1_MIN_INTERVAL`` after the last msg1 accepted from the peer (checked
                before any DH); for a rekey, the id its REKEY frame names, which the msg1
                timestamp must equal (checked before any KEM work). A rekey msg1 arrives
                through the authenticated session, and a stalled path may deliver an attempt
                and its retry together, so the rate limit does not apply to it.

        Returns:
            the handshake, waiting for the initiator's proof, and the msg2 to send.

        Raises:
            Msg1FloodError: a connection's msg1 too soon after the last one accepted.
            UnknownPeerError: not the peer's mac1.
            ReplayError: not newer than the last msg1 accepted from the peer.
            StaleTimestampError: too far from ``now``.
            RemoteProtocolError: malformed, or not the announced handshake id.
        """
        config = self._config
        timestamps = config.timestamps
        if handshake_id is None:
            timestamps.check_rate(now)
        # From here to ``accepted`` nothing yields: no other connection to the peer runs
        # between the replay check and the update, so one msg1 is accepted once in all.
        responder = Responder(
            config.local,
            config.peer,
            last_accepted=timestamps.last_accepted,
            hooks=self._take_hooks(),
        )
        reply = responder.receive_msg1(message, now, expected_timestamp=handshake_id)
        timestamps.accepted(responder.timestamp, now)
        self._emit(TimestampAccepted(responder.timestamp))
        return responder, reply
