"""Starting the handshakes of one connection, with the peer's msg1 timestamps kept current.

A connection runs a first handshake and then one per rekey, in either role. Each msg1 we send
must carry a timestamp above the last one we sent this peer, and each msg1 we accept must be
above the last one we accepted from it. This object holds the two values (seeded by the caller
from its store), applies them, and reports each new value as an event for the caller to persist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
from ._timing import DEFAULT_TIMING, SessionTiming


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What one connection needs from its caller.

    Attributes:
        local: our credentials.
        peer: the paired peer at the other end (for an accepted connection, the one
            :class:`~hotline.session.Acceptor` identified).
        last_sent_timestamp: the last msg1 timestamp we sent this peer (0 if none).
        last_accepted_timestamp: the last msg1 timestamp we accepted from this peer (0 if none).
        codec: the frame types this connection speaks; later issues extend the default.
        hooks: test-only fixed handshake inputs; leave ``None``.
        timing: rekey, expiry and handshake timers; the protocol's constants unless a test
            shortens them (``station.toml`` ``[testing]``).
    """

    local: LocalCredentials
    peer: PairedPeer
    last_sent_timestamp: int = 0
    last_accepted_timestamp: int = 0
    codec: FrameCodec = SESSION_FRAMES
    hooks: KatHooks | None = None
    timing: SessionTiming = DEFAULT_TIMING


class Handshakes:
    """Makes this connection's handshakes and keeps the per-peer timestamps."""

    __slots__ = ("_config", "_emit", "last_accepted", "last_sent", "wins_crossing")

    def __init__(self, config: SessionConfig, emit: Callable[[Event], None]) -> None:
        self._config = config
        self._emit = emit
        self.last_sent = config.last_sent_timestamp
        self.last_accepted = config.last_accepted_timestamp
        ours = config.local.static_public
        #: When both sides start a handshake at once, ours goes on (the lower static key wins).
        self.wins_crossing = preferred_initiator(ours, config.peer.keys.static) == ours

    @property
    def timing(self) -> SessionTiming:
        """The connection's timers."""
        return self._config.timing

    def initiate(self, now: float) -> tuple[Initiator, bytes]:
        """Start a handshake as initiator.

        Returns:
            the handshake, waiting for msg2, and the msg1 to send.
        """
        config = self._config
        initiator = Initiator(config.local, config.peer, hooks=config.hooks)
        message = initiator.start(now, self.last_sent)
        self.last_sent = initiator.timestamp
        self._emit(TimestampSent(initiator.timestamp))
        return initiator, message

    def respond(self, message: bytes) -> tuple[Responder, bytes]:
        """Answer a msg1 from the peer.

        Returns:
            the handshake, waiting for the initiator's proof, and the msg2 to send.

        Raises:
            UnknownPeerError: not the peer's mac1.
            ReplayError: not newer than the last msg1 accepted from the peer.
            RemoteProtocolError: malformed.
        """
        config = self._config
        responder = Responder(
            config.local, config.peer, last_accepted=self.last_accepted, hooks=config.hooks
        )
        reply = responder.receive_msg1(message)
        self.last_accepted = responder.timestamp
        self._emit(TimestampAccepted(responder.timestamp))
        return responder, reply
