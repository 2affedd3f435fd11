"""Path health: whether the path under a session carries heartbeats in time, and how well.

Sans-IO, as the session is: no clock, no asyncio. The adapter feeds what happened with the time
(``now``, seconds on a monotonic clock) and asks for the state at a time; the tracker names its
next deadline (:meth:`PathHealth.get_timer`), as aioquic's objects do, so that a transition is
noticed when it happens rather than at the next question.

Rules (``docs/line.md`` §1, "Probes"):

1. A ping is *answered in time* when its PONG arrives before its deadline: one ping interval
   after it was sent, or the RTT's retransmission timeout (RFC 6298: ``srtt + 4 * rttvar``,
   capped at ``PROBE_WAIT_MAX``) when the path is slower than that. Before the first PONG the
   RTT is unknown: a ping waits as long as the handshake took (at least one round trip, so an
   upper bound), or the cap (RFC 6298's initial 1 s) without one. A long path (a satellite hop)
   is slow, not down.
2. A ping whose deadline passed unanswered is *missed*, unless something authenticated other
   than a PING came from the peer after it was sent: a PONG queued behind the peer's bulk data
   is late, and the data proves the peer alive. Such a ping is *excused*: it neither counts as
   missed nor as answered.
3. The path goes DOWN when ``probe_missed`` consecutive pings were missed (excused ones do not
   break the run). Its time of going down is the deadline of the last of them, whenever the
   question is asked, so the state does not depend on how often someone looks.
4. The path comes UP again only after ``probe_recover`` consecutive pings answered in time (a
   missed or an excused one restarts the count) *and* ``probe_hold_down`` seconds since it was
   last seen down: since it went down, and since any ping missed after that. A flapping path
   is held down until it stops flapping, instead of bounced at each good spell.
5. A PONG that arrives late still counts: as an RTT sample, as a clock-offset sample, and as
   answered for the loss figure (loss is pings lost, lateness is rule 2's business). Only its
   ping's in-time verdict is already settled.
6. Loss is the fraction of the last ``LOSS_WINDOW`` pings sent whose deadline passed (or that
   were answered) and that have no PONG yet; ``None`` until one ping is due.
7. The peer's clock offset is ``peer_time_ms - (sent_ms + rtt_ms / 2)`` per PONG (positive when
   the peer's clock is ahead), ``sent_ms`` being our wall clock as the PING carried it; the
   estimate is the median of the last ``OFFSET_SAMPLES`` (robust to one delayed PONG).
8. A new tracker (a new session) starts UP: its handshake has just crossed the path both ways.
"""

from __future__ import annotations

import enum
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Final

from ._timing import LineTiming

#: The loss figure covers the last 40 pings: 10 s at the default 250 ms interval.
LOSS_WINDOW: Final = 40
#: The clock offset is the median of this many samples: an odd count has a true middle.
OFFSET_SAMPLES: Final = 9
#: A ping waits at most this long for its PONG, however slow the path was, and this long before
#: any RTT is known (rule 1; RFC 6298's initial timeout): a path slower than a second cannot be
#: told from a dead one in time for a hotline.
PROBE_WAIT_MAX: Final = 1.0
#: RFC 6298's gains: the smoothed RTT moves by 1/8 of each sample's error, the variation by 1/4.
RTT_ALPHA: Final = 1 / 8
RTT_BETA: Final = 1 / 4


class PathState(enum.Enum):
    """Whether a path carries heartbeats in time."""

    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class PathReport:
    """The tracker's figures at one moment.

    Attributes:
        state: see :class:`PathState`.
        rtt_ms: the smoothed round-trip time (RFC 6298, alpha 1/8), or ``None`` before a PONG.
        rtt_last_ms: the last PONG's round-trip time, or ``None``.
        loss: the fraction of recent pings unanswered (rule 6), 0 to 1, or ``None``.
        clock_offset_ms: how far the peer's wall clock is ahead of ours (rule 7), or ``None``.
    """

    state: PathState
    rtt_ms: float | None
    rtt_last_ms: float | None
    loss: float | None
    clock_offset_ms: float | None


class _Probe:
    """One ping sent: when, what our wall clock said, and what became of it."""

    __slots__ = ("answered", "deadline", "ping_id", "sent_at", "sent_ms", "settled")

    def __init__(self, ping_id: int, sent_at: float, sent_ms: int, deadline: float) -> None:
        self.ping_id = ping_id
        self.sent_at = sent_at
        self.sent_ms = sent_ms
        self.deadline = deadline
        self.answered = False  # a PONG came, in time or not
        self.settled = False  # its in-time verdict is in (answered in time, missed or excused)


class PathHealth:
    """The heartbeat view of one path (one session's stream)."""

    def __init__(self, timing: LineTiming, now: float, rtt_bound: float | None = None) -> None:
        """Args:
        timing: the ping interval and the probe thresholds.
        now: when the session came up (monotonic seconds).
        rtt_bound: seconds the RTT cannot exceed, known before any PONG (how long the
            handshake took), or ``None``.
        """
        self._timing = timing
        self._rtt_bound = PROBE_WAIT_MAX if rtt_bound is None else min(rtt_bound, PROBE_WAIT_MAX)
        self._state = PathState.UP
        self._down_at = now  # when the path was last seen down (rules 3-4)
        self._now = now
        self._last_heard = now
        self._missed_run = 0
        self._answered_run = 0
        self._window: deque[_Probe] = deque(maxlen=LOSS_WINDOW)
        self._unanswered: dict[int, _Probe] = {}
        self._srtt: float | None = None
        self._rttvar = 0.0
        self._rtt_last: float | None = None
        self._offsets: deque[float] = deque(maxlen=OFFSET_SAMPLES)

    def __repr__(self) -> str:
        return f"PathHealth({self._state.value}, missed={self._missed_run})"

    # --- Inputs --------------------------------------------------------------------------------

    def ping_sent(self, ping_id: int, now: float, sent_ms: int) -> None:
        """A PING left.

        Args:
            ping_id: its id (unique within the session).
            now: monotonic seconds.
            sent_ms: our wall clock as the PING carries it (UTC milliseconds).

        Raises:
            ValueError: ``ping_id`` is still awaited (the caller reused an id).
        """
        self.handle_timer(now)
        if ping_id in self._unanswered:
            raise ValueError(f"ping {ping_id} is already awaited")
        probe = _Probe(ping_id, now, sent_ms, now + self._wait())
        if len(self._window) == LOSS_WINDOW:
            self._unanswered.pop(self._window[0].ping_id, None)
        self._window.append(probe)
        self._unanswered[ping_id] = probe

    def pong_received(self, ping_id: int, now: float, peer_time_ms: int) -> None:
        """An authenticated PONG arrived; one for a ping we do not track is only "heard"."""
        self.handle_timer(now)
        self._last_heard = now
        probe = self._unanswered.pop(ping_id, None)
        if probe is None:
            return
        probe.answered = True
        rtt = now - probe.sent_at
        self._sample_rtt(rtt)
        self._offsets.append(peer_time_ms - (probe.sent_ms + rtt * 1000 / 2))
        if not probe.settled:  # in time: the deadline has not passed (handle_timer above)
            probe.settled = True
            self._missed_run = 0
            self._answered_run += 1
            self._maybe_recover(now)

    def heard(self, now: float) -> None:
        """Something authenticated other than a PING or PONG arrived from the peer (rule 2)."""
        self.handle_timer(now)
        self._last_heard = now

    # --- Time ----------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """When the state may next change with no input: a deadline, or the hold-down's end."""
        deadlines = [probe.deadline for probe in self._window if not probe.settled]
        if self._recovery_at() is not None:
            deadlines.append(self._down_at + self._timing.probe_hold_down)
        return min(deadlines, default=None)

    def handle_timer(self, now: float) -> None:
        """Settle every deadline up to ``now``, in time order (rules 2-4).

        Raises:
            ValueError: ``now`` is earlier than a time already given.
        """
        if now < self._now:
            raise ValueError(f"time went backwards: {now} < {self._now}")
        self._now = now
        while True:
            due = [p for p in self._window if not p.settled and p.deadline <= now]
            probe = min(due, key=lambda p: p.deadline, default=None)
            recovery = self._recovery_at()
            if recovery is not None and recovery <= min(now, probe.deadline if probe else now):
                self._state = PathState.UP  # the hold-down ended before the next deadline
                continue
            if probe is None:
                return
            self._settle_unanswered(probe)

    # --- Questions -----------------------------------------------------------------------------

    def state(self, now: float) -> PathState:
        """Whether the path is up at ``now``."""
        self.handle_timer(now)
        return self._state

    def report(self, now: float) -> PathReport:
        """The state and figures at ``now``."""
        self.handle_timer(now)
        due = [p for p in self._window if p.settled or p.answered]
        return PathReport(
            state=self._state,
            rtt_ms=None if self._srtt is None else self._srtt * 1000,
            rtt_last_ms=None if self._rtt_last is None else self._rtt_last * 1000,
            loss=sum(not p.answered for p in due) / len(due) if due else None,
            clock_offset_ms=statistics.median(self._offsets) if self._offsets else None,
        )

    # --- Internals -----------------------------------------------------------------------------

    def _wait(self) -> float:
        """How long a ping sent now waits for its PONG (rule 1)."""
        if self._srtt is None:
            return max(self._timing.ping_interval, self._rtt_bound)
        rto = min(PROBE_WAIT_MAX, self._srtt + 4 * self._rttvar)
        return max(self._timing.ping_interval, rto)

    def _sample_rtt(self, rtt: float) -> None:
        self._rtt_last = rtt
        if self._srtt is None:
            self._srtt, self._rttvar = rtt, rtt / 2
        else:  # RFC 6298 §2.3: the variation first, from the old smoothed value
            self._rttvar += RTT_BETA * (abs(self._srtt - rtt) - self._rttvar)
            self._srtt += RTT_ALPHA * (rtt - self._srtt)

    def _settle_unanswered(self, probe: _Probe) -> None:
        """``probe``'s deadline passed with no PONG: excused or missed (rules 2-3)."""
        probe.settled = True
        self._answered_run = 0
        if self._last_heard > probe.sent_at:
            return
        self._missed_run += 1
        if self._state is PathState.DOWN:
            self._down_at = probe.deadline  # still down: the hold-down starts again
        elif self._missed_run >= self._timing.probe_missed:
            self._state = PathState.DOWN
            self._down_at = probe.deadline

    def _recovery_at(self) -> float | None:
        """When a down path comes up if nothing else happens first, or ``None`` (rule 4)."""
        if self._state is PathState.UP or self._answered_run < self._timing.probe_recover:
            return None
        return self._down_at + self._timing.probe_hold_down

    def _maybe_recover(self, now: float) -> None:
        recovery = self._recovery_at()
        if recovery is not None and recovery <= now:
            self._state = PathState.UP
