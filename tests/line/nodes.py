"""In-process stations for line tests: a Line and a Listener each, on real loopback sockets."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.handshake import PairedPeer, PeerTable
from hotline.line import Line, LinePeer, LineState, LineTiming, Listener, RefusalLog
from hotline.session import Frame, SessionTiming

from ..handshake.stations import Station, make_station, pair

FAST = LineTiming(ping_interval=0.2, ping_timeout=1.0, dial_backoff_max=1.0)


@dataclass
class MemoryLedger:
    """The store's three writes, in memory, in order."""

    writes: list[tuple[str, bytes, float]] = field(default_factory=list)

    def record_sent(self, peer_static: bytes, timestamp: int) -> None:
        self.writes.append(("sent", peer_static, timestamp))

    def record_accepted(self, peer_static: bytes, timestamp: int) -> None:
        self.writes.append(("accepted", peer_static, timestamp))

    def record_handshake(self, peer_static: bytes, at: float) -> None:
        self.writes.append(("handshake", peer_static, at))

    def values(self, kind: str) -> list[float]:
        return [value for k, _, value in self.writes if k == kind]


@dataclass
class Node:
    """One station: its line to one peer and its listener."""

    station: Station
    line: Line
    listener: Listener
    ledger: MemoryLedger
    port: int
    frames: list[Frame]

    async def stop(self) -> None:
        await self.line.stop()
        await self.listener.close()


class FrameTap:
    """A :class:`~hotline.line.SessionObserver` that hands every frame of the line's session to
    a callback, and counts the sessions it was shown."""

    def __init__(self, on_frame: Callable[[Frame], None]) -> None:
        self.on_frame = on_frame
        self.ups = 0
        self.downs = 0

    def session_up(self, session: object) -> None:
        self.ups += 1

    def frame_received(self, session: object, frame: Frame) -> None:
        self.on_frame(frame)

    def session_down(self, session: object) -> None:
        self.downs += 1


async def start_node(
    station: Station,
    peer: PairedPeer,
    name: str,
    *,
    dial: tuple[str, ...] = (),
    timing: LineTiming = FAST,
    session_timing: SessionTiming | None = None,
    on_frame: Callable[[Frame], None] | None = None,
    seed: int = 0,
    **limits: float,
) -> Node:
    """Listen on an ephemeral loopback port and (if ``dial``) dial the peer there.

    ``limits`` go to the :class:`Listener` (``deadline``, ``max_total``, ``max_per_source``).
    """
    frames: list[Frame] = []
    ledger = MemoryLedger()
    refusals = RefusalLog(timing.refusal_log_interval)
    line = Line(
        LinePeer(name, peer, dial),
        station.creds,
        ledger=ledger,
        refusals=refusals,
        timing=timing,
        session_timing=session_timing or SessionTiming(),
        observer=FrameTap(on_frame or frames.append),
        rng=random.Random(seed),
    )
    listener = Listener(
        PeerTable([peer]),
        lambda p: line if p is peer else None,
        refusals,
        **limits,  # type: ignore[arg-type]
    )
    _, port = await listener.listen("127.0.0.1", 0)
    if dial:
        line.start()
    return Node(station, line, listener, ledger, port, frames)


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; return the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        if loop.time() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.01)
    return loop.time() - start


def both_up(*nodes: Node) -> bool:
    return all(node.line.state is LineState.UP for node in nodes)


def stations() -> tuple[Station, Station, PairedPeer, PairedPeer]:
    """Alice and Bob, paired: (alice, bob, alice's entry for bob, bob's entry for alice)."""
    alice, bob = make_station(1), make_station(2)
    to_bob, to_alice = pair(alice, bob)
    return alice, bob, to_bob, to_alice
