"""The station's watch without a daemon: what the couriers report becomes alarms an operator
sees again after acknowledging, and a flood of urgent messages escalates rather than vanish."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any, cast

import pytest

from hotline.line import LineState, LineStatus
from hotline.record import Envelope, Precedence
from hotline.station import _watch as _station_watch
from hotline.station._config import WatchConfig
from hotline.station._hooks import HookCommand, HookRunner
from hotline.station._watch import StationWatch, scheduled_test_key
from hotline.store import StoreError, StoreThread, ToQueue
from hotline.watch import AlarmKind, _escalations

from ..record.helpers import LINE_ID, build_chain

NOW = 1_800_000_000_000
OTHER_LINE = bytes(range(64, 128))


def _watch(
    config: WatchConfig | None = None,
    paired: dict[str, bytes] | None = None,
    lines: Callable[[], list[LineStatus]] = list,
) -> StationWatch:
    paired = {"moscow": LINE_ID} if paired is None else paired
    return StationWatch(
        station="jerusalem",
        config=config or WatchConfig(),
        store=cast(StoreThread, None),  # alarms and deliveries never touch the store
        hooks=HookRunner(log=logging.getLogger("hotline.test.watch"), station="jerusalem"),
        lines=lines,
        line_ids=lambda: paired,
        queued=lambda line_id: None,
        skew_bound_ms=2_000,
    )


def _flashes(count: int, line_id: bytes = LINE_ID) -> list[tuple[str, Envelope]]:
    """``count`` FLASH envelopes of ``line_id``, with made-up message ids."""
    return [
        (
            f"{line_id[0]:02x}{e.seq:030x}",
            dataclasses.replace(
                e, header=dataclasses.replace(e.header, precedence=Precedence.FLASH)
            ),
        )
        for e in build_chain(count, line_id=line_id)
    ]


def _open(watch: StationWatch, kind: AlarmKind) -> list[tuple[bool, bool]]:
    """(active, acknowledged) of the open alarms of ``kind``."""
    return [(a.active, a.acknowledged) for a in watch.board.alarms() if a.kind is kind]


@pytest.mark.parametrize("kind", [AlarmKind.RECORD, AlarmKind.CLOCK_SKEW])
def test_an_event_alarm_acknowledged_comes_back_at_the_next_event(kind: AlarmKind) -> None:
    watch = _watch()
    watch.alarm(kind, "moscow", "the receipt of #7 is timed outside the clocks' bound")
    assert _open(watch, kind) == [(False, False)]  # over at once, shown until acknowledged
    (alarm,) = watch.board.alarms()
    watch.board.ack(alarm.id, "Col. Levi", alarm.raised_at_ms)
    assert _open(watch, kind) == []
    watch.alarm(kind, "moscow", "the receipt of #9 is timed outside the clocks' bound")
    assert _open(watch, kind) == [(False, False)]
    assert watch.board.alarms()[0].text.startswith("the receipt of #9")


def test_an_event_does_not_end_a_skew_the_pings_still_measure() -> None:
    watch = _watch()
    now = 1_800_000_000_000
    watch._condition(AlarmKind.CLOCK_SKEW, "moscow", "in", "moscow's clock is 5,000 ms ahead", now)
    watch.alarm(AlarmKind.CLOCK_SKEW, "moscow", "the receipt of #3 is timed outside the bound")
    assert _open(watch, AlarmKind.CLOCK_SKEW) == [(True, False)]
    watch._condition(AlarmKind.CLOCK_SKEW, "moscow", "in", None, now + 1)
    assert _open(watch, AlarmKind.CLOCK_SKEW) == [(False, False)]


def test_a_halt_stands_until_the_operator_resumes() -> None:
    watch = _watch()
    watch.alarm(AlarmKind.HALTED, "moscow", "direction in halted: BAD_SIGNATURE at #4")
    (alarm,) = watch.board.alarms()
    watch.board.ack(alarm.id, "Col. Levi", alarm.raised_at_ms)
    assert [(a.active, a.acknowledged) for a in watch.board.alarms()] == [(True, True)]
    watch.resumed("moscow")
    assert watch.board.alarms() == ()


def test_urgent_messages_pushed_out_by_the_bound_escalate_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_escalations, "MAX_WAITING", 3)
    watch = _watch()
    stored = _flashes(5)
    watch.delivered("moscow", stored, NOW)
    first, second = stored[0][0], stored[1][0]
    assert watch.escalator.escalated("moscow") == {first: LINE_ID, second: LINE_ID}
    (alarm,) = [a for a in watch.board.alarms() if a.kind is AlarmKind.UNACKNOWLEDGED]
    assert alarm.active and alarm.count == 2
    watch.acknowledged(first, "Col. Levi")
    assert watch.board.standing(AlarmKind.UNACKNOWLEDGED, "moscow")
    watch.acknowledged(second, "Col. Levi")
    # over, and acknowledged by whoever acknowledged the messages: nothing left to do
    (closed,) = watch.board.alarms(include_closed=True)
    assert (closed.active, closed.acked_by) == (False, "Col. Levi")
    assert watch.board.alarms() == ()


def test_reports_of_a_line_no_longer_paired_are_ignored() -> None:
    watch = _watch(paired={"moscow": OTHER_LINE})  # paired again since, with new keys
    watch.delivered("moscow", _flashes(2), NOW)  # the old line's courier, still stopping
    watch.delivered("minsk", _flashes(1), NOW)  # unpaired
    watch.alarm(AlarmKind.HALTED, "minsk", "direction in halted")
    assert len(watch.escalator) == 0 and watch.board.alarms() == ()


class _Store:
    """Runs each store job at once on a stand-in for :class:`hotline.store.Messages`."""

    def __init__(self, tested: set[bytes]) -> None:
        self.tested = tested
        self.keys: list[str] = []
        self.awaiting: list[tuple[str, bytes, int, int, int]] = []
        self.failing = False

    def submit(self, job: Callable[[Any], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        if self.failing:
            future.set_exception(StoreError("disk I/O error"))
        else:
            future.set_result(job(self))
        return future

    def outbox_summary(self) -> dict[str, tuple[int, int]]:
        return {}

    def queue_many(self, items: list[ToQueue], *, now_ms: int) -> list[SimpleNamespace]:
        (item,) = items
        created = item.idempotency_key not in self.keys
        self.keys.append(item.idempotency_key)
        message = SimpleNamespace(id=f"{len(self.keys):032x}", queued_at_ms=now_ms)
        return [SimpleNamespace(message=message, created=created)]

    def receipted(self, message_id: str) -> bool:
        return True

    def last_tests(self) -> dict[str, int]:
        return {}

    def lines_tested(self) -> set[bytes]:
        return self.tested

    def acks_received(self, *, latest_only: bool) -> list[Any]:
        return []

    def awaiting_ack(self, *, since_ms: int) -> list[tuple[str, bytes, int, int, int]]:
        return [row for row in self.awaiting if row[4] >= since_ms]


@pytest.mark.parametrize("tested_before", [False, True])
async def test_a_restart_sends_this_intervals_test_only_on_a_line_tested_before(
    tested_before: bool,
) -> None:
    line_id = bytes(range(64))
    store = _Store({line_id} if tested_before else set())
    watch = _watch()
    watch._store = cast(StoreThread, store)
    watch._line_ids = lambda: {"moscow": line_id}
    watch._tested = store.tested
    interval = 3_600_000
    watch._started_at_ms = 1_800_000_000_000 // interval * interval + 5  # just after the hour
    now = watch._started_at_ms + 1
    await watch._send_tests(now)
    await watch._send_tests(now + 1)  # this interval's is queued once
    slot = now // interval
    assert store.keys == ([scheduled_test_key(line_id, "moscow", slot)] if tested_before else [])
    await watch._send_tests((slot + 1) * interval)  # the next interval's goes on every line
    assert store.keys[-1] == scheduled_test_key(line_id, "moscow", slot + 1)


def test_a_card_paired_again_under_another_name_gets_its_own_test_keys() -> None:
    line_id = bytes(range(64))
    keys = {scheduled_test_key(line_id, name, 10**12) for name in ("moscow", "moskva", "m" * 64)}
    assert len(keys) == 3 and all(len(key) <= 64 and key.startswith("test ") for key in keys)


async def _follow(watch: StationWatch, now: int) -> None:
    """What a look does about pairings."""
    new = watch._follow_pairings(now)
    if new:
        await watch._take_up(new, now)


def _hooked(watch: StationWatch, fired: list[tuple[str, list[str]]]) -> None:
    watch._hooks.fire = lambda command, args, env: fired.append((env["HOTLINE_EVENT"], args))  # type: ignore[method-assign]


_HOOKS = WatchConfig(
    on_alarm=HookCommand(("/usr/local/bin/alarm",)),
    on_escalation=HookCommand(("/usr/local/bin/escalation",)),
)


async def test_a_restart_does_not_call_everyone_again_for_old_unacknowledged_messages() -> None:
    after = round(WatchConfig().escalate_after_s * 1000)
    store = _Store(set())
    store.awaiting = [
        (f"{seq:032x}", LINE_ID, seq, int(Precedence.IMMEDIATE), NOW - 3 * after + seq)
        for seq in range(1, 3)
    ]
    store.awaiting += [
        (f"{seq:032x}", LINE_ID, seq, int(Precedence.FLASH), NOW - 2 * after + seq)
        for seq in range(3, 8)
    ] + [(f"{99:032x}", LINE_ID, 99, int(Precedence.FLASH), NOW - after // 2)]
    # a message from a station unpaired since: nobody can acknowledge it any more
    store.awaiting.append((f"{7:032x}" * 2, OTHER_LINE, 1, int(Precedence.FLASH), NOW - 2 * after))
    fired: list[tuple[str, list[str]]] = []
    watch = _watch(_HOOKS)
    watch._store = cast(StoreThread, store)
    _hooked(watch, fired)
    await _follow(watch, NOW)
    (alarm,) = watch.board.alarms()
    assert alarm.kind is AlarmKind.UNACKNOWLEDGED and alarm.active and alarm.peer == "moscow"
    assert alarm.text.startswith("7 FLASH or IMMEDIATE message(s) from moscow not acknowledged")
    # one person called for the peer (its oldest FLASH message: perhaps never escalated, as
    # the station was down), one alarm announced; not one call per message
    assert [event for event, _ in fired] == ["escalation", "alarm"]
    assert fired[0][1] == [f"{3:032x}", "moscow", "flash", "3"]
    # the recent one still has its time, then escalates on its own
    assert len(watch.escalator) == 1
    await _follow(watch, NOW + 1)  # taken up once
    assert len(fired) == 2
    for seq in range(1, 8):
        watch.acknowledged(f"{seq:032x}", "Lt. Cohen")
    assert not watch.board.standing(AlarmKind.UNACKNOWLEDGED, "moscow")


async def test_unpairing_a_peer_ends_what_stood_for_it_and_pairing_it_again_takes_it_up() -> None:
    paired = {"moscow": LINE_ID, "minsk": OTHER_LINE}
    watch = _watch(paired=paired)
    watch.escalator.take_up([], {}, paired.values(), NOW)  # taken up at the first look
    store = _Store(set())
    watch._store = cast(StoreThread, store)
    moscow, minsk = _flashes(1), _flashes(1, OTHER_LINE)
    watch.delivered("moscow", moscow, NOW)
    watch.delivered("minsk", minsk, NOW)
    after = round(WatchConfig().escalate_after_s * 1000)
    watch.escalator.escalate_due(NOW + after)
    watch._condition(AlarmKind.LINE_DOWN, "moscow", "in", "line to moscow down for 31 s", NOW)
    assert {(a.kind, a.peer) for a in watch.board.alarms() if a.active} == {
        (AlarmKind.UNACKNOWLEDGED, "moscow"),
        (AlarmKind.UNACKNOWLEDGED, "minsk"),
        (AlarmKind.LINE_DOWN, "moscow"),
    }
    del paired["moscow"]
    await _follow(watch, NOW + after + 1)
    assert {(a.kind, a.peer) for a in watch.board.alarms() if a.active} == {
        (AlarmKind.UNACKNOWLEDGED, "minsk")
    }
    # over, still listed until acknowledged; nothing of moscow's escalates or stands again
    assert {a.peer for a in watch.board.alarms()} == {"moscow", "minsk"}
    assert not watch.escalator.escalated("moscow") and not watch._conditions.get(
        (AlarmKind.LINE_DOWN, "moscow")
    )
    # the same card paired again: its message can be acknowledged again, so it stands again
    paired["moscow"] = LINE_ID
    store.awaiting = [(moscow[0][0], LINE_ID, 1, int(Precedence.FLASH), NOW)]
    await _follow(watch, NOW + after + 2)
    assert watch.board.standing(AlarmKind.UNACKNOWLEDGED, "moscow")
    assert watch.escalator.escalated("moscow") == {moscow[0][0]: LINE_ID}


async def test_a_peer_paired_again_with_new_keys_leaves_the_old_lines_messages_behind() -> None:
    paired = {"moscow": LINE_ID}
    watch = _watch(_HOOKS, paired=paired)
    fired: list[tuple[str, list[str]]] = []
    _hooked(watch, fired)
    watch.escalator.take_up([], {}, paired.values(), NOW)
    watch._store = cast(StoreThread, _Store(set()))
    watch.delivered("moscow", _flashes(2), NOW)
    after = round(WatchConfig().escalate_after_s * 1000)
    watch.escalator.escalate_due(NOW + after)
    assert watch.board.standing(AlarmKind.UNACKNOWLEDGED, "moscow")
    paired["moscow"] = OTHER_LINE  # pair --replace: the old line's messages cannot be acked
    await _follow(watch, NOW + after + 1)
    assert not watch.board.standing(AlarmKind.UNACKNOWLEDGED, "moscow")
    # the new line's urgent messages escalate and are announced, not folded into the old
    fired.clear()
    watch.delivered("moscow", _flashes(1, OTHER_LINE), NOW + 2 * after)
    watch.escalator.escalate_due(NOW + 3 * after)
    assert [event for event, _ in fired] == ["escalation", "alarm"]


def test_a_line_paired_while_serving_is_watched_from_then() -> None:
    def status(peer: str) -> LineStatus:
        return LineStatus(peer, LineState.CONNECTING, None, None, None, None, None, None, 0)

    statuses = [status("moscow")]
    watch = _watch(lines=lambda: statuses)
    watch._started_at_ms = NOW
    hours = 10 * 3_600_000
    assert watch._watch_lines(NOW + 1) is None
    statuses.append(status("minsk"))  # paired ten hours after the start, still dialling
    watch._watch_lines(NOW + hours)
    assert {a.peer for a in watch.board.alarms()} == {"moscow"}  # moscow's line is down
    watch._watch_lines(NOW + hours + 31_000)
    assert {a.peer for a in watch.board.alarms()} == {"moscow", "minsk"}


async def test_a_watch_that_keeps_failing_raises_its_own_alarm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_station_watch, "TICK", 0.001)
    watch = _watch()
    store = _Store(set())
    store.failing = True  # what fails first is most likely the disk
    watch._store = cast(StoreThread, store)
    task = asyncio.create_task(watch.run())
    try:
        while not watch.board.standing(AlarmKind.WATCH_FAILED, None):
            await asyncio.sleep(0.001)
        alarm = watch.board.standing(AlarmKind.WATCH_FAILED, None)
        assert alarm is not None and alarm.level == "flash"
        assert "failed 3 times in a row" in alarm.text
        assert "disk I/O error" in alarm.text
        store.failing = False
        while watch.board.standing(AlarmKind.WATCH_FAILED, None):
            await asyncio.sleep(0.001)
        assert watch._restored  # what the store remembers was read once it could be
    finally:
        task.cancel()


async def test_a_look_that_hangs_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_station_watch, "LOOK_TIMEOUT", 0.01)
    watch = _watch()

    async def hang(next_clock_check: float) -> float:
        await asyncio.sleep(10)
        return next_clock_check

    monkeypatch.setattr(watch, "_tick", hang)
    with pytest.raises(TimeoutError, match="a look took over"):
        await watch._look(0.0)


class _HungStore:
    """A store thread stuck on its disk: no job ever finishes."""

    def submit(self, job: Callable[[Any], Any]) -> Future[Any]:
        return Future()


async def test_a_hung_store_does_not_stop_escalations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_station_watch, "LOOK_TIMEOUT", 0.05)
    watch = _watch(WatchConfig(clock_sync_check=False))
    watch._store = cast(StoreThread, _HungStore())
    after = round(WatchConfig().escalate_after_s * 1000)
    watch.delivered("moscow", _flashes(1), _station_watch._now_ms() - after)
    with pytest.raises(TimeoutError, match="a look took over"):
        await watch._look(0.0)
    # the look failed at the store, after what needs none: the FLASH escalated
    assert watch.board.standing(AlarmKind.UNACKNOWLEDGED, "moscow")


def test_a_line_replaced_before_its_messages_were_taken_up_takes_them_along() -> None:
    paired = {"moscow": LINE_ID}
    watch = _watch(paired=paired)  # the first look's take-up has not succeeded yet
    watch.delivered("moscow", _flashes(2), NOW)
    paired["moscow"] = OTHER_LINE
    assert watch._follow_pairings(NOW + 1) == {OTHER_LINE}
    assert len(watch.escalator) == 0


async def test_a_line_unpaired_while_its_messages_are_read_is_not_taken_up() -> None:
    paired = {"moscow": LINE_ID}
    watch = _watch(paired=paired)
    after = round(WatchConfig().escalate_after_s * 1000)

    class Unpairing(_Store):
        def awaiting_ack(self, *, since_ms: int) -> list[tuple[str, bytes, int, int, int]]:
            del paired["moscow"]  # hotline unpair, while the store reads
            return [(f"{1:032x}", LINE_ID, 1, int(Precedence.FLASH), NOW - 2 * after)]

    watch._store = cast(StoreThread, Unpairing(set()))
    await _follow(watch, NOW)
    assert watch.board.alarms() == () and not watch.escalator.escalated("moscow")
