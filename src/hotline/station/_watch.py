"""The watched line, asyncio side: alarms raised and announced, test messages sent on the hour,
people called for FLASH and IMMEDIATE messages (issue 8).

The decisions are sans-IO (:mod:`hotline.watch`): the :class:`~hotline.watch.AlarmBoard` folds
and rate-limits, a :class:`~hotline.watch.LineWatch` per line says when a line has been down
too long, a peer's test is overdue or its clock is off, :class:`~hotline.watch.Escalations`
says when an unacknowledged message escalates (kept per line by :class:`~._escalating.Escalator`).
This adapter feeds them once a second from the lines' status, the couriers' deliveries and the
operator's acknowledgements, and carries out what they decide: a log line, a hook
(:class:`~._hooks.HookRunner`), a test message queued.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from hotline.line import LineState, LineStatus
from hotline.logfmt import log_event
from hotline.record import AckBody, Envelope, Kind, Precedence
from hotline.store import Messages, Queued, StoreError, StoreThread, ToQueue
from hotline.watch import (
    Alarm,
    AlarmBoard,
    AlarmKind,
    AlarmLevel,
    LineWatch,
    clock_synchronised,
)

from ._config import WatchConfig
from ._escalating import CALLING, Escalator
from ._hooks import HookRunner

_log = logging.getLogger("hotline.watch")

#: How often the lines are looked at, seconds.
TICK: Final = 1.0
#: How often the kernel is asked whether our clock is synchronised, seconds.
CLOCK_CHECK_INTERVAL: Final = 60.0
#: Unacknowledged messages older than this when taken up (a restart, a line paired again) no
#: longer escalate (they did, or the office knows): a day, milliseconds.
ESCALATION_MEMORY_MS: Final = 86_400_000
#: This many failed looks in a row raise the ``watch_failed`` alarm (one may be a passing
#: store error; three mean alarms, tests and escalations may have stopped).
FAILURES_TO_ALARM: Final = 3
#: A look that takes longer than this (a store stuck on a disk) counts as failed, seconds.
LOOK_TIMEOUT: Final = 30.0
_LOG_LEVELS: Final = {
    AlarmLevel.FLASH: logging.CRITICAL,
    AlarmLevel.IMMEDIATE: logging.ERROR,
    AlarmLevel.ROUTINE: logging.WARNING,
}

_T = TypeVar("_T")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _queue_test(messages: Messages, *, item: ToQueue, now_ms: int) -> list[Queued]:
    return messages.queue_many([item], now_ms=now_ms)


def scheduled_test_key(line_id: bytes, peer: str, slot: int) -> str:
    """The idempotency key of the test message of interval ``slot`` on a pairing.

    A space, as no client's key holds one; a digest of the line and the peer's name, as a
    name may be 64 bytes long (keys are at most 64) and a card paired again under another
    name must not collide with the test it sent under the first (that is another message).
    """
    pairing = hashlib.sha512(line_id + peer.encode("utf-8")).digest()[:16]
    return f"test {pairing.hex()} {slot}"


def _receipted(messages: Messages, *, message_id: str) -> bool:
    return messages.receipted(message_id)


@dataclass(frozen=True, slots=True)
class LastAck:
    """The peer's latest acknowledgement: who, of our message number what, when (their
    clock, UTC ms)."""

    operator: str
    seq: int
    at_ms: int


@dataclass(slots=True)
class _TestSent:
    """Our latest test message to a peer: its key (naming the interval), its id, when it must
    be receipted, and whether it was."""

    key: str
    id: str
    due_ms: int
    receipted: bool = False


class StationWatch:
    """The station's alarms, test messages and escalations. Implements the courier's
    :class:`~._courier.Watcher`.

    Args:
        station: this station's name.
        config: ``[watch]``.
        store: the store's thread (test messages, acknowledgements).
        hooks: runs ``on_alarm``, ``on_message``, ``on_escalation``.
        lines: the lines' status, now.
        line_ids: the active pairings, peer name -> line id.
        queued: told the line id of a test message queued (its courier sends it).
        skew_bound_ms: the clock skew that raises the alarm.
    """

    def __init__(
        self,
        *,
        station: str,
        config: WatchConfig,
        store: StoreThread,
        hooks: HookRunner,
        lines: Callable[[], Sequence[LineStatus]],
        line_ids: Callable[[], Mapping[str, bytes]],
        queued: Callable[[bytes], None],
        skew_bound_ms: int,
    ) -> None:
        self._station = station
        self._config = config
        self._store = store
        self._hooks = hooks
        self._lines = lines
        self._line_ids = line_ids
        self._queued = queued
        self._skew_bound_ms = skew_bound_ms
        self.board = AlarmBoard()
        self._watches: dict[str, LineWatch] = {}
        self.escalator = Escalator(
            config=config, hooks=hooks, board=self.board, raise_alarm=self._raise
        )
        #: Whether what the store remembers (tests, acknowledgements) was read.
        self._restored = False
        #: Whether a look has been made (a line watched from then on is new: paired since).
        self._looked = False
        #: The store's failure in the current look, if any.
        self._store_failure: StoreError | None = None
        #: When each peer's latest test message was stored here.
        self._last_test_in: dict[str, int] = {}
        #: Our latest test message to each peer.
        self._test_out: dict[str, _TestSent] = {}
        #: The latest acknowledgement each peer's operator sent us.
        self._last_ack: dict[str, LastAck] = {}
        #: The lines a test message was ever queued on (before this start, too).
        self._tested: set[bytes] = set()
        #: The conditions each alarm of a peer stands for ("in", "out" for tests).
        self._conditions: dict[tuple[AlarmKind, str | None], set[str]] = {}
        self._started_at_ms = _now_ms()
        #: Per peer, messages not yet receipted and when the oldest was queued (each tick).
        self.outbox: dict[str, tuple[int, int]] = {}
        #: Whether the kernel says our clock is synchronised (None: it cannot tell, or unchecked).
        self.clock_synchronised: bool | None = None

    # --- What the couriers and the desk report ------------------------------------------------
    def alarm(self, kind: AlarmKind, peer: str | None, text: str) -> None:
        """An event the courier saw (a damaged record, a receipt timed out of bounds, a halt).

        It is raised, and over at once unless it is a halt (which lasts until the operator's
        ``resume``) or a watched condition of that kind holds: the alarm stays shown until an
        operator acknowledges it, and the next such event opens it again instead of being
        folded into an alarm already acknowledged.
        """
        if peer is not None and peer not in self._line_ids():
            return  # the report of a line just unpaired, still stopping
        now = _now_ms()
        self._raise(kind, peer, text, now)
        if kind is not AlarmKind.HALTED and not self._conditions.get((kind, peer)):
            self.board.clear(kind, peer, now)

    def _raise(self, kind: AlarmKind, peer: str | None, text: str, now: int) -> None:
        """Raise an alarm; announce it unless the board folds it."""
        announced = self.board.raise_alarm(kind, peer, text, now)
        if announced is not None:
            self._announce(announced)

    def delivered(self, peer: str, stored: Sequence[tuple[str, Envelope]], at_ms: int) -> None:
        """The peer's envelopes were stored: note its tests and acknowledgements, call people
        for urgent messages."""
        line_id = self._line_ids().get(peer)
        if line_id is None:
            return  # the report of a line just unpaired, still stopping
        for message_id, envelope in stored:
            header = envelope.header
            if header.line_id != line_id:
                continue  # the report of a line replaced (new keys), still stopping
            if header.kind is Kind.TEST:
                self._last_test_in[peer] = at_ms
            elif isinstance(envelope.body, AckBody):
                self._last_ack[peer] = LastAck(
                    envelope.body.operator, envelope.body.acked.seq, header.sequenced_at_ms
                )
            elif header.kind is Kind.MESSAGE and header.precedence in CALLING:
                self.escalator.arrived(message_id, peer, envelope, at_ms)

    def acknowledged(self, message_id: str, operator: str) -> None:
        """An operator here acknowledged a received message: see
        :meth:`~._escalating.Escalator.acknowledged`."""
        self.escalator.acknowledged(message_id, operator, _now_ms())

    def resumed(self, peer: str) -> None:
        """The operator lifted the line's halts."""
        self.board.clear(AlarmKind.HALTED, peer, _now_ms())

    def last_ack(self, peer: str) -> LastAck | None:
        """The latest acknowledgement of one of our messages by the peer's operator."""
        return self._last_ack.get(peer)

    def last_tests(self, peer: str) -> tuple[int | None, int | None]:
        """When the peer's latest test message arrived, and when our latest to it was queued."""
        sent = self._test_out.get(peer)
        grace = round(self._config.test_grace_s * 1000)
        return self._last_test_in.get(peer), None if sent is None else sent.due_ms - grace

    # --- Running ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Look at the lines every second, for ever (the first look takes up what the store
        remembers)."""
        next_clock_check = 0.0
        failures = 0
        while True:
            try:
                next_clock_check = await self._look(next_clock_check)
            except Exception as exc:  # a bug in one look must not blind the station for good
                failures += 1
                log_event(_log, logging.CRITICAL, "watch failed", error=repr(exc), times=failures)
                _log.debug("watch failed", exc_info=True)
                standing = self.board.standing(AlarmKind.WATCH_FAILED, None)
                if failures >= FAILURES_TO_ALARM and standing is None:
                    self._failing(
                        f"the station's watch failed {failures} times in a row ({exc!r}):"
                        " alarms, test messages and escalations may have stopped; see the log"
                    )
            else:
                if failures >= FAILURES_TO_ALARM:
                    self._failing(None)
                failures = 0
            await asyncio.sleep(TICK)

    def _failing(self, text: str | None) -> None:
        """Raise or clear ``watch_failed``; the board may be what fails, so never raise."""
        try:
            self._condition(AlarmKind.WATCH_FAILED, None, "tick", text, _now_ms())
        except Exception as exc:
            log_event(_log, logging.CRITICAL, "watch cannot raise its alarm", error=repr(exc))

    async def _look(self, next_clock_check: float) -> float:
        """Look once, in bounded time; a store that failed meanwhile fails the look."""
        self._store_failure = None
        try:
            next_clock_check = await asyncio.wait_for(self._tick(next_clock_check), LOOK_TIMEOUT)
        except TimeoutError:
            raise TimeoutError(f"a look took over {LOOK_TIMEOUT:g} s (the store?)") from None
        if self._store_failure is not None:
            raise self._store_failure
        return next_clock_check

    async def _restore(self) -> None:
        """Take up what the store remembers of tests and acknowledgements (again at the next
        look if the store failed)."""
        tests = await self._call(lambda messages: messages.last_tests())
        tested = await self._call(lambda messages: messages.lines_tested())
        acks = await self._call(lambda messages: messages.acks_received(latest_only=True))
        if tests is None or tested is None or acks is None:
            return
        self._last_test_in = tests | self._last_test_in
        self._tested |= tested
        for ack in acks:
            self._last_ack.setdefault(ack.peer, LastAck(ack.operator, ack.seq, ack.acked_at_ms))
        self._restored = True

    async def _tick(self, next_clock_check: float) -> float:
        """Look once; return when the clock is next to be checked (monotonic seconds)."""
        now = _now_ms()
        # What needs no store first: a store that hangs must not stop escalations and
        # line_down (the look's timeout then says the rest failed).
        new = self._follow_pairings(now)
        self._watch_lines(now)
        self.escalator.escalate_due(now)
        if self._config.clock_sync_check and time.monotonic() >= next_clock_check:
            next_clock_check = time.monotonic() + CLOCK_CHECK_INTERVAL
            self._check_clock(now)
        if not self._restored:
            await self._restore()
        self.outbox = await self._call(lambda messages: messages.outbox_summary()) or {}
        if new:
            await self._take_up(new, now)
        await self._send_tests(now)
        return next_clock_check

    def _follow_pairings(self, now: int) -> frozenset[bytes]:
        """Follow pair and unpair: a line gone takes its unacknowledged messages with it (they
        can no longer be acknowledged); a peer gone, whatever stood for it (over, still
        listed until acknowledged). Return the lines new here, or back, whose unacknowledged
        messages are to be taken up (at the first look: every line's)."""
        paired = self._line_ids()
        new = self.escalator.follow(frozenset(paired.values()), now)
        peers = {*self._watches, *self._test_out}
        peers |= {alarm.peer for alarm in self.board.alarms() if alarm.active and alarm.peer}
        for peer in peers - paired.keys():
            self._watches.pop(peer, None)
            self._test_out.pop(peer, None)
            for key in [key for key in self._conditions if key[1] == peer]:
                del self._conditions[key]
            for alarm in self.board.alarms():
                if alarm.peer == peer:
                    self.board.clear(alarm.kind, peer, now)
            log_event(_log, logging.INFO, "unpaired peer's alarms over", peer=peer)
        return new

    async def _take_up(self, lines: frozenset[bytes], now: int) -> None:
        """Take up the unacknowledged urgent messages of ``lines`` from the store (again at
        the next look if it failed)."""
        since = now - ESCALATION_MEMORY_MS
        rows = await self._call(lambda messages: messages.awaiting_ack(since_ms=since))
        if rows is None:
            return
        # Only the lines still paired now, under their names now: one unpaired meanwhile has
        # messages nobody can acknowledge.
        names = {line_id: peer for peer, line_id in self._line_ids().items()}
        self.escalator.take_up(rows, names, lines & names.keys(), now)

    def _watch_lines(self, now: int) -> None:
        for status in self._lines():
            watch = self._watches.get(status.peer)
            if watch is None:  # a line paired since the first look is given its own time
                watch = self._watches[status.peer] = LineWatch(
                    status.peer,
                    down_after_ms=round(self._config.line_down_after_s * 1000),
                    test_interval_ms=round(self._config.test_interval_s * 1000),
                    test_grace_ms=round(self._config.test_grace_s * 1000),
                    skew_bound_ms=self._skew_bound_ms,
                    started_at_ms=now if self._looked else self._started_at_ms,
                )
            offset = status.clock_offset_ms
            changes = watch.observe(
                now,
                up=status.state is LineState.UP,
                clock_offset_ms=None if offset is None else round(offset),
                last_test_at_ms=self._last_test_in.get(status.peer),
            )
            for kind, text in changes:
                self._condition(kind, status.peer, "in", text, now)
        self._looked = True

    def _condition(
        self, kind: AlarmKind, peer: str | None, which: str, text: str | None, now: int
    ) -> None:
        """One condition behind an alarm starts (``text``) or ends (None); the alarm stands
        while any of its conditions holds (ours and the peer's test messages share one)."""
        holding = self._conditions.setdefault((kind, peer), set())
        if text is not None:
            holding.add(which)
            self._raise(kind, peer, text, now)
        elif which in holding:
            holding.discard(which)
            if not holding:
                self.board.clear(kind, peer, now)

    async def _send_tests(self, now: int) -> None:
        """Queue this interval's test message to each peer (once: its key names the
        interval), and watch that the latest was receipted within the grace. On a new line
        the first goes at the first interval that starts after the station did (on the hour,
        by default); on a line tested before, a restart sends this interval's at once, if it
        is not queued yet (a station down at the boundary must not skip an hour)."""
        interval = round(self._config.test_interval_s * 1000)
        grace = round(self._config.test_grace_s * 1000)
        slot = now // interval
        first_slot = slot == self._started_at_ms // interval
        for peer, line_id in self._line_ids().items():
            if first_slot and line_id not in self._tested:
                continue
            key = scheduled_test_key(line_id, peer, slot)
            latest = self._test_out.get(peer)
            if latest is None or latest.key != key:
                text = (
                    f"Test message from {self._station} to {peer} (every {interval // 1000:,} s)."
                )
                item = ToQueue(line_id, peer, Precedence.ROUTINE, text, key, kind=Kind.TEST)
                queued = await self._call(functools.partial(_queue_test, item=item, now_ms=now))
                if queued is None:
                    continue
                message = queued[0].message
                self._tested.add(line_id)
                if queued[0].created:
                    self._queued(line_id)
                    log_event(_log, logging.INFO, "test message queued", peer=peer, id=message.id)
                latest = self._test_out[peer] = _TestSent(
                    key, message.id, message.queued_at_ms + grace
                )
            if latest.receipted or now < latest.due_ms:
                continue
            receipted = await self._call(functools.partial(_receipted, message_id=latest.id))
            if receipted is None:
                continue
            latest.receipted = receipted
            late = (
                f"our test message to {peer} is not receipted {grace // 1000:,} s after it was sent"
            )
            self._condition(AlarmKind.TEST_OVERDUE, peer, "out", None if receipted else late, now)

    def _check_clock(self, now: int) -> None:
        synchronised = self.clock_synchronised = clock_synchronised()
        if synchronised is False:
            self._condition(
                AlarmKind.CLOCK_UNSYNCED,
                None,
                "kernel",
                "the kernel says this station's clock is not synchronised (NTP): its times in"
                " the record may be wrong",
                now,
            )
        elif synchronised:
            self._condition(AlarmKind.CLOCK_UNSYNCED, None, "kernel", None, now)

    def _announce(self, alarm: Alarm) -> None:
        log_event(
            _log,
            _LOG_LEVELS[alarm.level],
            "alarm raised",
            id=alarm.id,
            kind=str(alarm.kind),
            severity=str(alarm.level),
            peer=alarm.peer or "-",
            text=alarm.text,
        )
        command = self._config.hook("on_alarm")
        if command is not None:
            self._hooks.fire(
                command,
                [str(alarm.id), str(alarm.kind), str(alarm.level), alarm.peer or "-", alarm.text],
                {"HOTLINE_EVENT": "alarm"},
            )

    async def _call(self, job: Callable[[Messages], _T]) -> _T | None:
        """Run ``job`` in the store's thread; a store failure is logged and gives None."""
        try:
            return await asyncio.wrap_future(self._store.submit(job))
        except StoreError as exc:
            log_event(_log, logging.ERROR, "store failed (watch)", error=exc)
            self._store_failure = exc
            return None
