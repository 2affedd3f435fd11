"""The modes a :class:`~tests.harness.faultproxy.FaultProxy` can put a TCP path in.

Each mode is a frozen value naming one thing a real network does to a connection (or, for
:class:`Pass`, nothing). A proxy holds one mode per direction ("up" is client to server, "down"
is server to client) and applies it to bytes it has not forwarded yet, so a fault can be switched
on and off at any moment of a test.

Two modes act on whole connections rather than on one direction's bytes, because TCP has no
half-reset: :class:`Drop` and :class:`Refuse`. They hold while either direction is set to them.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Direction(enum.StrEnum):
    """Which way bytes travel through the proxy."""

    #: From the client that dialled the proxy to the target server.
    UP = "up"
    #: From the target server back to the client.
    DOWN = "down"
    #: Both of the above.
    BOTH = "both"

    def each(self) -> tuple[Direction, ...]:
        """The single directions this one names: ``BOTH`` expands to ``(UP, DOWN)``."""
        if self is Direction.BOTH:
            return (Direction.UP, Direction.DOWN)
        return (self,)


@dataclass(frozen=True, slots=True)
class Pass:
    """A healthy path: bytes, FIN and RST go through untouched."""


@dataclass(frozen=True, slots=True)
class Delay:
    """Added one-way latency, as on a long or congested route.

    Every chunk (and a FIN or RST behind it) is held until ``seconds`` after the proxy read it;
    order is preserved, as TCP preserves it.
    """

    seconds: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise ValueError(
                f"Delay needs a finite, non-negative number of seconds: {self.seconds}"
            )


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """A slow link: at most ``bytes_per_second`` leave the proxy in this direction.

    Bytes are paced store-and-forward in small pieces (about 50 ms of the rate each), so N bytes
    take at least N / rate seconds to arrive, like a serial line or a throttled uplink.
    """

    bytes_per_second: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.bytes_per_second) and self.bytes_per_second > 0):
            raise ValueError(f"Bandwidth needs a finite rate above 0: {self.bytes_per_second}")


@dataclass(frozen=True, slots=True)
class Drop:
    """The path resets: every open connection gets an RST now, and so does every new one.

    Models a router or firewall that rejects the flow, or a peer whose host rebooted: both ends
    see ``ConnectionResetError`` at once. Acts on whole connections whatever direction is named.
    """


@dataclass(frozen=True, slots=True)
class Refuse:
    """New connections are accepted and reset at once; open connections carry on.

    Models a listener that stopped taking calls (a crashed daemon behind a still-open port, a
    firewall rule on new flows only). Acts on whole connections whatever direction is named;
    bytes of connections opened earlier pass untouched.
    """


@dataclass(frozen=True, slots=True)
class Blackhole:
    """A silent cut: bytes, FIN and RST in this direction vanish, and nothing says so.

    Sockets stay open, so neither end gets an error or an EOF; only a timer (a heartbeat, an
    idle timeout) can notice. Bytes swallowed here are gone for good: when the direction passes
    again the receiver sees a hole in the stream, as after a middlebox ate segments. Use
    :class:`Stall` for a cut that heals with nothing lost.
    """


@dataclass(frozen=True, slots=True)
class Stall:
    """A cut that heals: bytes are held, in order, and released when the direction passes again.

    Models TCP retransmitting through an outage shorter than its give-up timer. The proxy keeps
    reading until its buffer is full and then stops, so the sender's own socket buffer fills and
    its writes block, as they would on a real stalled path.
    """


@dataclass(frozen=True, slots=True)
class Corrupt:
    """Bit errors: each chosen byte has one bit flipped before it is forwarded.

    Models a faulty link or a meddling middlebox (TCP's 16-bit checksum lets such errors
    through). Exactly one of ``probability`` (each byte independently) and ``every_nth`` (bytes
    n, 2n, 3n, ... of the stream, counted from when the fault was set) chooses the bytes; ``seed``
    chooses the bits and, with ``probability``, the bytes, so the same stream is corrupted the same
    way on every run, however TCP happens to split it into chunks.
    """

    probability: float | None = None
    every_nth: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if (self.probability is None) == (self.every_nth is None):
            raise ValueError("Corrupt needs exactly one of probability= and every_nth=")
        if self.probability is not None and not 0 < self.probability <= 1:
            raise ValueError(f"Corrupt probability must be in (0, 1]: {self.probability}")
        if self.every_nth is not None and self.every_nth < 1:
            raise ValueError(f"Corrupt every_nth must be at least 1: {self.every_nth}")


#: Any mode a direction can hold.
Mode = Pass | Delay | Bandwidth | Drop | Refuse | Blackhole | Stall | Corrupt
