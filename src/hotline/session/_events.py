"""What a :class:`~hotline.session.Connection` tells its caller, one frozen dataclass each."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.handshake import Role

from ._frames import CloseReason, Frame


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every session event."""


@dataclass(frozen=True, slots=True)
class SessionEstablished(Event):
    """Both identity proofs verified and the keys are in use in both directions.

    Attributes:
        handshake_hash: the 64-byte channel binding of the new session.
        role: the part this side played in the handshake.
        rekey: ``False`` for the connection's first session, ``True`` for one that replaced an
            older session on the same stream.
    """

    handshake_hash: bytes
    role: Role
    rekey: bool


@dataclass(frozen=True, slots=True)
class TimestampSent(Event):
    """We sent a msg1 with this timestamp: persist it as the last sent to this peer."""

    timestamp: int


@dataclass(frozen=True, slots=True)
class TimestampAccepted(Event):
    """We accepted a msg1 with this timestamp: persist it as the last accepted from this peer.

    Later msg1s with a timestamp at or below it are dropped as replays.
    """

    timestamp: int


@dataclass(frozen=True, slots=True)
class FrameReceived(Event):
    """An application frame (HELLO, DATA, or a type a later issue adds) arrived.

    Only ever emitted after both proofs verified.
    """

    frame: Frame


@dataclass(frozen=True, slots=True)
class PingReceived(Event):
    """The peer pinged (the session already answered); its clock read ``peer_time_ms``."""

    ping_id: int
    peer_time_ms: int


@dataclass(frozen=True, slots=True)
class PongReceived(Event):
    """The peer answered one of our pings.

    Attributes:
        ping_id: the ping answered.
        peer_time_ms: the peer's clock when it answered.
        rtt: seconds from our ping to this pong, or ``None`` for a ping we no longer track.
    """

    ping_id: int
    peer_time_ms: int
    rtt: float | None


@dataclass(frozen=True, slots=True)
class ConnectionTerminated(Event):
    """The connection is over (state ``CLOSED``); the caller closes the stream.

    Attributes:
        reason: why.
        text: the peer's explanation (``by_peer``) or ours.
        by_peer: the peer sent CLOSE; otherwise a timer of ours ended it.
    """

    reason: CloseReason
    text: str
    by_peer: bool
