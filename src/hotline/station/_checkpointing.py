"""Checkpoints over one session: the courier's side of docs/protocol.md §4.10. Asyncio.

The sans-IO :class:`~hotline.delivery.Checkpoints` decides; this adapter proposes on a timer
while either direction moved, signs off the event loop (in the store's thread, like every
ML-DSA signature the station makes), stores each checkpoint both stations signed before it
sends anything more about it, and logs the alarms a declined step raises. At session start it
sends again the checkpoints the peer's SYNC says it lacks (a counter-signature lost with a
session), and checks and stores those the peer sends again.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final, Protocol, assert_never

from hotline.api import LineUnavailableError
from hotline.constants import CHECKPOINT_INTERVAL, CHECKPOINT_RESEND_STEP, CLOCK_SKEW_BOUND_MS
from hotline.delivery import (
    CheckpointComplete,
    CheckpointCosign,
    CheckpointCountersign,
    CheckpointDeclined,
    CheckpointEvent,
    CheckpointProposal,
    CheckpointResend,
    CheckpointResent,
    Checkpoints,
    CosignWanted,
    CountersignWanted,
)
from hotline.logfmt import log_event
from hotline.record import (
    MAX_CHECKPOINT_NUMBER,
    ChainRef,
    Checkpoint,
    Direction,
    RecordError,
    Signer,
)
from hotline.session import Frame
from hotline.signatures import HybridSignature, VerifyKeys
from hotline.store import Chains
from hotline.watch import AlarmKind

from ._crashpoints import crashpoint

_log = logging.getLogger("hotline.delivery")

#: The frames this adapter takes.
CHECKPOINT_FRAMES: Final = (
    CheckpointProposal,
    CheckpointCosign,
    CheckpointCountersign,
    CheckpointResend,
)


class Courier(Protocol):
    """What checkpointing needs of the line's courier."""

    peer: str
    line_id: bytes
    direction: Direction
    signer: Signer
    own_keys: VerifyKeys
    peer_keys: VerifyKeys

    async def call(self, job: Callable[[Chains], object]) -> object:
        """Run ``job`` in the store's thread."""
        ...

    def submit(self, job: Callable[[Chains], object]) -> Future[object]:
        """Queue ``job`` in the store's thread now (it runs even if nobody waits for it)."""
        ...

    def stored(self, direction: Direction, seq: int) -> bytes | None:
        """The stored hash at ``(direction, seq)``."""
        ...

    def alarm(self, kind: AlarmKind, text: str) -> None:
        """Raise an alarm about the line."""
        ...


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Checkpointing:
    """Checkpoints of one session.

    Args:
        courier: the line's courier.
        send: sends frames on the session at once.
        send_paced: sends frames in order, with the transport's back-pressure.
        heads: the latest stored envelope of each direction, in direction order.
        rtt_ms: the session's round-trip time, ms.
        numbers: the last checkpoint numbers stored: ours, the peer's.
        interval: seconds between proposals while the line moves.
    """

    def __init__(
        self,
        courier: Courier,
        *,
        send: Callable[[Sequence[Frame]], None],
        send_paced: Callable[[Iterable[Frame]], Awaitable[None]],
        heads: Callable[[], tuple[ChainRef, ChainRef]],
        rtt_ms: Callable[[], int],
        numbers: tuple[int, int],
        interval: float = CHECKPOINT_INTERVAL,
    ) -> None:
        self._courier = courier
        self._send = send
        self._send_paced = send_paced
        self._heads = heads
        self._rtt_ms = rtt_ms
        self._interval = interval
        self._next = numbers[0] + 1
        #: The last checkpoint sent again while more may wait (None: none wait).
        self._backlog: int | None = None
        self._exhausted = False
        #: Counter-signed checkpoints being stored, in arrival order (see :meth:`receive`).
        self._storing: collections.deque[asyncio.Future[object]] = collections.deque()
        self._fixed: tuple[ChainRef, ChainRef] | None = None
        #: Our proposals an operator waits for, by number (``propose_now``).
        self._waiting: dict[int, asyncio.Future[Checkpoint]] = {}
        self._steps = Checkpoints(
            line_id=courier.line_id,
            direction=courier.direction,
            own_keys=courier.own_keys,
            peer_keys=courier.peer_keys,
            stored=courier.stored,
            skew_bound_ms=CLOCK_SKEW_BOUND_MS,
            last_theirs=numbers[1],
        )

    def receive(self, frame: Frame) -> list[CheckpointEvent]:
        """Take a checkpoint frame; return what the writer should do, in order.

        A counter-signed checkpoint starts storing at once, not when the writer reaches it:
        the peer stored it as it counter-signed, and a session that ends just after (its
        CLOSE in the same read) would otherwise leave it out of our record for good.
        """
        events = self._steps.receive(frame, _now_ms(), self._rtt_ms())
        for event in events:
            if isinstance(event, CheckpointComplete):
                self._storing.append(self._store(event.checkpoint))
        return events

    async def propose_while_moving(self) -> None:
        """Every interval, propose a checkpoint if either direction moved since the last; but
        while older checkpoints the peer lacks wait to be sent again, send the next step of
        them instead."""
        while True:
            await asyncio.sleep(self._interval)
            if self._backlog is not None:
                await self._resend_step(self._backlog)
                continue
            heads = self._heads()
            if heads != self._fixed:
                self._propose(heads)

    def propose_now(self) -> asyncio.Future[Checkpoint]:
        """Propose a checkpoint of the heads as they are (an operator asked); the future is
        the checkpoint once both signed and it is stored: this one, or a later one that took
        its place. A peer that declines answers nothing (§4.10): the caller bounds the wait."""
        number = self._propose(self._heads())
        future = asyncio.get_running_loop().create_future()
        if number is None:
            future.set_exception(
                LineUnavailableError(f"no checkpoint number is left on the line to {self.peer}")
            )
            return future
        self._waiting = {n: f for n, f in self._waiting.items() if not f.done()}  # timed out
        self._waiting[number] = future
        return future

    def close(self) -> None:
        """The session ended: the proposals waited for will not complete on it."""
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the session ended before the peer co-signed"))
        self._waiting.clear()

    @property
    def peer(self) -> str:
        """The peer's station name."""
        return self._courier.peer

    def number_above(self, stored_by_peer: int) -> None:
        """The peer's SYNC says it stored our proposals up to ``stored_by_peer``: number the
        next one above it (never lower). A store restored from an older copy would otherwise
        propose numbers the peer took already, and the peer declines a replayed number with
        the record alarm (docs/protocol.md §4.10)."""
        self._next = max(self._next, stored_by_peer + 1)

    async def resend(self, stored_by_peer: int) -> int:
        """Send again the first ``CHECKPOINT_RESEND_STEP`` checkpoints we proposed and stored
        above ``stored_by_peer`` (the peer's SYNC): the peer lacks them. Only a
        counter-signature lost with a session (or a peer restored from an older copy of its
        store) leaves any. If more wait, :meth:`propose_while_moving` sends the next step in
        place of each proposal until none do: a proposal first would leave them below the
        peer's highest number, which SYNC cannot ask for again (§4.10). Return how many were
        sent."""
        return await self._resend_step(stored_by_peer)

    async def _resend_step(self, above: int) -> int:
        """Send our next stored checkpoints above ``above``, in number order, each checked in
        the store's thread first: one that fails is damage in our store, raises the record
        alarm and is skipped."""
        courier = self._courier
        found = await courier.call(
            functools.partial(
                _resendable,
                line_id=courier.line_id,
                proposer=courier.direction,
                keys=courier.direction.ordered(courier.own_keys, courier.peer_keys),
                above=above,
            )
        )
        assert isinstance(found, _Resendable)
        for number, damage in found.damaged:
            self._alarm(
                AlarmKind.RECORD,
                f"stored checkpoint {number} is damaged: {damage}",
                "stored checkpoint damaged; not sent again",
                number=number,
                error=damage,
            )
        await self._send_paced([CheckpointResend(c.encode()) for c in found.checkpoints])
        self._backlog = found.last
        if found.checkpoints:
            log_event(
                _log,
                logging.INFO,
                "checkpoints sent again",
                peer=self.peer,
                after=above,
                count=len(found.checkpoints),
                more=found.last is not None,
            )
        return len(found.checkpoints)

    def _propose(self, heads: tuple[ChainRef, ChainRef]) -> int | None:
        """Send the next proposal; return its number, or None when none is left."""
        number = self._next
        if number > MAX_CHECKPOINT_NUMBER:
            # No honest history gets here: a peer's SYNC claiming it stored our proposal with
            # the last number does. Refuse once a session, loudly; never send a bad number.
            if not self._exhausted:
                self._exhausted = True
                self._alarm(
                    AlarmKind.RECORD,
                    f"no checkpoint number is left: number {MAX_CHECKPOINT_NUMBER} is taken",
                    "checkpoint numbers used up",
                    last=MAX_CHECKPOINT_NUMBER,
                )
            return None
        self._send([self._steps.propose(number, heads, _now_ms())])
        self._next += 1  # the peer takes each number once: never propose one twice
        return number

    async def act(self, event: CheckpointEvent) -> None:
        """Carry out one checkpoint event (sign, store, send, or alarm)."""
        if isinstance(event, CosignWanted):
            ours = await self._sign(event.body.sign)
            self._send([self._steps.cosign(event.body, ours)])
        elif isinstance(event, CountersignWanted):
            ours = await self._sign(event.body.sign)
            checkpoint, frame = self._steps.countersign(event.body, event.theirs, ours)
            if not await asyncio.shield(self._store(checkpoint)):
                self._fail_waiting(checkpoint.body.number)  # another holds it: alarmed
                return
            crashpoint("checkpoint.after_commit")
            self._fixed = checkpoint.body.heads
            self._send([frame])
            # A later proposal (the timer's, another operator's) replaces a pending one, and
            # heads only grow: the checkpoint now stored fixes all an earlier one asked for.
            for number in [n for n in self._waiting if n <= checkpoint.body.number]:
                waiting = self._waiting.pop(number)
                if not waiting.done():
                    waiting.set_result(checkpoint)
        elif isinstance(event, CheckpointComplete):
            # Started by receive(), in the same order; shielded, so that the session ending
            # while we wait does not cancel the store.
            await asyncio.shield(self._storing.popleft())
        elif isinstance(event, CheckpointResent):
            # Checked now, not on arrival: the envelopes sent before it are stored by now.
            taken = self._steps.take_resent(event.checkpoint)
            if isinstance(taken, Checkpoint):
                await asyncio.shield(self._store(taken))
            else:
                self._declined(taken)
        elif isinstance(event, CheckpointDeclined):
            self._declined(event)
        else:
            assert_never(event)

    def _fail_waiting(self, number: int) -> None:
        """Our proposal ``number`` was not stored: the operators waiting for it hear so."""
        waiting = self._waiting.pop(number, None)
        if waiting is not None and not waiting.done():
            waiting.set_exception(
                LineUnavailableError(
                    f"checkpoint {number} was not stored: the store holds another with its number"
                )
            )

    def _declined(self, event: CheckpointDeclined) -> None:
        if event.alarm is None:
            log_event(_log, logging.DEBUG, "checkpoint declined", peer=self.peer, why=event.reason)
            return
        self._alarm(
            AlarmKind.CLOCK_SKEW if event.alarm == "clock" else AlarmKind.RECORD,
            f"checkpoint declined: {event.reason}",
            f"checkpoint declined: the {event.alarm}s disagree",
            why=event.reason,
        )

    def _alarm(self, kind: AlarmKind, text: str, log: str, **fields: object) -> None:
        """Raise ``kind`` about the line with ``text``; log ``ALARM <log>`` with ``fields``."""
        log_event(_log, logging.ERROR, f"ALARM {log}", peer=self.peer, **fields)
        self._courier.alarm(kind, text)

    async def _sign(self, sign: Callable[[Signer], HybridSignature]) -> HybridSignature:
        signer = self._courier.signer
        signature = await self._courier.call(lambda chains: sign(signer))
        assert isinstance(signature, HybridSignature)
        return signature

    def _store(self, checkpoint: Checkpoint) -> asyncio.Future[object]:
        """Queue the store of a checkpoint both signed in the store's thread now: it runs
        whatever becomes of this session, and the store's thread finishes what was queued even
        as the daemon stops. Its outcome is logged here, since the session may be gone."""
        now = _now_ms()
        stored = asyncio.wrap_future(
            self._courier.submit(lambda chains: chains.store_checkpoint(checkpoint, now_ms=now))
        )
        stored.add_done_callback(functools.partial(self._stored, checkpoint))
        return stored

    def _stored(self, checkpoint: Checkpoint, stored: asyncio.Future[object]) -> None:
        if stored.cancelled():
            return
        body = checkpoint.body
        error = stored.exception()
        if error is not None:
            log_event(
                _log,
                logging.ERROR,
                "checkpoint not stored",
                peer=self.peer,
                number=body.number,
                error=error,
            )
            return
        if not stored.result():
            # Both signed another checkpoint with this number: the peer withheld a
            # counter-signature, then had the number co-signed again over other heads.
            self._alarm(
                AlarmKind.RECORD,
                f"two checkpoints numbered {body.number} by {body.proposer.name} were signed",
                "checkpoint not stored: another one holds its number",
                proposer=body.proposer.name,
                number=body.number,
            )
            return
        log_event(
            _log,
            logging.INFO,
            "checkpoint",
            peer=self.peer,
            proposer=body.proposer.name,
            number=body.number,
            heads=f"{body.heads[0].seq}/{body.heads[1].seq}",
        )


@dataclass(frozen=True, slots=True)
class _Resendable:
    """One step of a resend: the checkpoints to send, the damaged ones (number, why), and the
    last number read (None: the store holds no more)."""

    checkpoints: list[Checkpoint]
    damaged: list[tuple[int, str]]
    last: int | None


def _resendable(
    chains: Chains,
    *,
    line_id: bytes,
    proposer: Direction,
    keys: tuple[VerifyKeys, VerifyKeys],
    above: int,
) -> _Resendable:
    """Read the next step of our stored checkpoints above ``above``, each decoded and its two
    signatures checked (in the store's thread: four signature checks each)."""
    rows = chains.checkpoint_items(line_id, proposer, above=above, limit=CHECKPOINT_RESEND_STEP)
    good: list[Checkpoint] = []
    damaged: list[tuple[int, str]] = []
    for number, item in rows:
        try:
            checkpoint = Checkpoint.decode(item)
        except RecordError as exc:
            damaged.append((number, f"it does not decode: {exc}"))
            continue
        body = checkpoint.body
        if (body.line_id, body.proposer, body.number) != (line_id, proposer, number):
            damaged.append((number, "it is another checkpoint's"))
        elif not body.cosigned_at_ms:
            damaged.append((number, "it was never co-signed"))
        elif not checkpoint.verify(keys):
            damaged.append((number, "its signatures do not verify"))
        else:
            good.append(checkpoint)
    last = rows[-1][0] if len(rows) == CHECKPOINT_RESEND_STEP else None
    return _Resendable(good, damaged, last)
