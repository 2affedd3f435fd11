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

from hotline.record import Precedence
from hotline.station import _watch as _station_watch
from hotline.station._config import WatchConfig
from hotline.station._hooks import HookCommand, HookRunner
from hotline.station._watch import StationWatch, scheduled_test_key
from hotline.store import StoreThread, ToQueue
from hotline.watch import AlarmKind, _escalations

from ..record.helpers import build_chain


def _watch(config: WatchConfig | None = None) -> StationWatch:
    return StationWatch(
        station="jerusalem",
        config=config or WatchConfig(),
        store=cast(StoreThread, None),  # alarms and deliveries never touch the store
        hooks=HookRunner(log=logging.getLogger("hotline.test.watch"), station="jerusalem"),
        lines=list,
        line_ids=dict,
        queued=lambda line_id: None,
        skew_bound_ms=2_000,
    )


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
    stored = [
        (
            f"{e.seq:032x}",
            dataclasses.replace(
                e, header=dataclasses.replace(e.header, precedence=Precedence.FLASH)
            ),
        )
        for e in build_chain(5)
    ]
    watch.delivered("moscow", stored, 1_800_000_000_000)
    assert watch._escalated == {"moscow": {f"{1:032x}", f"{2:032x}"}}
    (alarm,) = [a for a in watch.board.alarms() if a.kind is AlarmKind.UNACKNOWLEDGED]
    assert alarm.active and alarm.count == 2
    watch.acknowledged(f"{1:032x}")
    watch.acknowledged(f"{2:032x}")
    assert not watch.board.standing(AlarmKind.UNACKNOWLEDGED, "moscow")


class _Store:
    """Runs each store job at once on a stand-in for :class:`hotline.store.Messages`."""

    def __init__(self, tested: set[bytes]) -> None:
        self.tested = tested
        self.keys: list[str] = []
        self.awaiting: list[tuple[str, str, int, int, int]] = []

    def submit(self, job: Callable[[Any], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(job(self))
        return future

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

    def awaiting_ack(self, *, since_ms: int) -> list[tuple[str, str, int, int, int]]:
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


async def test_a_restart_does_not_call_everyone_again_for_old_unacknowledged_messages() -> None:
    now = 1_800_000_000_000
    after = round(WatchConfig().escalate_after_s * 1000)
    store = _Store(set())
    store.awaiting = [
        (f"{seq:032x}", "moscow", seq, int(Precedence.FLASH), now - 2 * after + seq)
        for seq in range(1, 8)
    ] + [(f"{99:032x}", "moscow", 99, int(Precedence.FLASH), now - after // 2)]
    # a message from a station unpaired since: nobody can acknowledge it any more
    store.awaiting.append((f"{7:032x}" * 2, "minsk", 1, int(Precedence.FLASH), now - 2 * after))
    fired: list[tuple[str, list[str]]] = []
    hooks = {name: HookCommand((f"/usr/local/bin/{name}",)) for name in ("alarm", "escalation")}
    watch = _watch(WatchConfig(on_alarm=hooks["alarm"], on_escalation=hooks["escalation"]))
    watch._store = cast(StoreThread, store)
    watch._line_ids = lambda: {"moscow": bytes(64)}
    watch._hooks.fire = lambda command, args, env: fired.append((env["HOTLINE_EVENT"], args))  # type: ignore[method-assign]
    await watch._restore(now)
    (alarm,) = watch.board.alarms()
    assert alarm.kind is AlarmKind.UNACKNOWLEDGED and alarm.active and alarm.peer == "moscow"
    assert alarm.text.startswith("7 FLASH or IMMEDIATE message(s) from moscow")
    # one person called for the peer (its oldest message: perhaps never escalated, as the
    # station was down), one alarm announced; not one call per message
    assert [event for event, _ in fired] == ["escalation", "alarm"]
    assert fired[0][1] == [f"{1:032x}", "moscow", "flash", "1"]
    # the recent one still has its time, then escalates on its own
    assert len(watch._escalations) == 1
    for seq in range(1, 8):
        watch.acknowledged(f"{seq:032x}")
    assert not watch.board.standing(AlarmKind.UNACKNOWLEDGED, "moscow")


def test_unpairing_a_peer_ends_what_stood_for_it() -> None:
    watch = _watch()
    paired = {"moscow": bytes(64), "minsk": bytes(range(64))}
    watch._line_ids = lambda: paired
    now = 1_800_000_000_000
    stored = [
        (
            f"{e.seq:032x}",
            dataclasses.replace(
                e, header=dataclasses.replace(e.header, precedence=Precedence.FLASH)
            ),
        )
        for e in build_chain(2)
    ]
    watch.delivered("moscow", stored[:1], now)
    watch.delivered("minsk", [(f"{9:032x}", stored[1][1])], now)
    after = round(WatchConfig().escalate_after_s * 1000)
    watch._escalate(watch._escalations.due(now + after), now + after)
    watch._condition(AlarmKind.LINE_DOWN, "moscow", "in", "line to moscow down for 31 s", now)
    assert {(a.kind, a.peer) for a in watch.board.alarms() if a.active} == {
        (AlarmKind.UNACKNOWLEDGED, "moscow"),
        (AlarmKind.UNACKNOWLEDGED, "minsk"),
        (AlarmKind.LINE_DOWN, "moscow"),
    }
    del paired["moscow"]
    watch._forget_unpaired(now + after + 1)
    assert {(a.kind, a.peer) for a in watch.board.alarms() if a.active} == {
        (AlarmKind.UNACKNOWLEDGED, "minsk")
    }
    # over, still listed until acknowledged; nothing of moscow's escalates or stands again
    assert {a.peer for a in watch.board.alarms()} == {"moscow", "minsk"}
    assert "moscow" not in watch._escalated and not watch._conditions.get(
        (AlarmKind.LINE_DOWN, "moscow")
    )


async def test_a_watch_that_keeps_failing_raises_its_own_alarm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_station_watch, "TICK", 0.001)
    watch = _watch()
    failing = True

    async def tick(next_clock_check: float) -> float:
        if failing:
            raise RuntimeError("store thread gone")
        return next_clock_check

    async def restore(now: int) -> None:
        return None

    monkeypatch.setattr(watch, "_tick", tick)
    monkeypatch.setattr(watch, "_restore", restore)
    task = asyncio.create_task(watch.run())
    try:
        while not watch.board.standing(AlarmKind.WATCH_FAILED, None):
            await asyncio.sleep(0.001)
        (alarm,) = watch.board.alarms()
        assert alarm.level == "flash" and "failed 3 times in a row" in alarm.text
        failing = False
        while watch.board.standing(AlarmKind.WATCH_FAILED, None):
            await asyncio.sleep(0.001)
    finally:
        task.cancel()
