"""A TCP proxy on 127.0.0.1 that puts network faults between two real processes, on command.

Tests point a station (or any client) at the proxy's port instead of its peer's, then switch the
path between healthy and broken while both ends run unmodified:

    async with FaultProxy(target_port=server_port) as proxy:
        ...  # connect to proxy.port
        await proxy.set_mode("up", Blackhole())
        await proxy.wait_until(lambda s: s.up.bytes_discarded >= 5)

:class:`ThreadedFaultProxy` hosts the same proxy on its own event loop in a thread, with the same
control surface as plain methods, for synchronous tests that drive station subprocesses.

Everything is bounded: each direction of each connection queues at most ``max_buffer`` bytes
(plus asyncio's own stream buffer, which pauses reading past 128 KiB), and ``stop()`` resets every
connection and awaits every task, so a test leaks no socket, task or thread.
"""

from __future__ import annotations

import asyncio
import enum
import socket
import threading
import typing
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

from ._pump import Connection, Counters, ModeCell, reset_socket
from .modes import Direction, Drop, Mode, Refuse

#: The only address the proxy listens on or connects to: tests never leave the host.
LOOPBACK = "127.0.0.1"

#: Per direction and connection, the most bytes the proxy holds (Stall, Delay, Bandwidth) before
#: it stops reading and lets TCP push back on the sender. Larger than any single protocol message
#: a test sends, small enough that a stalled bulk transfer costs little memory.
DEFAULT_MAX_BUFFER = 256 * 1024

#: How long the proxy waits for the target to accept before resetting the client.
DEFAULT_CONNECT_TIMEOUT = 5.0

_MODE_TYPES = typing.get_args(Mode)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DirectionStats:
    """Byte counts for one direction, summed over every connection since the proxy started."""

    #: Read from the sending socket.
    bytes_read: int
    #: Written to the receiving socket (corrupted bytes included).
    bytes_forwarded: int
    #: Swallowed by Blackhole.
    bytes_discarded: int
    #: Forwarded with a bit flipped by Corrupt.
    bytes_corrupted: int
    #: Held right now, in open connections (Stall, Delay, Bandwidth, a slow receiver).
    bytes_buffered: int


@dataclass(frozen=True, slots=True)
class ProxyStats:
    """A snapshot of a proxy's counters, for assertions and for :meth:`FaultProxy.wait_until`."""

    up: DirectionStats
    down: DirectionStats
    #: Every connection the listener accepted, refused ones included.
    connections_accepted: int
    #: Connections being carried right now (including ones still dialling the target).
    connections_active: int
    #: New connections reset on arrival because Refuse or Drop held.
    connections_refused: int
    #: Open connections reset by setting Drop.
    connections_dropped: int


class _State(enum.Enum):
    NEW = enum.auto()
    RUNNING = enum.auto()
    STOPPED = enum.auto()


class FaultProxy:
    """An asyncio TCP proxy from ``127.0.0.1:port`` to ``127.0.0.1:target_port``, with faults.

    Each direction holds one mode (see :mod:`tests.harness.modes`), :class:`~.modes.Pass` at
    first. Methods must be called from the event loop the proxy was started on.
    """

    def __init__(
        self,
        target_port: int,
        *,
        target_host: str = LOOPBACK,
        port: int = 0,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        """Prepare a proxy; nothing listens until :meth:`start`.

        Args:
            target_port: the port of the server every connection is forwarded to.
            target_host: must be ``127.0.0.1``; tests never reach off the host.
            port: the port to listen on; 0 lets the kernel choose (read it from :attr:`port`).
            max_buffer: bytes held per direction and connection before reading stops.
            connect_timeout: seconds to wait for the target before resetting the client.

        Raises:
            ValueError: a non-loopback target or a non-positive buffer.
        """
        if target_host != LOOPBACK:
            raise ValueError(f"FaultProxy only forwards to {LOOPBACK}, not {target_host!r}")
        if max_buffer < 1:
            raise ValueError(f"max_buffer must be at least 1 byte: {max_buffer}")
        self._target = (target_host, target_port)
        self._requested_port = port
        self._max_buffer = max_buffer
        self._connect_timeout = connect_timeout
        self._cells = {Direction.UP: ModeCell(), Direction.DOWN: ModeCell()}
        self._counters = {Direction.UP: Counters(), Direction.DOWN: Counters()}
        self._connections: dict[asyncio.Task[None], Connection] = {}
        self._failures: list[BaseException] = []
        self._listener: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._state = _State.NEW
        self._accepted = 0
        self._refused = 0
        self._dropped = 0

    @property
    def port(self) -> int:
        """The port the proxy listens on (known once started).

        Raises:
            RuntimeError: the proxy has not been started.
        """
        if self._listener is None:
            raise RuntimeError("FaultProxy.port is known only after start()")
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` to dial instead of the target."""
        return (LOOPBACK, self.port)

    @property
    def target(self) -> tuple[str, int]:
        """``(host, port)`` every connection is forwarded to."""
        return self._target

    def mode(self, direction: Direction | str) -> Mode:
        """The mode ``direction`` (``"up"`` or ``"down"``) holds now.

        Raises:
            ValueError: ``direction`` is not up or down.
        """
        single = Direction(direction)
        if single is Direction.BOTH:
            raise ValueError("mode() reads one direction: ask for 'up' or 'down'")
        return self._cells[single].mode

    async def start(self) -> None:
        """Start listening.

        Raises:
            RuntimeError: started twice.
            OSError: the port could not be bound.
        """
        if self._state is not _State.NEW:
            raise RuntimeError(f"FaultProxy.start() on a proxy that is {self._state.name}")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((LOOPBACK, self._requested_port))
            listener.listen(128)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._state = _State.RUNNING
        self._accept_task = asyncio.get_running_loop().create_task(
            self._accept_loop(), name=f"faultproxy:{self.port}:accept"
        )

    async def stop(self) -> None:
        """Stop listening and reset every connection; returns when all are closed.

        Safe to call more than once.

        Raises:
            RuntimeError: a task of the proxy itself failed while it ran (a harness bug, not a
                network fault); the first such error is chained.
        """
        if self._state is _State.RUNNING:
            assert self._accept_task is not None
            assert self._listener is not None
            self._accept_task.cancel()
            [accepted] = await asyncio.gather(self._accept_task, return_exceptions=True)
            if isinstance(accepted, Exception):
                self._failures.append(accepted)
            self._listener.close()
            await self._cancel_connections()
        self._state = _State.STOPPED
        if self._failures:
            raise RuntimeError("a FaultProxy task failed") from self._failures[0]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def set_mode(self, direction: Direction | str, mode: Mode) -> None:
        """Put ``direction`` (``"up"``, ``"down"`` or ``"both"``) in ``mode`` from now on.

        The mode applies to every byte not yet forwarded, queued ones included. Setting
        :class:`~.modes.Drop` returns only once every open connection has been reset.

        Raises:
            TypeError: ``mode`` is not a mode instance (for example the class, not ``Drop()``).
            ValueError: ``direction`` is not up, down or both.
        """
        if not isinstance(mode, _MODE_TYPES):
            raise TypeError(f"set_mode needs a mode instance such as Pass(), not {mode!r}")
        for single in Direction(direction).each():
            self._cells[single].set(mode)
        if isinstance(mode, Drop):
            tasks = [task for task in self._connections if not task.done()]
            self._dropped += len(tasks)
            await self._cancel_connections()
        for connection in self._connections.values():
            connection.wake()

    def stats(self) -> ProxyStats:
        """A snapshot of the counters."""
        return ProxyStats(
            up=self._direction_stats(Direction.UP),
            down=self._direction_stats(Direction.DOWN),
            connections_accepted=self._accepted,
            connections_active=len(self._connections),
            connections_refused=self._refused,
            connections_dropped=self._dropped,
        )

    async def wait_until(
        self, predicate: Callable[[ProxyStats], bool], timeout: float = 5.0
    ) -> ProxyStats:
        """Wait until ``predicate(stats)`` holds, so a test can sequence on what the proxy saw.

        Returns:
            The first snapshot that satisfied ``predicate``.

        Raises:
            TimeoutError: ``timeout`` seconds passed first; the message shows the last snapshot.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            snapshot = self.stats()
            if predicate(snapshot):
                return snapshot
            if loop.time() >= deadline:
                raise TimeoutError(f"proxy condition not met within {timeout} s: {snapshot}")
            await asyncio.sleep(0.005)

    def _direction_stats(self, direction: Direction) -> DirectionStats:
        counters = self._counters[direction]
        return DirectionStats(
            bytes_read=counters.read,
            bytes_forwarded=counters.forwarded,
            bytes_discarded=counters.discarded,
            bytes_corrupted=counters.corrupted,
            bytes_buffered=sum(
                connection.pumps[direction].buffered
                for connection in self._connections.values()
                if connection.pumps
            ),
        )

    def _refusing(self) -> bool:
        return any(isinstance(cell.mode, Drop | Refuse) for cell in self._cells.values())

    async def _accept_loop(self) -> None:
        assert self._listener is not None
        loop = asyncio.get_running_loop()
        while True:
            client, _ = await loop.sock_accept(self._listener)
            self._accepted += 1
            if self._refusing():
                reset_socket(client)
                self._refused += 1
                continue
            connection = Connection(
                client,
                self._target,
                cells=self._cells,
                counters=self._counters,
                max_buffer=self._max_buffer,
                connect_timeout=self._connect_timeout,
            )
            task = loop.create_task(
                connection.run(), name=f"faultproxy:{self.port}:conn{self._accepted}"
            )
            self._connections[task] = connection
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._connections.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            self._failures.append(typing.cast(BaseException, task.exception()))

    async def _cancel_connections(self) -> None:
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class ThreadedFaultProxy:
    """A :class:`FaultProxy` on its own event loop in a daemon thread, driven synchronously.

    For plain (non-async) tests that run station subprocesses. Use it as a context manager; every
    method blocks until the proxy has done it, so after ``set_mode`` returns the mode holds.
    """

    def __init__(
        self,
        target_port: int,
        *,
        target_host: str = LOOPBACK,
        port: int = 0,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        """Prepare a proxy; see :class:`FaultProxy` for the arguments."""
        self._proxy = FaultProxy(
            target_port,
            target_host=target_host,
            port=port,
            max_buffer=max_buffer,
            connect_timeout=connect_timeout,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the proxy listens on (known once started)."""
        return self._proxy.port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` to dial instead of the target."""
        return self._proxy.address

    @property
    def target(self) -> tuple[str, int]:
        """``(host, port)`` every connection is forwarded to."""
        return self._proxy.target

    def mode(self, direction: Direction | str) -> Mode:
        """The mode ``direction`` (``"up"`` or ``"down"``) holds now."""
        return self._proxy.mode(direction)

    def start(self) -> None:
        """Start the thread and the proxy; see :meth:`FaultProxy.start`.

        Raises:
            RuntimeError: started twice.
        """
        if self._thread is not None:
            raise RuntimeError("ThreadedFaultProxy.start() called twice")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run_loop, args=(self._loop,), name="faultproxy", daemon=True
        )
        self._thread.start()
        try:
            self._call(self._proxy.start())
        except BaseException:
            self._end_thread()
            raise

    def stop(self) -> None:
        """Stop the proxy, then its loop and thread; see :meth:`FaultProxy.stop`."""
        if self._thread is None or not self._thread.is_alive():
            return
        try:
            self._call(self._proxy.stop())
        finally:
            self._end_thread()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def set_mode(self, direction: Direction | str, mode: Mode) -> None:
        """See :meth:`FaultProxy.set_mode`."""
        self._call(self._proxy.set_mode(direction, mode))

    def stats(self) -> ProxyStats:
        """See :meth:`FaultProxy.stats`."""
        return self._call(self._snapshot())

    def wait_until(
        self, predicate: Callable[[ProxyStats], bool], timeout: float = 5.0
    ) -> ProxyStats:
        """See :meth:`FaultProxy.wait_until`."""
        return self._call(self._proxy.wait_until(predicate, timeout), timeout=timeout + 5.0)

    async def _snapshot(self) -> ProxyStats:
        return self._proxy.stats()

    def _call(self, coroutine: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            coroutine.close()
            raise RuntimeError("ThreadedFaultProxy is not running: use it as a context manager")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _end_thread(self) -> None:
        assert self._loop is not None
        assert self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
