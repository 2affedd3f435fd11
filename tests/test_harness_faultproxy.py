"""The fault proxy, tested against a recording echo server on 127.0.0.1.

Each mode is checked for the effect that would vanish if the mode broke: bytes that arrive
intact, late, slowly, reset, never, changed, or held; and always in the right direction only.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import socketserver
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.harness import (
    Bandwidth,
    Blackhole,
    Corrupt,
    Delay,
    Direction,
    Drop,
    FaultProxy,
    Pass,
    Refuse,
    Stall,
    ThreadedFaultProxy,
)
from tests.harness._pump import _Corrupter, reset_writer

#: How long "nothing happens" must hold. Long enough that a broken mode would have forwarded by
#: then on loopback (well under a millisecond), short enough to keep the file fast.
QUIET = 0.3


@dataclass(eq=False)
class Peer:
    """The server's end of one connection."""

    writer: asyncio.StreamWriter
    received: bytearray = field(default_factory=bytearray)
    eof: bool = False
    error: BaseException | None = None


class Recorder:
    """A server that records what each connection sends, echoes it if asked, and can push."""

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self.peers: list[Peer] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for peer in self.peers:
            peer.writer.transport.abort()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = Peer(writer)
        self.peers.append(peer)
        try:
            while data := await reader.read(65536):
                peer.received += data
                if self.echo:
                    writer.write(data)
                    await writer.drain()
            peer.eof = True
            writer.close()
        except OSError as exc:
            peer.error = exc
            writer.transport.abort()


async def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait until ``condition()`` holds, or fail the test."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(0.005)


async def assert_silent(reader: asyncio.StreamReader, window: float = QUIET) -> None:
    """Neither data nor EOF nor an error arrives within ``window``."""
    with pytest.raises(TimeoutError):
        got = await asyncio.wait_for(reader.read(1), window)
        pytest.fail(f"expected silence, got {got!r}")


async def read_exactly(reader: asyncio.StreamReader, n: int, timeout: float = 3.0) -> bytes:
    return await asyncio.wait_for(reader.readexactly(n), timeout)


Client = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
async def server() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    await recorder.start()
    yield recorder
    await recorder.stop()


@pytest.fixture
async def proxy(server: Recorder) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(server.port) as running:
        yield running


@pytest.fixture
async def connect(proxy: FaultProxy) -> AsyncIterator[Callable[[], Awaitable[Client]]]:
    """Open client connections to the proxy; all are aborted at teardown."""
    writers: list[asyncio.StreamWriter] = []

    async def open_client() -> Client:
        reader, writer = await asyncio.open_connection(*proxy.address)
        writers.append(writer)
        return reader, writer

    yield open_client
    for writer in writers:
        writer.transport.abort()


async def test_pass_round_trips_bytes_and_closes_gracefully(
    proxy: FaultProxy, server: Recorder, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()
    payload = random.Random(1).randbytes(300_000)
    writer.write(payload)
    echoed = await read_exactly(reader, len(payload))
    assert echoed == payload
    assert bytes(server.peers[0].received) == payload

    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 3) == b""
    assert server.peers[0].eof
    stats = await proxy.wait_until(lambda s: s.connections_active == 0)
    assert stats.connections_accepted == 1
    assert stats.up.bytes_forwarded == stats.up.bytes_read == len(payload)
    assert stats.down.bytes_forwarded == len(payload)
    assert stats.up.bytes_discarded == stats.up.bytes_corrupted == 0


async def test_delay_adds_latency_per_direction_and_keeps_order(
    proxy: FaultProxy, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()

    async def round_trip() -> float:
        start = time.monotonic()
        writer.write(b"ping")
        assert await read_exactly(reader, 4) == b"ping"
        return time.monotonic() - start

    assert await round_trip() < 0.1
    await proxy.set_mode("up", Delay(0.15))
    assert await round_trip() >= 0.15
    await proxy.set_mode(Direction.BOTH, Delay(0.15))
    assert await round_trip() >= 0.3

    parts = [bytes([i]) * 100 for i in range(8)]
    for part in parts:
        writer.write(part)
        await asyncio.sleep(0.01)
    assert await read_exactly(reader, 800) == b"".join(parts)


async def test_bandwidth_caps_the_rate(
    proxy: FaultProxy, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()
    rate, size = 100_000, 30_000
    await proxy.set_mode("down", Bandwidth(rate))
    start = time.monotonic()
    writer.write(b"\x5a" * size)
    assert await read_exactly(reader, size) == b"\x5a" * size
    elapsed = time.monotonic() - start
    assert size / rate <= elapsed < 3 * size / rate

    await proxy.set_mode("down", Pass())
    start = time.monotonic()
    writer.write(b"\x5a" * size)
    await read_exactly(reader, size)
    assert time.monotonic() - start < size / rate


@pytest.mark.parametrize("direction", ["up", "down", "both"])
async def test_drop_resets_open_and_new_connections(
    direction: str,
    proxy: FaultProxy,
    server: Recorder,
    connect: Callable[[], Awaitable[Client]],
) -> None:
    reader, writer = await connect()
    writer.write(b"hello")
    assert await read_exactly(reader, 5) == b"hello"

    start = time.monotonic()
    await proxy.set_mode(direction, Drop())
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(1), 1.0)
    assert time.monotonic() - start < 0.5
    await eventually(lambda: isinstance(server.peers[0].error, ConnectionResetError))
    stats = proxy.stats()
    assert (stats.connections_dropped, stats.connections_active) == (1, 0)

    late_reader, _ = await connect()
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(late_reader.read(1), 1.0)
    assert len(server.peers) == 1
    assert proxy.stats().connections_refused == 1

    await proxy.set_mode("both", Pass())
    reader, writer = await connect()
    writer.write(b"again")
    assert await read_exactly(reader, 5) == b"again"


async def test_refuse_resets_new_connections_only(
    proxy: FaultProxy, server: Recorder, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()
    await proxy.set_mode("both", Refuse())
    late_reader, _ = await connect()
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(late_reader.read(1), 1.0)
    writer.write(b"still up")
    assert await read_exactly(reader, 8) == b"still up"
    assert len(server.peers) == 1
    assert proxy.stats().connections_refused == 1


async def test_blackhole_is_silent_and_loses_bytes(
    proxy: FaultProxy, server: Recorder, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()
    writer.write(b"up")
    assert await read_exactly(reader, 2) == b"up"

    await proxy.set_mode("both", Blackhole())
    writer.write(b"lost")
    await proxy.wait_until(lambda s: s.up.bytes_discarded == 4)
    server.peers[0].writer.write(b"gone")
    await proxy.wait_until(lambda s: s.down.bytes_discarded == 4)
    await assert_silent(reader)
    assert bytes(server.peers[0].received) == b"up"

    await proxy.set_mode("both", Pass())
    writer.write(b"new")
    assert await read_exactly(reader, 3) == b"new"
    assert bytes(server.peers[0].received) == b"upnew"


async def test_blackhole_swallows_fin_for_good(
    proxy: FaultProxy, server: Recorder, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()
    writer.write(b"x")
    assert await read_exactly(reader, 1) == b"x"
    await proxy.set_mode("up", Blackhole())
    writer.write_eof()
    await asyncio.sleep(QUIET)
    await proxy.set_mode("up", Pass())
    await asyncio.sleep(0.1)
    assert not server.peers[0].eof
    assert server.peers[0].error is None
    assert proxy.stats().connections_active == 1
    await assert_silent(reader, 0.1)


@pytest.mark.parametrize("mode", [Pass(), Blackhole()], ids=["pass", "blackhole"])
async def test_a_reset_crosses_a_passing_direction_only(
    mode: Pass | Blackhole,
    proxy: FaultProxy,
    server: Recorder,
    connect: Callable[[], Awaitable[Client]],
) -> None:
    reader, writer = await connect()
    writer.write(b"x")
    assert await read_exactly(reader, 1) == b"x"
    await proxy.set_mode("down", mode)
    reset_writer(server.peers[0].writer)
    if isinstance(mode, Pass):
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), 1.0)
        await proxy.wait_until(lambda s: s.connections_active == 0)
    else:
        await assert_silent(reader)
        assert proxy.stats().connections_active == 1


@pytest.mark.parametrize("blocked", ["up", "down"])
async def test_directions_are_independent(
    blocked: str, proxy: FaultProxy, server: Recorder, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()
    writer.write(b"0")
    assert await read_exactly(reader, 1) == b"0"
    peer = server.peers[0]
    await proxy.set_mode(blocked, Blackhole())

    writer.write(b"ping")
    peer.writer.write(b"push")
    if blocked == "up":
        assert await read_exactly(reader, 4) == b"push"
        await asyncio.sleep(0.1)
        assert bytes(peer.received) == b"0"
    else:
        await eventually(lambda: bytes(peer.received) == b"0ping")
        await assert_silent(reader)
    stats = proxy.stats()
    lost = stats.up if blocked == "up" else stats.down
    kept = stats.down if blocked == "up" else stats.up
    assert lost.bytes_discarded > 0
    assert kept.bytes_discarded == 0


def differing(a: bytes, b: bytes) -> list[int]:
    """Offsets where ``a`` and ``b`` differ; each difference must be exactly one bit."""
    assert len(a) == len(b)
    offsets = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    assert all((a[i] ^ b[i]).bit_count() == 1 for i in offsets)
    return offsets


async def test_corrupt_every_nth_flips_one_bit_upstream_only(
    proxy: FaultProxy, server: Recorder, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()
    await proxy.set_mode("up", Corrupt(every_nth=7, seed=1))
    payload = bytes(range(100))
    writer.write(payload)
    echoed = await read_exactly(reader, 100)
    arrived = bytes(server.peers[0].received)
    assert differing(payload, arrived) == list(range(6, 100, 7))
    assert echoed == arrived  # the way down passed untouched
    stats = proxy.stats()
    assert (stats.up.bytes_corrupted, stats.down.bytes_corrupted) == (14, 0)


async def test_corrupt_probability_downstream_only_and_deterministic(
    proxy: FaultProxy, server: Recorder, connect: Callable[[], Awaitable[Client]]
) -> None:
    payload = random.Random(7).randbytes(4000)

    async def corrupted_echo(seed: int, pieces: int) -> bytes:
        await proxy.set_mode("down", Corrupt(probability=0.02, seed=seed))
        reader, writer = await connect()
        step = len(payload) // pieces
        for i in range(0, len(payload), step):
            writer.write(payload[i : i + step])
            await writer.drain()
            await asyncio.sleep(0.002)
        got = await read_exactly(reader, len(payload))
        assert bytes(server.peers[-1].received) == payload  # the way up passed untouched
        return got

    first = await corrupted_echo(seed=5, pieces=1)
    hits = differing(payload, first)
    assert 20 < len(hits) < 200
    assert proxy.stats().down.bytes_corrupted == len(hits)
    assert await corrupted_echo(seed=5, pieces=40) == first
    assert await corrupted_echo(seed=6, pieces=1) != first


@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=10))
def test_corruption_does_not_depend_on_chunking(data: bytes, cuts: list[int]) -> None:
    mode = Corrupt(probability=0.1, seed=9)
    whole, _ = _Corrupter(mode).apply(data)
    corrupter = _Corrupter(mode)
    bounds = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    pieces = [corrupter.apply(data[a:b])[0] for a, b in itertools.pairwise(bounds)]
    assert b"".join(pieces) == whole


async def test_stall_holds_then_releases_in_order(
    proxy: FaultProxy, server: Recorder, connect: Callable[[], Awaitable[Client]]
) -> None:
    reader, writer = await connect()
    await proxy.set_mode("up", Stall())
    writer.write(b"abc")
    await proxy.wait_until(lambda s: s.up.bytes_buffered == 3)
    writer.write(b"def")
    await proxy.wait_until(lambda s: s.up.bytes_buffered == 6)
    await asyncio.sleep(0.1)
    assert bytes(server.peers[0].received) == b""
    await proxy.set_mode("up", Pass())
    assert await read_exactly(reader, 6) == b"abcdef"
    assert proxy.stats().up.bytes_buffered == 0


async def test_stall_stops_reading_when_its_buffer_is_full() -> None:
    server = Recorder(echo=False)
    await server.start()
    try:
        async with FaultProxy(server.port, max_buffer=4096) as proxy:
            await proxy.set_mode("up", Stall())
            _, writer = await asyncio.open_connection(*proxy.address)
            # A fixed, small send buffer: with autotuning the kernel alone could absorb megabytes.
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            payload = random.Random(3).randbytes(8 * 1024 * 1024)
            writer.write(payload)
            sending = asyncio.create_task(writer.drain())
            await proxy.wait_until(lambda s: s.up.bytes_buffered == 4096)
            await asyncio.sleep(0.2)
            assert proxy.stats().up.bytes_read == 4096
            assert not sending.done()  # the sender feels the back-pressure

            await proxy.set_mode("up", Pass())
            await asyncio.wait_for(sending, 5)
            await eventually(lambda: len(server.peers[0].received) == len(payload))
            assert bytes(server.peers[0].received) == payload
            writer.transport.abort()
    finally:
        await server.stop()


async def test_stop_resets_everything_and_leaves_no_task(server: Recorder) -> None:
    proxy = FaultProxy(server.port)
    await proxy.start()
    port = proxy.port
    held_reader, held_writer = await asyncio.open_connection(*proxy.address)
    lost_reader, lost_writer = await asyncio.open_connection(*proxy.address)
    await proxy.wait_until(lambda s: s.connections_active == 2)
    await proxy.set_mode("up", Stall())
    held_writer.write(b"held")
    await proxy.wait_until(lambda s: s.up.bytes_buffered == 4)
    await proxy.set_mode("up", Blackhole())
    lost_writer.write_eof()

    await proxy.stop()
    for reader in (held_reader, lost_reader):
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), 1.0)
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("faultproxy")] == []
    assert proxy.stats().connections_active == 0
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await proxy.stop()  # idempotent
    for writer in (held_writer, lost_writer):
        writer.transport.abort()


async def test_unreachable_target_resets_the_client() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    async with FaultProxy(free_port) as proxy:
        reader, writer = await asyncio.open_connection(*proxy.address)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), 2.0)
        writer.transport.abort()


async def test_misuse_fails_loudly(proxy: FaultProxy) -> None:
    with pytest.raises(TypeError, match=r"Pass\(\)"):
        await proxy.set_mode("up", Drop)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await proxy.set_mode("sideways", Pass())
    with pytest.raises(RuntimeError):
        await proxy.start()
    with pytest.raises(ValueError):
        FaultProxy(1, target_host="10.0.0.1")
    with pytest.raises(RuntimeError):
        _ = FaultProxy(1).port
    for bad in (
        Corrupt,
        lambda: Corrupt(probability=0.5, every_nth=2),
        lambda: Corrupt(probability=0),
        lambda: Corrupt(every_nth=0),
        lambda: Delay(-1),
        lambda: Bandwidth(0),
    ):
        with pytest.raises(ValueError):
            bad()
    assert proxy.mode("down") == Pass()
    with pytest.raises(ValueError):
        proxy.mode("both")


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            while data := sock.recv(65536):
                sock.sendall(data)
        except OSError:
            pass


@pytest.fixture
def threaded_echo() -> Iterator[int]:
    """A blocking echo server in a thread, like a station subprocess would be."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _EchoHandler) as echo:
        echo.daemon_threads = True
        thread = threading.Thread(target=echo.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        yield echo.server_address[1]
        echo.shutdown()
        thread.join()


def test_threaded_proxy_drives_faults_from_sync_code(threaded_echo: int) -> None:
    with ThreadedFaultProxy(threaded_echo) as proxy:
        with socket.create_connection(proxy.address, timeout=2) as client:
            client.sendall(b"hello")
            assert client.recv(5) == b"hello"

            proxy.set_mode("both", Blackhole())
            assert proxy.mode("up") == Blackhole()
            client.sendall(b"lost")
            proxy.wait_until(lambda s: s.up.bytes_discarded == 4)
            client.settimeout(QUIET)
            with pytest.raises(TimeoutError):
                client.recv(1)

            proxy.set_mode("both", Pass())
            client.settimeout(2)
            client.sendall(b"new")
            assert client.recv(3) == b"new"

            proxy.set_mode("both", Drop())
            assert proxy.stats().connections_dropped == 1
            with pytest.raises(ConnectionResetError):
                client.recv(1)
        port = proxy.port
    assert [t for t in threading.enumerate() if t.name.startswith("faultproxy")] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_threaded_proxy_outside_its_context_refuses_calls(threaded_echo: int) -> None:
    proxy = ThreadedFaultProxy(threaded_echo)
    with pytest.raises(RuntimeError, match="context manager"):
        proxy.set_mode("up", Pass())
    proxy.stop()  # harmless before start
    with proxy:
        pass
    with pytest.raises(RuntimeError):
        proxy.stats()


async def test_a_bug_inside_the_proxy_surfaces_at_stop(
    server: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: object) -> None:
        raise AssertionError("harness bug")

    monkeypatch.setattr("tests.harness._pump.Pump.read_loop", broken)
    proxy = FaultProxy(server.port)
    await proxy.start()
    _, writer = await asyncio.open_connection(*proxy.address)
    await proxy.wait_until(lambda s: s.connections_accepted == 1 and s.connections_active == 0)
    with pytest.raises(RuntimeError, match="FaultProxy task failed"):
        await proxy.stop()
    writer.transport.abort()
