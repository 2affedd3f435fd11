"""The alarm board and the per-line rules that feed it (sans-IO: times come in as UTC ms).

An alarm is a condition an operator must see: a line down, a test message overdue, a halted
direction, a damaged record, clocks that disagree, an urgent message nobody acknowledged. The
board keeps them for ``status`` and decides which ones are *announced* (logged loudly, the
``on_alarm`` hook run). Its rules, in order, for a raise of (kind, peer):

1. An alarm of that (kind, peer) that still stands absorbs it: its count and time move on,
   nothing is announced.
2. One that cleared less than ``repeat_window_ms`` ago is reopened (same id, its
   acknowledgement dropped), not announced again: a line an attacker makes flap every second
   yields one alarm with a count, not one a second. But if an operator had acknowledged it,
   the reopened alarm is announced (under rule 3's limit, else marked suppressed): whoever
   took it for over must hear it is back, and a flapping line is announced again only as
   often as someone acknowledges it. If that alarm was already trimmed from the board (rule
   5), the raise makes a new alarm, announced or not by the same rule.
3. Otherwise a new alarm is made. It is announced unless ``max_new_per_minute`` alarms were
   already announced in the last 60 s; then it is only recorded (``suppressed``, shown in
   ``status``) and counted in :attr:`AlarmBoard.suppressed_count`. A FLASH alarm is always
   announced: there are few kinds of them per peer, each folded by rules 1 and 2, so a flood
   of lesser alarms can never hide one.
4. Hence, with times that never go back, two announcements of the same (kind, peer) are at
   least ``repeat_window_ms`` apart, or have an operator's acknowledgement between them. (A
   clock stepped back only makes the board quieter.)
5. The board holds at most ``keep`` alarms: over that, the oldest closed ones (cleared and
   acknowledged) go first, then the oldest cleared ones below FLASH. A cleared FLASH alarm
   nobody acknowledged (a damaged record, an urgent message) goes only past ``10 * keep``;
   a standing alarm is never dropped.
"""

from __future__ import annotations

import dataclasses
import enum
import unicodedata
from collections import deque
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from hotline.errors import ExitCode, HotlineError


class AlarmKind(enum.StrEnum):
    """What went wrong."""

    #: The line has been down longer than its threshold.
    LINE_DOWN = "line_down"
    #: No test message from the peer for longer than its schedule allows.
    TEST_OVERDUE = "test_overdue"
    #: A direction of the line is halted (a signed NACK, ours or the peer's).
    HALTED = "halted"
    #: The stored record is damaged or diverges from the peer's, or an item was refused.
    RECORD = "record"
    #: The peer's clock, or a time in a receipt or checkpoint, is off by more than the bound.
    CLOCK_SKEW = "clock_skew"
    #: The system says our own clock is not synchronised.
    CLOCK_UNSYNCED = "clock_unsynced"
    #: An incoming FLASH or IMMEDIATE message nobody acknowledged in time.
    UNACKNOWLEDGED = "unacknowledged"
    #: The station's watch itself keeps failing: other alarms may not be raised.
    WATCH_FAILED = "watch_failed"


class AlarmLevel(enum.StrEnum):
    """How urgently an operator must look, in the precedences' own words."""

    FLASH = "flash"
    IMMEDIATE = "immediate"
    ROUTINE = "routine"


#: The level of each kind unless the caller says otherwise: what stops the record or an
#: urgent message (or the watch itself) is FLASH, what may heal by itself IMMEDIATE, our own
#: clock's state ROUTINE.
DEFAULT_LEVELS: Final = MappingProxyType(
    {
        AlarmKind.HALTED: AlarmLevel.FLASH,
        AlarmKind.RECORD: AlarmLevel.FLASH,
        AlarmKind.UNACKNOWLEDGED: AlarmLevel.FLASH,
        AlarmKind.WATCH_FAILED: AlarmLevel.FLASH,
        AlarmKind.LINE_DOWN: AlarmLevel.IMMEDIATE,
        AlarmKind.TEST_OVERDUE: AlarmLevel.IMMEDIATE,
        AlarmKind.CLOCK_SKEW: AlarmLevel.IMMEDIATE,
        AlarmKind.CLOCK_UNSYNCED: AlarmLevel.ROUTINE,
    }
)
#: An alarm's text is one line of at most this many characters (it may quote a peer's words).
MAX_TEXT_LEN: Final = 500
#: An operator's name, as recorded with an acknowledgement, in bytes of UTF-8.
MAX_OPERATOR_LEN: Final = 64
#: The rate limit of rule 3 counts announcements over this sliding window.
RATE_WINDOW_MS: Final = 60_000
#: Stands for each character of a text that could break or disguise its line.
_REPLACEMENT: Final = "\ufffd"
#: The Unicode categories of those characters: controls, format (bidi), surrogates, breaks.
_UNSHOWABLE: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

#: Cleared FLASH alarms nobody acknowledged are kept up to this many times ``keep`` (rule 5).
_HOARD: Final = 10

_Key = tuple[AlarmKind, str | None]


class UnknownAlarmError(HotlineError):
    """No alarm on the board has that id (it never existed, or was trimmed long after)."""

    exit_code = ExitCode.REQUEST_INVALID


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm as the board holds it; replaced, never changed, when it moves on."""

    #: Unique on its board, from 1, never reused.
    id: int
    kind: AlarmKind
    level: AlarmLevel
    #: The peer it concerns, or ``None`` for the station itself (its clock, its watch).
    peer: str | None
    #: One line for a person (the latest raise's).
    text: str
    raised_at_ms: int
    last_at_ms: int
    #: How many times it was raised while it stood (reopenings included).
    count: int = 1
    #: When the condition ended; ``None`` while it holds.
    cleared_at_ms: int | None = None
    acked_by: str | None = None
    acked_at_ms: int | None = None
    #: Recorded but not announced: the board's rate limit was reached (rule 3).
    suppressed: bool = False

    @property
    def active(self) -> bool:
        """The condition still holds."""
        return self.cleared_at_ms is None

    @property
    def acknowledged(self) -> bool:
        """An operator has acknowledged it (since it was last reopened)."""
        return self.acked_by is not None

    @property
    def open(self) -> bool:
        """Still to be shown: standing, or over but not yet acknowledged."""
        return self.active or not self.acknowledged

    def to_json(self) -> dict[str, object]:
        """The alarm as a JSON object; times stay integer UTC ms for the API to format."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**fields, "active": self.active, "acknowledged": self.acknowledged}


def _one_line(text: str) -> str:
    """``text`` made fit for an alarm: control and format characters replaced, at most
    :data:`MAX_TEXT_LEN` characters (cut with an ellipsis)."""
    cleaned = "".join(_REPLACEMENT if unicodedata.category(c) in _UNSHOWABLE else c for c in text)
    if len(cleaned) > MAX_TEXT_LEN:
        return cleaned[: MAX_TEXT_LEN - 1] + "…"
    return cleaned


class AlarmBoard:
    """The station's alarms: what stands, what was acknowledged, what to announce.

    Args:
        repeat_window_ms: a cleared alarm raised again within this time is reopened silently.
        max_new_per_minute: at most this many alarms are announced in any 60 s.
        keep: how many alarms the board holds beyond the standing ones and, up to ten times
            as many, the FLASH ones nobody acknowledged (rule 5).
    """

    def __init__(
        self, *, repeat_window_ms: int = 300_000, max_new_per_minute: int = 20, keep: int = 200
    ) -> None:
        self._repeat_window_ms = repeat_window_ms
        self._max_new_per_minute = max_new_per_minute
        self._keep = keep
        self._alarms: dict[int, Alarm] = {}
        #: (kind, peer) -> the id of its latest alarm, while the board holds it.
        self._latest: dict[_Key, int] = {}
        #: (kind, peer) -> when its latest alarm, trimmed from the board, had cleared, and
        #: whether an operator had acknowledged it.
        self._trimmed_clears: dict[_Key, tuple[int, bool]] = {}
        #: When the alarms of the last :data:`RATE_WINDOW_MS` were announced.
        self._announced: deque[int] = deque()
        self._next_id = 1
        self._suppressed_count = 0

    @property
    def suppressed_count(self) -> int:
        """How many new alarms the rate limit kept from being announced."""
        return self._suppressed_count

    def raise_alarm(
        self,
        kind: AlarmKind,
        peer: str | None,
        text: str,
        now_ms: int,
        level: AlarmLevel | None = None,
    ) -> Alarm | None:
        """Record that the condition (kind, peer) holds at ``now_ms``.

        Returns:
            the new alarm when it must be announced; ``None`` when it was folded into one
            already known, or suppressed by the rate limit.
        """
        key = (kind, peer)
        text = _one_line(text)
        latest = self._alarms.get(self._latest.get(key, 0))
        if latest is not None and (latest.active or self._recent(latest.cleared_at_ms, now_ms)):
            # Someone acknowledged it as over: they must hear that it is back.
            back = not latest.active and latest.acknowledged
            admitted = back and self._admit(latest.level, now_ms)
            reopened = dataclasses.replace(
                latest,
                text=text,
                last_at_ms=now_ms,
                count=latest.count + 1,
                cleared_at_ms=None,
                # reopened: the acknowledgement covered the condition that had ended
                acked_by=latest.acked_by if latest.active else None,
                acked_at_ms=latest.acked_at_ms if latest.active else None,
                suppressed=not admitted if back else latest.suppressed,
            )
            self._alarms[latest.id] = reopened
            return reopened if admitted else None
        trimmed = self._trimmed_clears.pop(key, None) if latest is None else None
        # Trimmed (rule 5) but within its window: silent as a reopening would be.
        quiet = trimmed is not None and self._recent(trimmed[0], now_ms) and not trimmed[1]
        level = DEFAULT_LEVELS[kind] if level is None else level
        limited = not quiet and not self._admit(level, now_ms)
        alarm = Alarm(
            id=self._next_id,
            kind=kind,
            level=level,
            peer=peer,
            text=text,
            raised_at_ms=now_ms,
            last_at_ms=now_ms,
            suppressed=limited,
        )
        self._next_id += 1
        self._alarms[alarm.id] = alarm
        self._latest[key] = alarm.id
        self._trim()
        return None if quiet or limited else alarm

    def _admit(self, level: AlarmLevel, now_ms: int) -> bool:
        """Rule 3: whether an alarm at ``level`` may be announced now (counted if so)."""
        while self._announced and self._announced[0] <= now_ms - RATE_WINDOW_MS:
            self._announced.popleft()
        if level is not AlarmLevel.FLASH and len(self._announced) >= self._max_new_per_minute:
            self._suppressed_count += 1
            return False
        self._announced.append(now_ms)
        return True

    def clear(self, kind: AlarmKind, peer: str | None, now_ms: int) -> Alarm | None:
        """Record that the condition (kind, peer) ended; return the alarm it ended, if any."""
        alarm = self.standing(kind, peer)
        if alarm is None:
            return None
        cleared = dataclasses.replace(alarm, cleared_at_ms=now_ms)
        self._alarms[alarm.id] = cleared
        self._trim()
        return cleared

    def ack(self, alarm_id: int, operator: str, now_ms: int) -> Alarm:
        """Record that ``operator`` acknowledged the alarm; the first acknowledgement stands.

        Raises:
            ValueError: the operator's name is blank, longer than :data:`MAX_OPERATOR_LEN`
                bytes of UTF-8, or holds a control or format character.
            UnknownAlarmError: no alarm on the board has that id.
        """
        # The API's rule for an acknowledgement's operator (hotline.api check_operator).
        size = len(operator.encode("utf-8", "replace"))
        if not (0 < size <= MAX_OPERATOR_LEN and operator.strip()) or any(
            unicodedata.category(c) in _UNSHOWABLE for c in operator
        ):
            raise ValueError(
                f"an operator's name is 1 to {MAX_OPERATOR_LEN} bytes of UTF-8, without control"
                " or format characters"
            )
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise UnknownAlarmError(f"no alarm {alarm_id} on this station")
        if alarm.acknowledged:
            return alarm
        acked = dataclasses.replace(alarm, acked_by=operator, acked_at_ms=now_ms)
        self._alarms[alarm_id] = acked
        self._trim()
        return acked

    def alarms(self, *, include_closed: bool = False) -> tuple[Alarm, ...]:
        """The alarms, newest first: the open ones, or all the board holds."""
        return tuple(
            alarm for alarm in reversed(self._alarms.values()) if include_closed or alarm.open
        )

    def standing(self, kind: AlarmKind, peer: str | None) -> Alarm | None:
        """The alarm of (kind, peer) whose condition still holds, if any."""
        alarm = self._alarms.get(self._latest.get((kind, peer), 0))
        return alarm if alarm is not None and alarm.active else None

    def _recent(self, cleared_at_ms: int | None, now_ms: int) -> bool:
        return cleared_at_ms is not None and now_ms - cleared_at_ms < self._repeat_window_ms

    def _trim(self) -> None:
        """Rule 5: beyond ``keep``, drop the oldest closed alarm, else the oldest cleared one
        below FLASH; past ``10 * keep``, the oldest cleared one of any level."""
        while len(self._alarms) > self._keep:
            victim = (
                next((a for a in self._alarms.values() if not a.open), None)
                or next(
                    (
                        a
                        for a in self._alarms.values()
                        if not a.active and a.level is not AlarmLevel.FLASH
                    ),
                    None,
                )
                or next(
                    (
                        a
                        for a in self._alarms.values()
                        if not a.active and len(self._alarms) > _HOARD * self._keep
                    ),
                    None,
                )
            )
            if victim is None:
                return
            del self._alarms[victim.id]
            key = (victim.kind, victim.peer)
            if self._latest.get(key) == victim.id:
                del self._latest[key]
                assert victim.cleared_at_ms is not None  # only cleared alarms are dropped
                self._trimmed_clears[key] = (victim.cleared_at_ms, victim.acknowledged)


#: A clock-skew alarm clears only once the offset is back within this fraction of the bound
#: (4/5), so an offset hovering at the bound does not raise and clear it at every ping.
_SKEW_CLEAR_NUM: Final = 4
_SKEW_CLEAR_DEN: Final = 5


class LineWatch:
    """The conditions of one line that time reveals: down too long, test overdue, clock skew.

    Fed an observation of the line at a time, it returns the transitions only: each alarm is
    raised once when its condition starts to hold and cleared once when it ends.

    Args:
        peer: the peer's name, for the texts.
        down_after_ms: the line is alarmed once down this long without a break.
        test_interval_ms: the peer's test messages are due this often...
        test_grace_ms: ...and one is overdue this much later.
        skew_bound_ms: the peer's clock may be this far from ours.
        started_at_ms: when watching began (a fresh station waits out the thresholds too).
    """

    def __init__(
        self,
        peer: str,
        *,
        down_after_ms: int,
        test_interval_ms: int,
        test_grace_ms: int,
        skew_bound_ms: int,
        started_at_ms: int,
    ) -> None:
        self._peer = peer
        self._down_after_ms = down_after_ms
        self._test_due_ms = test_interval_ms + test_grace_ms
        self._test_interval_ms = test_interval_ms
        self._skew_bound_ms = skew_bound_ms
        self._started_at_ms = started_at_ms
        self._seen_up_ms = started_at_ms
        self._raised: set[AlarmKind] = set()

    def observe(
        self,
        now_ms: int,
        *,
        up: bool,
        clock_offset_ms: int | None,
        last_test_at_ms: int | None,
    ) -> list[tuple[AlarmKind, str | None]]:
        """Take the line's state at ``now_ms``; return what to raise (kind, text) and what to
        clear (kind, ``None``).

        Args:
            up: whether the line has a session now.
            clock_offset_ms: the peer's clock minus ours (positive: ahead), ``None`` if unknown.
            last_test_at_ms: when the latest test message from the peer arrived, if ever.
        """
        if up:
            self._seen_up_ms = now_ms
        down_ms = now_ms - self._seen_up_ms
        tested_ms = self._started_at_ms if last_test_at_ms is None else last_test_at_ms
        silent_ms = now_ms - max(self._started_at_ms, tested_ms)
        changes: list[tuple[AlarmKind, str | None]] = []
        self._update(
            changes,
            AlarmKind.LINE_DOWN,
            holds=not up and down_ms >= self._down_after_ms,
            text=f"line to {self._peer} down for {down_ms // 1000:,} s",
        )
        self._update(
            changes,
            AlarmKind.TEST_OVERDUE,
            holds=silent_ms > self._test_due_ms,
            text=(
                f"no test message from {self._peer} for {silent_ms // 1000:,} s"
                f" (one is due every {self._test_interval_ms // 1000:,} s)"
            ),
        )
        if clock_offset_ms is not None:
            skew = abs(clock_offset_ms)
            if AlarmKind.CLOCK_SKEW in self._raised:
                holds = skew * _SKEW_CLEAR_DEN > self._skew_bound_ms * _SKEW_CLEAR_NUM
            else:
                holds = skew > self._skew_bound_ms
            way = "ahead of" if clock_offset_ms > 0 else "behind"
            self._update(
                changes,
                AlarmKind.CLOCK_SKEW,
                holds=holds,
                text=(
                    f"{self._peer}'s clock is {skew:,} ms {way} ours"
                    f" (bound {self._skew_bound_ms:,} ms)"
                ),
            )
        return changes

    def _update(
        self,
        changes: list[tuple[AlarmKind, str | None]],
        kind: AlarmKind,
        *,
        holds: bool,
        text: str,
    ) -> None:
        if holds and kind not in self._raised:
            self._raised.add(kind)
            changes.append((kind, text))
        elif not holds and kind in self._raised:
            self._raised.discard(kind)
            changes.append((kind, None))
