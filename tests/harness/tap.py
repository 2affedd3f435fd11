"""A recording TCP relay and a replayer, for replay-flood tests.

:class:`ThreadedTap` relays ``127.0.0.1:port`` to ``127.0.0.1:target_port`` (like a
:class:`~tests.harness.faultproxy.FaultProxy` in ``Pass()``) and records the first
``record_bytes`` each client sends: put it in front of a station, let a peer dial through it,
and it holds the peer's first handshake message, exactly as an eavesdropper would.
:func:`replay_flood` then sends recorded messages at a listener, over and over, from many
connections at once, for a bounded time.

Both run on their own event loop in a daemon thread, for synchronous tests that drive station
subprocesses; both are bounded in time and connections, and talk to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

LOOPBACK = "127.0.0.1"
_T = TypeVar("_T")


class ThreadedTap:
    """A pass-through relay that records the first bytes of every client stream."""

    def __init__(self, target_port: int, *, record_bytes: int) -> None:
        """Args:
        target_port: the port every connection is relayed to, on 127.0.0.1.
        record_bytes: how many bytes of each client stream to record (from its start).
        """
        self._target_port = target_port
        self._record_bytes = record_bytes
        self._captured: list[bytes] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tap", daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port to dial instead of the target."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def captured(self) -> list[bytes]:
        """Every client stream's first ``record_bytes`` (complete ones only), in arrival order."""
        with self._lock:
            return list(self._captured)

    def __enter__(self) -> Self:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._relay, LOOPBACK, 0)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            target_reader, target_writer = await asyncio.open_connection(
                LOOPBACK, self._target_port
            )
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        head = bytearray()

        async def pump(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, record: bool
        ) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    if record and len(head) < self._record_bytes:
                        head.extend(data[: self._record_bytes - len(head)])
                        if len(head) == self._record_bytes:
                            with self._lock:
                                self._captured.append(bytes(head))
                    sink.write(data)
                    await sink.drain()
            sink.close()

        try:
            await asyncio.gather(
                pump(reader, target_writer, True), pump(target_reader, writer, False)
            )
        finally:
            self._tasks.discard(task)


@dataclass(frozen=True)
class FloodResult:
    """What a flood did.

    Attributes:
        connections: connections opened.
        messages: messages written in full.
    """

    connections: int
    messages: int


def replay_flood(
    port: int,
    messages: list[bytes],
    *,
    seconds: float,
    concurrency: int = 8,
    stop: threading.Event | None = None,
) -> FloodResult:
    """Send ``messages`` (cycled) to ``127.0.0.1:port``, one per connection, for ``seconds``.

    Each of ``concurrency`` workers connects, writes one message, waits (briefly) for the far
    end to close, and starts again; refused connections are retried after a short pause.
    Bounded by ``seconds`` of wall time, and over sooner once ``stop`` is set: a test that
    asserts on what the listener did under the flood stops it only after seeing that, so a
    slow machine cannot end the flood before the listener got to it.
    """
    if not messages:
        raise ValueError("nothing to replay")

    async def flood() -> FloodResult:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        counts = [0, 0]

        async def worker(offset: int) -> None:
            index = offset
            while loop.time() < end and not (stop is not None and stop.is_set()):
                try:
                    reader, writer = await asyncio.open_connection(LOOPBACK, port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                counts[0] += 1
                try:
                    writer.write(messages[index % len(messages)])
                    await writer.drain()
                    counts[1] += 1
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reader.read(65536), 0.5)
                except OSError:
                    pass
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                index += 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return FloodResult(*counts)

    return asyncio.run(flood())
