"""The API under a real uvicorn on 127.0.0.1, and a control over a real store.

:class:`DeskControl` is the daemon's control surface without the lines: the daemon's own
message desk (:class:`hotline.station._desk.MessageDesk`) over a real store thread, with a
fixed set of paired peers. It keeps no halts of its own (delivery does): a test sets
:attr:`DeskControl.halted` to what ``resume`` finds. Tests that need lines run a real
``hotline serve``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from hotline.api import (
    AckRequest,
    AckView,
    AlarmUnknownError,
    AlarmView,
    CheckpointView,
    InboxView,
    LineUnavailableError,
    OutboxView,
    PeerUnknownError,
    RecordQuery,
    SendRequest,
    SendResult,
    StationStatus,
)
from hotline.station._desk import MessageDesk
from hotline.store import StoreThread

TOKEN = "ab" * 32
#: The peers a DeskControl knows: name -> line id.
PEERS = {"moscow": bytes(range(64)), "washington": bytes(range(64, 128))}
STORE_KEY = bytes(range(32))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def running(app: Starlette) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in a thread; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


class DeskControl:
    """The daemon's message desk over a real store, and a station without lines."""

    def __init__(self, store: StoreThread) -> None:
        self.store = store
        self.desk = MessageDesk(store, lambda: PEERS, lambda line_id: None)
        #: Peer -> how many of its line's directions are halted (lifted by ``resume``).
        self.halted: dict[str, int] = {}
        #: The queries ``record`` was asked, in order.
        self.record_queries: list[tuple[str, RecordQuery]] = []

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path) -> Iterator[DeskControl]:
        with StoreThread.open(path, STORE_KEY) as store:
            yield cls(store)

    def status(self) -> StationStatus:
        return StationStatus("jerusalem", ())

    async def send(self, request: SendRequest) -> SendResult:
        return await self.desk.send(request)

    async def outbox(self, peer: str | None) -> tuple[OutboxView, ...]:
        return await self.desk.outbox(peer)

    async def inbox(self, peer: str | None, after: str | None = None) -> tuple[InboxView, ...]:
        return await self.desk.inbox(peer, after)

    async def ack(self, message_id: str, request: AckRequest) -> SendResult:
        return await self.desk.ack(message_id, request)

    async def acks(self, peer: str | None) -> tuple[AckView, ...]:
        return await self.desk.acks(peer)

    def alarms(self, include_closed: bool) -> tuple[AlarmView, ...]:
        return ()

    def ack_alarm(self, alarm_id: int, operator: str) -> AlarmView:
        raise AlarmUnknownError(f"no alarm has the number {alarm_id}")

    async def checkpoint(self, peer: str) -> CheckpointView:
        raise LineUnavailableError(f"the line to {peer} is not up")

    async def record(self, peer: str, query: RecordQuery) -> bytes:
        if peer not in PEERS:
            raise PeerUnknownError(f"no paired station is named {peer!r} (see peers)")
        self.record_queries.append((peer, query))
        return b"\x89HLR\r\n\x1a\n" + peer.encode()

    async def resume(self, peer: str) -> int:
        if peer not in PEERS:
            raise PeerUnknownError(f"no paired station is named {peer!r} (see peers)")
        return self.halted.pop(peer, 0)
