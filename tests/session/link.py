"""Two connections joined by an in-memory wire with latency, driven by a virtual clock.

Everything is a timer-driven object for :class:`~tests.harness.clock.VirtualClock`: the wire
delivers each chunk ``latency`` seconds after it was written, each connection's own timer fires
at its deadline, and a traffic source can send DATA at a fixed period. After every step, the
link collects what each connection wants to send, so nothing waits for a test to pump it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.noise import NoiseError
from hotline.session import Connection, Event, SessionConfig

from ..handshake.stations import Station, pair
from ..harness.clock import VirtualClock

START = 1_750_000_000.0


@dataclass
class End:
    """One side of the link: its connection, the events it produced, the error it raised."""

    name: str
    connection: Connection
    events: list[Event] = field(default_factory=list)
    error: NoiseError | None = None

    def drain(self) -> None:
        while (event := self.connection.next_event()) is not None:
            self.events.append(event)

    def of_type(self, kind: type) -> list:  # type: ignore[type-arg]
        return [event for event in self.events if isinstance(event, kind)]


Tamper = Callable[[bytes], bytes]


class Link:
    """The wire between two ends. ``tamper[i]`` rewrites every chunk sent by end ``i``."""

    def __init__(self, a: End, b: End, *, latency: float = 0.01) -> None:
        self.ends = (a, b)
        self.latency = latency
        self.tamper: list[Tamper | None] = [None, None]
        self.cut = [False, False]  # drop everything end i sends (the stream is then broken)
        self.hold_until = [0.0, 0.0]  # deliver nothing end i sends before this time (a stall)
        self._queue: list[tuple[float, int, int, bytes]] = []
        self._order = itertools.count()

    def collect(self, now: float) -> None:
        """Take what each end wants to send and put it on the wire."""
        for index, end in enumerate(self.ends):
            end.drain()
            data = end.connection.data_to_send()
            if not data or self.cut[index]:
                continue
            tamper = self.tamper[index]
            if tamper is not None:
                data = tamper(data)
            at = max(now + self.latency, self.hold_until[index])
            heapq.heappush(self._queue, (at, next(self._order), 1 - index, data))

    def get_timer(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def handle_timer(self, now: float) -> None:
        while self._queue and self._queue[0][0] <= now:
            _, _, target, data = heapq.heappop(self._queue)
            self.deliver(self.ends[target], data, now)
        self.collect(now)

    def deliver(self, end: End, data: bytes, now: float) -> None:
        if end.error is not None:
            return
        try:
            end.connection.receive_data(data, now)
        except NoiseError as exc:
            end.error = exc
        end.drain()


class Timer:
    """A connection's own timer, collecting its output after it fires."""

    def __init__(self, end: End, link: Link) -> None:
        self.end, self.link = end, link

    def get_timer(self) -> float | None:
        return None if self.end.error else self.end.connection.get_timer()

    def handle_timer(self, now: float) -> None:
        try:
            self.end.connection.handle_timer(now)
        except NoiseError as exc:
            self.end.error = exc
        self.link.collect(now)


class Traffic:
    """Sends numbered DATA frames from one end every ``period`` seconds while established."""

    def __init__(self, end: End, link: Link, period: float, start: float) -> None:
        self.end, self.link, self.period = end, link, period
        self.next_at = start
        self.sent = 0

    def get_timer(self) -> float | None:
        return self.next_at

    def handle_timer(self, now: float) -> None:
        from hotline.session import ConnectionState

        self.next_at = now + self.period
        if self.end.connection.state is ConnectionState.ESTABLISHED:
            self.end.connection.send_data(self.sent.to_bytes(8, "big"), now)
            self.sent += 1
            self.link.collect(now)


@dataclass
class World:
    clock: VirtualClock
    link: Link
    a: End
    b: End
    timers: list[object]

    def run_for(self, seconds: float, *extra: object) -> None:
        self.clock.run_for(seconds, self.link, *self.timers, *extra)  # type: ignore[arg-type]


def connect(
    initiator: Station,
    responder: Station,
    *,
    latency: float = 0.01,
    initiator_config: dict[str, object] | None = None,
    responder_config: dict[str, object] | None = None,
    tamper: tuple[Tamper | None, Tamper | None] = (None, None),
) -> World:
    """A world where ``initiator`` has just dialled ``responder`` (nothing delivered yet)."""
    clock = VirtualClock(START)
    to_responder, to_initiator = pair(initiator, responder)
    a = End(
        "a",
        Connection.connect(
            SessionConfig(initiator.creds, to_responder, **(initiator_config or {})),  # type: ignore[arg-type]
            clock.now,
        ),
    )
    b = End(
        "b",
        Connection.accept(
            SessionConfig(responder.creds, to_initiator, **(responder_config or {})),  # type: ignore[arg-type]
            clock.now,
        ),
    )
    link = Link(a, b, latency=latency)
    link.tamper = list(tamper)
    link.collect(clock.now)
    return World(clock, link, a, b, [Timer(a, link), Timer(b, link)])


def established(initiator: Station, responder: Station, **kwargs: object) -> World:
    """A world whose first session is up on both sides."""
    world = connect(initiator, responder, **kwargs)  # type: ignore[arg-type]
    world.run_for(1.0)
    assert world.a.error is None and world.b.error is None, (world.a.error, world.b.error)
    return world
