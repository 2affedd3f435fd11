"""One proxied connection: two pumps, each carrying one direction through its current mode.

A pump is a reader and a writer joined by a bounded FIFO. The reader takes bytes (then an EOF or
a reset) from the sending socket into the FIFO and stops reading while the FIFO is full, so a
held direction pushes back on the sender through TCP instead of growing memory. The writer takes
items from the head of the FIFO and decides what to do with each one *at forwarding time*, from
the direction's mode as it is then: a mode switched mid-test applies to every byte still queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import random
import socket
import struct
from collections import deque
from dataclasses import dataclass

from .modes import Bandwidth, Blackhole, Corrupt, Delay, Direction, Mode, Pass, Stall

#: Largest single read from a socket. 64 KiB is one full TCP window on loopback without scaling.
READ_CHUNK = 64 * 1024

#: How much one Bandwidth piece represents in time: small enough that the rate is smooth at the
#: scale of a test's timeouts, large enough that pacing costs few wake-ups.
PACING_QUANTUM = 0.05


class _Kind(enum.Enum):
    DATA = enum.auto()
    #: The sender half-closed (FIN).
    EOF = enum.auto()
    #: The sender's socket failed (RST or another error): a reset to pass on.
    RESET = enum.auto()


@dataclass(slots=True)
class _Item:
    kind: _Kind
    data: bytes
    #: loop.time() when the proxy read it; Delay counts from here.
    arrived: float


class _PeerReset(Exception):
    """A reset travelled through a passing direction: the whole connection must be reset."""


class ModeCell:
    """The mode one direction holds, shared by that direction's pumps of every connection.

    ``generation`` grows on every set, so a pump can tell a fresh ``Corrupt`` (whose byte count
    restarts) from the one it is already applying, even when the two are equal values.
    """

    __slots__ = ("generation", "mode")

    def __init__(self) -> None:
        self.mode: Mode = Pass()
        self.generation = 0

    def set(self, mode: Mode) -> None:
        """Hold ``mode`` from now on."""
        self.mode = mode
        self.generation += 1


class Counters:
    """Running byte counts for one direction, summed over all connections."""

    __slots__ = ("corrupted", "discarded", "forwarded", "read")

    def __init__(self) -> None:
        self.read = 0
        self.forwarded = 0
        self.discarded = 0
        self.corrupted = 0


class _Corrupter:
    """Flips one bit in each chosen byte of a stream, independently of how it is chunked.

    Positions are absolute stream offsets, and the random draws happen once per corrupted byte in
    stream order, so the same seed gives the same output for any split into chunks.
    """

    def __init__(self, mode: Corrupt) -> None:
        self._rng = random.Random(mode.seed)
        self._every_nth = mode.every_nth
        self._probability = mode.probability
        self._position = 0
        self._next = self._step() - 1

    def _step(self) -> int:
        """Distance from one corrupted byte to the next."""
        if self._every_nth is not None:
            return self._every_nth
        assert self._probability is not None
        if self._probability >= 1:
            return 1
        # Geometric gap: the number of untouched bytes before the next hit, had every byte been
        # corrupted with probability p independently.
        uniform = self._rng.random()
        return 1 + math.floor(math.log1p(-uniform) / math.log1p(-self._probability))

    def apply(self, data: bytes) -> tuple[bytes, int]:
        """Corrupt the next ``len(data)`` bytes of the stream.

        Returns:
            The bytes to forward and how many of them were changed.
        """
        end = self._position + len(data)
        if self._next >= end:
            self._position = end
            return data, 0
        out = bytearray(data)
        flipped = 0
        while self._next < end:
            out[self._next - self._position] ^= 1 << self._rng.randrange(8)
            flipped += 1
            self._next += self._step()
        self._position = end
        return bytes(out), flipped


def reset_writer(writer: asyncio.StreamWriter) -> None:
    """Close ``writer``'s socket with an RST instead of a FIN (SO_LINGER on, timeout 0)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def reset_socket(sock: socket.socket) -> None:
    """Close a raw accepted socket with an RST."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Pump:
    """Carries one direction of one connection through that direction's mode."""

    def __init__(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        *,
        cell: ModeCell,
        counters: Counters,
        max_buffer: int,
    ) -> None:
        self._source = source
        self._sink = sink
        self._cell = cell
        self._counters = counters
        self._max_buffer = max_buffer
        self._queue: deque[_Item] = deque()
        self.buffered = 0
        #: Set when an item arrives or the mode changes: the writer re-decides.
        self._wake = asyncio.Event()
        #: Set when the writer frees space: the reader may read again.
        self._space = asyncio.Event()
        #: True once a FIN or reset was swallowed by Blackhole: the far end must never see one.
        self.end_lost = False
        #: When the simulated slow link finishes sending what Bandwidth already let through.
        self._line_free = 0.0
        self._corrupter: _Corrupter | None = None
        self._corrupter_generation = -1

    def wake(self) -> None:
        """Make the writer look at the mode again (called on every mode change)."""
        self._wake.set()

    def _push(self, kind: _Kind, data: bytes = b"") -> None:
        self._queue.append(_Item(kind, data, asyncio.get_running_loop().time()))
        self.buffered += len(data)
        self._wake.set()

    async def read_loop(self) -> None:
        """Read from the source until EOF or error, never holding more than ``max_buffer``."""
        while True:
            while self.buffered >= self._max_buffer:
                self._space.clear()
                await self._space.wait()
            try:
                data = await self._source.read(min(READ_CHUNK, self._max_buffer - self.buffered))
            except OSError:
                self._push(_Kind.RESET)
                return
            if not data:
                self._push(_Kind.EOF)
                return
            self._counters.read += len(data)
            self._push(_Kind.DATA, data)

    async def write_loop(self) -> None:
        """Forward, hold or discard queued items until the stream's end has been dealt with.

        Raises:
            _PeerReset: a reset from the source reached a passing direction.
            OSError: the sink failed (its peer reset); the connection is torn down.
        """
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            mode = self._cell.mode
            if not self._queue or isinstance(mode, Stall):
                await self._wake.wait()
                continue
            head = self._queue[0]
            if isinstance(mode, Delay):
                wait = head.arrived + mode.seconds - loop.time()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
                    continue
            if isinstance(mode, Bandwidth) and head.kind is _Kind.DATA:
                await self._pace(head, mode)
            item = self._take()
            if isinstance(mode, Blackhole):
                self._counters.discarded += len(item.data)
                if item.kind is not _Kind.DATA:
                    self.end_lost = True
                    return
            elif item.kind is _Kind.DATA:
                await self._forward(item.data, mode)
            elif item.kind is _Kind.EOF:
                if self._sink.can_write_eof():
                    self._sink.write_eof()
                return
            else:
                raise _PeerReset

    async def _pace(self, head: _Item, mode: Bandwidth) -> None:
        """Wait until the slow link has sent the next piece of ``head`` (split off in place)."""
        loop = asyncio.get_running_loop()
        piece = max(1, int(mode.bytes_per_second * PACING_QUANTUM))
        if len(head.data) > piece:
            self._queue.popleft()
            self._queue.appendleft(_Item(_Kind.DATA, head.data[piece:], head.arrived))
            self._queue.appendleft(_Item(_Kind.DATA, head.data[:piece], head.arrived))
            head = self._queue[0]
        now = loop.time()
        self._line_free = max(self._line_free, now) + len(head.data) / mode.bytes_per_second
        await asyncio.sleep(self._line_free - now)

    def _take(self) -> _Item:
        item = self._queue.popleft()
        self.buffered -= len(item.data)
        self._space.set()
        return item

    async def _forward(self, data: bytes, mode: Mode) -> None:
        if isinstance(mode, Corrupt):
            if self._corrupter is None or self._corrupter_generation != self._cell.generation:
                self._corrupter = _Corrupter(mode)
                self._corrupter_generation = self._cell.generation
            data, flipped = self._corrupter.apply(data)
            self._counters.corrupted += flipped
        self._sink.write(data)
        self._counters.forwarded += len(data)
        await self._sink.drain()


class Connection:
    """A client the proxy accepted, joined to its own fresh connection to the target.

    Ends in one of three ways: both FINs forwarded (both sockets closed gracefully), a reset
    (either side failed, or the task was cancelled by Drop or by the proxy stopping: both
    sockets get an RST), or held open forever because Blackhole swallowed a FIN or reset, which
    is what a silent cut looks like to the two ends.
    """

    def __init__(
        self,
        client: socket.socket,
        target: tuple[str, int],
        *,
        cells: dict[Direction, ModeCell],
        counters: dict[Direction, Counters],
        max_buffer: int,
        connect_timeout: float,
    ) -> None:
        self._client = client
        self._target = target
        self._cells = cells
        self._counters = counters
        self._max_buffer = max_buffer
        self._connect_timeout = connect_timeout
        self._writers: list[asyncio.StreamWriter] = []
        self.pumps: dict[Direction, Pump] = {}

    def wake(self) -> None:
        """Make both pumps look at their modes again."""
        for pump in self.pumps.values():
            pump.wake()

    async def run(self) -> None:
        """Carry the connection until it ends; always leaves both sockets closed."""
        graceful = False
        try:
            await self._carry()
            graceful = True
        except* (OSError, _PeerReset):
            graceful = False  # a failure on either side resets both, as a router would.
        finally:
            await self._close(graceful=graceful)

    async def _carry(self) -> None:
        client_reader, client_writer = await asyncio.open_connection(sock=self._client)
        self._writers.append(client_writer)
        server_reader, server_writer = await asyncio.wait_for(
            asyncio.open_connection(*self._target), self._connect_timeout
        )
        self._writers.append(server_writer)
        self.pumps = {
            Direction.UP: self._pump(Direction.UP, client_reader, server_writer),
            Direction.DOWN: self._pump(Direction.DOWN, server_reader, client_writer),
        }
        async with asyncio.TaskGroup() as group:
            for pump in self.pumps.values():
                group.create_task(pump.read_loop())
                group.create_task(pump.write_loop())
        if any(pump.end_lost for pump in self.pumps.values()):
            # A swallowed FIN or RST must stay swallowed: hold both sockets open, silently,
            # until Drop or stop() cancels us.
            await asyncio.Event().wait()

    def _pump(
        self, direction: Direction, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> Pump:
        return Pump(
            source,
            sink,
            cell=self._cells[direction],
            counters=self._counters[direction],
            max_buffer=self._max_buffer,
        )

    async def _close(self, *, graceful: bool) -> None:
        if not self._writers:
            reset_socket(self._client)
            return
        for writer in self._writers:
            if graceful:
                writer.close()
            else:
                reset_writer(writer)
        for writer in self._writers:
            try:
                await asyncio.wait_for(writer.wait_closed(), _CLOSE_GRACE)
            except OSError:
                # Covers TimeoutError too: a peer that stopped reading keeps a graceful close
                # from flushing, so it is reset instead of leaking the socket.
                reset_writer(writer)
                with contextlib.suppress(OSError):
                    await writer.wait_closed()


#: How long a graceful close may take to flush before the socket is reset instead.
_CLOSE_GRACE = 1.0
