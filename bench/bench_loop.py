"""Benchmark: uvloop against asyncio's default loop, running Hotline's line layer over loopback.

The station daemon runs one event loop; this measures which one to run, with the daemon's own
code (``hotline.line.SessionProtocol`` over real TCP on 127.0.0.1), on the two workloads a
station has:

1. **handshakes**: connections dialled one after another, each through msg1, msg2 and both
   identity proofs (what a restart, a flood of genuine peers, or a redial storm costs);
2. **frames**: DATA frames of 256 bytes streamed on one established session, with TCP flow
   control, until the receiver has them all (what traffic costs);
3. **refusals**: connections that each send a forged msg1 (a wrong mac1) to a
   ``hotline.line.Listener``, which drops them (what a flood from an unpaired source costs);
   ``CONCURRENCY`` clients at a time.

Each figure is the best of ``REPEATS`` runs of wall time (``time.perf_counter``), both ends in
one process and one loop, so the loop carries both sides' work.

Run: ``.venv/bin/python -m bench.bench_loop`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

import uvloop
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, x25519

from hotline.constants import MSG1_LEN
from hotline.handshake import LocalCredentials, PairedPeer, PeerKeys, PeerTable
from hotline.line import LineTiming, Listener, PathReport, RefusalLog, SessionProtocol
from hotline.session import Connection, Event, FrameReceived, SessionConfig

REPEATS = 3
HANDSHAKES = 150
FRAMES = 40_000
FRAME_BYTES = 256
REFUSALS = 4000
CONCURRENCY = 4
#: Heartbeats slower than any run, so they do not disturb the measurement.
TIMING = LineTiming(ping_interval=60.0, ping_timeout=600.0)


def _credentials() -> tuple[LocalCredentials, PeerKeys]:
    creds = LocalCredentials(
        x25519.X25519PrivateKey.generate(),
        ed25519.Ed25519PrivateKey.generate(),
        mldsa.MLDSA87PrivateKey.generate(),
    )
    return creds, PeerKeys(
        creds.static_public, creds.ed25519.public_key(), creds.mldsa.public_key()
    )


ALICE, ALICE_KEYS = _credentials()
BOB, BOB_KEYS = _credentials()
LINE_ID = os.urandom(64)
TO_BOB = PairedPeer.derive(ALICE, BOB_KEYS, LINE_ID)
TO_ALICE = PairedPeer.derive(BOB, ALICE_KEYS, LINE_ID)


class _Owner:
    """Counts what a session reports."""

    def __init__(self) -> None:
        self.frames = 0
        self.wanted = 0
        self.all_frames = asyncio.Event()

    def session_event(self, session: SessionProtocol, event: Event) -> None:
        if isinstance(event, FrameReceived):
            self.frames += 1
            if self.frames == self.wanted:
                self.all_frames.set()

    def session_ended(self, session: SessionProtocol, reason: str) -> None:
        pass

    def path_changed(self, session: SessionProtocol, report: PathReport) -> None:
        pass


async def _serve(owner: _Owner) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()

    def accept() -> SessionProtocol:
        connection = Connection.accept(SessionConfig(BOB, TO_ALICE), time.time())
        return SessionProtocol(connection, owner, TIMING, outbound=False, deadline=loop.time() + 30)

    server = await loop.create_server(accept, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _dial(port: int, owner: _Owner) -> SessionProtocol:
    loop = asyncio.get_running_loop()

    def connect() -> SessionProtocol:
        connection = Connection.connect(SessionConfig(ALICE, TO_BOB), time.time())
        return SessionProtocol(connection, owner, TIMING, outbound=True, deadline=loop.time() + 30)

    _, session = await loop.create_connection(connect, "127.0.0.1", port)
    if not await session.settled:
        raise RuntimeError(f"handshake failed: {session.closed.result()}")
    return session


async def _handshakes() -> float:
    owner = _Owner()
    server, port = await _serve(owner)
    start = time.perf_counter()
    for _ in range(HANDSHAKES):
        session = await _dial(port, owner)
        session.close()
    elapsed = time.perf_counter() - start
    server.close()
    return HANDSHAKES / elapsed


async def _frames() -> float:
    owner = _Owner()
    owner.wanted = FRAMES
    server, port = await _serve(owner)
    session = await _dial(port, _Owner())
    payload = bytes(FRAME_BYTES)
    start = time.perf_counter()
    for _ in range(FRAMES):
        await session.wait_writable()
        session.send_data(payload)
    await owner.all_frames.wait()
    elapsed = time.perf_counter() - start
    session.close()
    server.close()
    return FRAMES / elapsed


async def _refusals() -> float:
    listener = Listener(
        PeerTable([TO_ALICE]), lambda peer: None, RefusalLog(3600.0), max_per_source=CONCURRENCY
    )
    _, port = await listener.listen("127.0.0.1", 0)
    forged = MSG1_LEN.to_bytes(2, "big") + os.urandom(MSG1_LEN)

    async def client(count: int) -> None:
        for _ in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(forged)
            with contextlib.suppress(ConnectionResetError):
                await reader.read(1)
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(REFUSALS // CONCURRENCY) for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - start
    await listener.close()
    return REFUSALS / elapsed


LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio (default)": asyncio.new_event_loop,
    f"uvloop {metadata.version('uvloop')}": uvloop.new_event_loop,
}


@dataclass(frozen=True)
class Result:
    loop: str
    handshakes_per_s: float
    frames_per_s: float
    refusals_per_s: float


def measure() -> list[Result]:
    results = []
    for name, factory in LOOPS.items():
        with asyncio.Runner(loop_factory=factory) as runner:
            handshakes = max(runner.run(_handshakes()) for _ in range(REPEATS))
            frames = max(runner.run(_frames()) for _ in range(REPEATS))
            refusals = max(runner.run(_refusals()) for _ in range(REPEATS))
        results.append(Result(name, handshakes, frames, refusals))
    return results


def main() -> None:
    """Print the comparison as a Markdown table."""
    logging.getLogger("hotline").setLevel(logging.ERROR)  # the refusals are the point here
    print(f"Event loop: {platform.python_implementation()} {sys.version.split()[0]}")
    print(
        f"{HANDSHAKES} sequential handshakes; {FRAMES} DATA frames of {FRAME_BYTES} B;"
        f" {REFUSALS} forged msg1s, {CONCURRENCY} clients at a time"
    )
    print("best of", REPEATS, "runs, both ends in one loop, loopback TCP\n")
    results = measure()
    print("| loop | handshakes/s | DATA frames/s | forged msg1s refused/s |")
    print("| --- | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r.loop} | {r.handshakes_per_s:,.0f} | {r.frames_per_s:,.0f}"
            f" | {r.refusals_per_s:,.0f} |"
        )
    base, fast = results
    print(
        f"\nuvloop / default: handshakes x{fast.handshakes_per_s / base.handshakes_per_s:.2f},"
        f" frames x{fast.frames_per_s / base.frames_per_s:.2f},"
        f" refusals x{fast.refusals_per_s / base.refusals_per_s:.2f}"
    )


if __name__ == "__main__":
    main()
