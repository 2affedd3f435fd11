"""One session of a line's courier (docs/protocol.md §4). Asyncio.

Per session the courier runs two tasks, here:

- the **writer** acts on the exchange's events in order, each durable step one store call:
  deliver-and-receipt, receipts, refusals, recovery, answering FETCH, resending after SYNC.
  Envelopes a head covers while a commit runs join the next commit (one receipt for all).
- the **sender** starts once the peer's SYNC is answered and our backlog resent; it sequences
  queued messages (precedence first) in one commit per batch, as many as the in-flight window
  has room for and at most ``MAX_SEQUENCE_BATCH`` (so the peer stores one batch while the next
  is sequenced), and sends each batch after its commit.

Every step that writes first and announces second has a crash point between the two
(:mod:`._crashpoints`). Both tasks end with the session; the next session starts from the
store (its SYNC and book), so nothing in memory has to survive.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final, assert_never

from hotline.constants import (
    CLOCK_SKEW_BOUND_MS,
    MAX_SEQUENCE_BATCH,
    MAX_UNCOMMITTED_ENVELOPES,
    MAX_UNCOVERED_ENVELOPES,
)
from hotline.delivery import (
    ChainsDisagree,
    CheckpointEvent,
    Deliverable,
    Event,
    Exchange,
    FetchRequested,
    HeadFrame,
    NackFrame,
    PeerRefused,
    ProtocolViolation,
    ReceiptAccepted,
    ReceiptFrame,
    Recovered,
    Refuse,
    Resync,
    Sync,
    Synced,
    pack_envelopes,
)
from hotline.line import SessionProtocol
from hotline.logfmt import log_event
from hotline.record import (
    GENESIS,
    MAX_CHECKPOINT_NUMBER,
    ChainHead,
    ChainRef,
    Checkpoint,
    Direction,
    Envelope,
    Nack,
    Receipt,
    Subject,
    receipt_time_plausible,
    send_time_plausible,
)
from hotline.session import CloseReason, Frame, LocalProtocolError
from hotline.signatures import VerifyKeys
from hotline.store import (
    Audit,
    Chains,
    LineBook,
    Sequenced,
    StoreCorruptError,
    StoreError,
    new_message_id,
)
from hotline.watch import AlarmKind

from ._checkpointing import CHECKPOINT_FRAMES, Checkpointing
from ._crashpoints import crashpoint

if TYPE_CHECKING:
    from ._courier import Courier

_log = logging.getLogger("hotline.delivery")

#: Envelopes and the stored head that covers them.
_Group = tuple[tuple[Envelope, ...], ChainHead]

#: Frames a session may receive before its book is read from the store (SYNC, RECEIPT, FETCH
#: and a little traffic); more is a peer not waiting for our SYNC.
MAX_EARLY_FRAMES: Final = 64
#: Own envelopes read from the store per resend step.
RESEND_STEP: Final = MAX_UNCOVERED_ENVELOPES


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _audit_job(
    chains: Chains, *, line_id: bytes, direction: Direction, keys: VerifyKeys, after: ChainRef
) -> Audit:
    return chains.audit(line_id, direction, keys, after=after)


class SessionGoneError(Exception):
    """The session ended while a task was using it."""


class SessionRun:
    """The courier's work on one session: its exchange, writer and sender."""

    def __init__(self, courier: Courier, session: SessionProtocol) -> None:
        self.courier = courier
        self.session = session
        self._exchange: Exchange | None = None
        self._early: list[Frame] = []
        self._events: collections.deque[Event | CheckpointEvent] = collections.deque()
        self._checkpoints: Checkpointing | None = None
        #: Whether both SYNCs were exchanged (checkpoints may be proposed).
        self.synced = False
        self._peer_tip = GENESIS
        self._has_events = asyncio.Event()
        self._own_tip = GENESIS
        self._receipted = GENESIS
        self._halted_out = False
        #: Covered envelopes of the peer handed to the writer and not committed yet.
        self._uncommitted = 0
        #: The send time of the peer's envelope delivered last in this session.
        self._peer_sent_ms: int | None = None
        #: When each receipt accepted but not yet stored arrived (our clock), by seq.
        self._receipt_arrivals: dict[int, int] = {}
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._writer(), name=f"hotline-courier-{courier.peer}")]

    # --- Lifecycle ----------------------------------------------------------------------------
    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._checkpoints is not None:
            self._checkpoints.close()

    def propose_checkpoint(self) -> asyncio.Future[Checkpoint]:
        """Propose a checkpoint now; the future completes once both signed it."""
        assert self._checkpoints is not None and self.synced
        return self._checkpoints.propose_now()

    def receive(self, frame: Frame) -> None:
        if self._exchange is None or self._checkpoints is None:
            if len(self._early) >= MAX_EARLY_FRAMES:
                self._close(CloseReason.PROTOCOL_ERROR, "too many frames before our SYNC")
            else:
                self._early.append(frame)
            return
        if isinstance(frame, Sync):  # a restored store numbers its next proposal above it
            self._checkpoints.number_above(frame.checkpoint)
        try:
            if isinstance(frame, CHECKPOINT_FRAMES) and self._exchange.sync_received:
                self._events.extend(self._checkpoints.receive(frame))
                self._has_events.set()
                return
            events = self._exchange.receive(frame)  # a checkpoint frame before SYNC: refused
        except StoreError as exc:  # a lookup on the loop's connection failed
            self._store_failed(exc)
            return
        now = _now_ms()
        for event in events:
            if isinstance(event, ReceiptAccepted):  # its time is checked against arrival
                self._receipt_arrivals[event.receipt.seq] = now
        if events:
            self._uncommitted += sum(len(e.envelopes) for e in events if isinstance(e, Deliverable))
            if self._uncommitted > MAX_UNCOMMITTED_ENVELOPES:
                self._close(CloseReason.PROTOCOL_ERROR, "the peer ignores the in-flight window")
                return
            self._events.extend(events)
            self._has_events.set()
        with contextlib.suppress(SessionGoneError):  # the line tells us: session_down
            self._flush_exchange()

    def _close(self, reason: CloseReason, text: str) -> None:
        self.session.close(reason, text)

    def _store_failed(self, exc: StoreError) -> None:
        """The store failed under this session: say so, and end it (the next starts afresh)."""
        log_event(
            _log, logging.ERROR, "store failed; session closed", peer=self.courier.peer, error=exc
        )
        self._close(CloseReason.GOING_AWAY, "store failure")

    async def _start(self) -> None:
        courier = self.courier
        book = await self._book()
        if await self._audit(book):  # a halt was stored: start from it, NACK and all
            book = await self._book()
        self._own_tip, self._receipted = book.own_tip, book.receipted
        self._peer_tip = book.peer_tip
        self._halted_out = book.halted_out is not None
        self._checkpoints = Checkpointing(
            courier,
            send=self._send_now,
            send_paced=self._send,
            heads=self._heads,
            rtt_ms=self._rtt_ms,
            numbers=book.checkpoints,
            interval=courier.checkpoint_interval,
        )
        self._exchange = Exchange(
            line_id=courier.line_id,
            direction=courier.direction,
            own_keys=courier.own_keys,
            peer_keys=courier.peer_keys,
            own_tip=book.own_tip,
            own_cross=book.own_cross,
            peer_tip=book.peer_tip,
            peer_cross=book.peer_cross,
            receipted=book.receipted,
            # A number past the last can only be in a store from before numbers were bounded.
            peer_checkpoint=min(book.checkpoints[1], MAX_CHECKPOINT_NUMBER),
            halted_in=book.halted_in is not None,
            lookup=courier.stored,
        )
        if book.halted_out is not None or book.halted_in is not None:
            self._alarm_halted(book)
        self._flush_exchange()
        if book.last_receipt is not None:  # re-sent as stored: never re-signed
            self._send_now([ReceiptFrame(book.last_receipt.encode())])
        for nack in (book.halted_out, book.halted_in):
            # Our own refusals again, as stored, while they stand: the first send may have died
            # with its session before the peer read it (docs/protocol.md §4.8).
            if nack is not None and nack.verify(courier.own_keys):
                self._send_now([NackFrame(nack.encode())])
        early, self._early = self._early, []
        for frame in early:
            self.receive(frame)

    async def _book(self) -> LineBook:
        """The line's book. A damaged tip (``StoreCorruptError``) ends the session with the
        RECORD alarm, in :meth:`_guarded`: nothing can be synced from it."""
        courier = self.courier
        return await courier.call(lambda chains: chains.book(courier.line_id, courier.direction))

    async def _audit(self, book: LineBook) -> bool:
        """Check the stored chains from where the last walk stopped, before the session
        starts; over a damaged one, store a signed NACK and halt that direction (sent after our
        SYNC with the standing NACKs: both stations alarm). Return whether a halt was stored."""
        courier = self.courier
        found = False
        walks = (
            (courier.direction, courier.own_keys, book.halted_out),
            (courier.direction.other, courier.peer_keys, book.halted_in),
        )
        for direction, keys, standing in walks:
            if standing is not None:
                continue
            audit = await courier.call(
                functools.partial(
                    _audit_job,
                    line_id=courier.line_id,
                    direction=direction,
                    keys=keys,
                    after=courier.audited.get(direction, GENESIS),
                )
            )
            courier.audited[direction] = audit.good
            if audit.damage is None:
                continue
            log_event(
                _log,
                logging.CRITICAL,
                "ALARM the stored record is damaged",
                peer=courier.peer,
                direction="out" if direction == courier.direction else "in",
                seq=audit.damage.seq,
                error=audit.damage,
            )
            courier.alarm(
                AlarmKind.RECORD,
                f"the stored record is damaged at #{audit.damage.seq}: {audit.damage}",
            )
            refusal = Refuse(Subject.ENVELOPE, direction, audit.damage, audit.damage.seq or 1)
            await self._store_refusal(refusal)
            found = True
        return found

    def _rtt_ms(self) -> int:
        report = self.session.path_report()
        return 0 if report is None or report.rtt_ms is None else round(report.rtt_ms)

    def _heads(self) -> tuple[ChainRef, ChainRef]:
        """The latest stored envelope of each direction, in direction order."""
        return self.courier.direction.ordered(self._own_tip, self._peer_tip)

    def _alarm_halted(self, book: LineBook) -> None:
        for which, nack in (("out", book.halted_out), ("in", book.halted_in)):
            if nack is not None:
                log_event(
                    _log,
                    logging.CRITICAL,
                    "ALARM direction halted",
                    peer=self.courier.peer,
                    direction=which,
                    reason=nack.reason.name,
                    seq=nack.seq,
                    remedy=f"see docs/operations.md, then: hotline resume {self.courier.peer}",
                )
                self.courier.alarm(
                    AlarmKind.HALTED,
                    f"direction {which} halted ({nack.reason.name} at #{nack.seq}): see"
                    " docs/operations.md",
                )

    # --- Sending --------------------------------------------------------------------------------
    def _flush_exchange(self) -> None:
        if self._exchange is not None:
            frames = self._exchange.frames_to_send()
            if frames:
                self._send_now(frames)

    def _send_now(self, frames: Sequence[Frame]) -> None:
        """Send small frames (SYNC, RECEIPT, NACK, FETCH) at once, whatever the buffer."""
        try:
            self.session.send_frames(frames)
        except LocalProtocolError:
            raise SessionGoneError from None

    async def _send(self, frames: Iterable[Frame]) -> None:
        """Send frames in order, each once the transport takes more (back-pressure)."""
        for frame in frames:
            await self.session.wait_writable()
            self._send_now([frame])

    async def _send_groups(self, groups: Iterable[_Group]) -> None:
        sent_at = self.courier.sent_at
        for envelopes, head in groups:
            await self._send(pack_envelopes(envelope.encode() for envelope in envelopes))
            await self._send([HeadFrame(head.encode())])
            now = _now_ms()  # a receipt's time is checked against when its envelope went
            for envelope in envelopes:
                sent_at.setdefault(envelope.seq, now)

    # --- The writer ---------------------------------------------------------------------------
    async def _writer(self) -> None:
        async def run() -> None:
            await self._start()
            while True:
                if not self._events:
                    self._has_events.clear()
                    await self._has_events.wait()
                    continue
                await self._act(self._events.popleft())

        await self._guarded(run)

    async def _guarded(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run a task's work; a failure ends the session (the next one starts from the store),
        never the station."""
        try:
            await work()
        except SessionGoneError:
            return
        except StoreCorruptError as exc:  # the next session fails the same way: say so loudly
            log_event(
                _log,
                logging.CRITICAL,
                "ALARM the store is damaged; session closed",
                peer=self.courier.peer,
                error=exc,
            )
            self.courier.alarm(AlarmKind.RECORD, f"the store is damaged: {exc}")
            self._close(CloseReason.GOING_AWAY, "store failure")
        except StoreError as exc:
            self._store_failed(exc)
        except Exception as exc:  # a bug: loud, and contained to this session
            log_event(
                _log,
                logging.CRITICAL,
                "courier failed; session closed",
                peer=self.courier.peer,
                error=type(exc).__name__,
                detail=exc,
            )
            self._close(CloseReason.GOING_AWAY, "internal error")

    async def _act(self, event: Event | CheckpointEvent) -> None:
        courier = self.courier
        assert self._exchange is not None and self._checkpoints is not None
        if isinstance(event, CheckpointEvent):  # the checkpointing adapter carries them out
            await self._checkpoints.act(event)
        elif isinstance(event, Deliverable):
            await self._deliver(event)
        elif isinstance(event, ReceiptAccepted):
            await self._receipted_up_to(event)
        elif isinstance(event, Synced):
            resent = 0
            if not self._halted_out:  # nothing of a halted direction is sent (§4.8)
                resent = await self._resend(event.resend_after)
            # After the envelopes they name, before any proposal of ours: a lost
            # counter-signature, or a peer restored from an older copy (§4.10).
            checkpoints = await self._checkpoints.resend(event.checkpoint)
            self.synced = True
            log_event(
                _log,
                logging.INFO,
                "synced",
                peer=courier.peer,
                resent=resent,
                checkpoints=checkpoints,
            )
            loop = asyncio.get_running_loop()
            if not self._halted_out:
                self._tasks.append(
                    loop.create_task(self._sender(), name=f"hotline-sender-{courier.peer}")
                )
            self._tasks.append(
                loop.create_task(
                    self._guarded(self._checkpoints.propose_while_moving),
                    name=f"hotline-checkpoints-{courier.peer}",
                )
            )
        elif isinstance(event, Refuse):
            await self._refuse(event)
        elif isinstance(event, PeerRefused):
            await self._peer_refused(event.nack)
        elif isinstance(event, FetchRequested):
            await self._answer_fetch(event.from_seq)
        elif isinstance(event, Recovered):
            await self._recover(event)
        elif isinstance(event, ChainsDisagree):
            log_event(
                _log,
                logging.CRITICAL,
                "ALARM the peer holds another chain of ours; nothing is sent",
                peer=courier.peer,
                seq=event.theirs.seq,
                ours=event.ours.hash[:8].hex() if event.ours else "none",
                theirs=event.theirs.hash[:8].hex(),
            )
            courier.alarm(
                AlarmKind.RECORD, f"the peer holds another chain of ours at #{event.theirs.seq}"
            )
        elif isinstance(event, Resync):
            log_event(_log, logging.WARNING, "resync", peer=courier.peer, why=event.text)
            self._close(CloseReason.NORMAL, event.text)
        elif isinstance(event, ProtocolViolation):
            log_event(
                _log, logging.WARNING, "peer broke delivery", peer=courier.peer, error=event.text
            )
            self._close(CloseReason.PROTOCOL_ERROR, event.text)
        else:
            assert_never(event)

    def _take_deliverables(self, first: Deliverable) -> tuple[list[Envelope], list[ChainHead]]:
        """``first`` and every Deliverable queued right behind it: one commit, one receipt."""
        envelopes, heads = list(first.envelopes), list(first.heads)
        while self._events and isinstance(self._events[0], Deliverable):
            more = self._events.popleft()
            assert isinstance(more, Deliverable)
            envelopes.extend(more.envelopes)
            heads.extend(more.heads)
        return envelopes, heads

    async def _deliver(self, first: Deliverable) -> None:
        courier = self.courier
        envelopes, heads = self._take_deliverables(first)
        peer_direction = courier.direction.other
        ids = [new_message_id().hex() for _ in envelopes]
        now_ms = _now_ms()

        def deliver(chains: Chains) -> Receipt:
            crashpoint("deliver.before_commit")
            return chains.deliver(
                courier.line_id,
                peer_direction,
                peer=courier.peer,
                envelopes=envelopes,
                heads=heads,
                signer=courier.signer,
                now_ms=now_ms,
                message_ids=ids,
            )

        receipt = await courier.call(deliver)
        courier.watch.delivered(courier.peer, list(zip(ids, envelopes, strict=True)), now_ms)
        crashpoint("deliver.after_commit")
        assert self._exchange is not None
        self._exchange.committed(peer_direction, envelopes[-1].seq)
        self._uncommitted -= len(envelopes)
        self._peer_tip = envelopes[-1].header.ref
        log_event(
            _log,
            logging.INFO,
            "delivered",
            peer=courier.peer,
            seq=f"{envelopes[0].seq}-{envelopes[-1].seq}",
            count=len(envelopes),
        )
        self._send_now([ReceiptFrame(receipt.encode())])
        self._check_send_times(envelopes, now_ms)

    def _check_send_times(self, envelopes: Sequence[Envelope], received_at_ms: int) -> None:
        """The peer's send times are its word in the record: one its own clock could not have
        read (after we got it, or before its previous envelope) raises the clock alarm now,
        not only when a checkpoint later contradicts it (§8)."""
        slack = CLOCK_SKEW_BOUND_MS + self._rtt_ms()
        for envelope in envelopes:
            sent = envelope.header.sequenced_at_ms
            previous, self._peer_sent_ms = self._peer_sent_ms, sent
            if send_time_plausible(sent, previous, received_at_ms, slack):
                continue
            log_event(
                _log,
                logging.ERROR,
                "ALARM send time implausible: the clocks disagree",
                peer=self.courier.peer,
                seq=envelope.seq,
                sequenced_at=sent,
                previous=previous,
                now=received_at_ms,
            )
            self.courier.alarm(
                AlarmKind.CLOCK_SKEW,
                f"{self.courier.peer}'s envelope #{envelope.seq} says it was sent at {sent},"
                " which its clock cannot have read (after we received it, or before its"
                " previous one)",
            )
            return

    async def _receipted_up_to(self, event: ReceiptAccepted) -> None:
        courier = self.courier
        receipt = event.receipt
        now = self._receipt_arrivals.pop(receipt.seq, None) or _now_ms()
        ids = await courier.call(
            lambda chains: chains.accept_receipt(courier.line_id, receipt, now_ms=now)
        )
        crashpoint("receipt.after_commit")
        sent_at = courier.sent_at.get(receipt.seq)
        if sent_at is not None and not receipt_time_plausible(
            receipt.receipted_at_ms, sent_at, now, CLOCK_SKEW_BOUND_MS
        ):
            log_event(
                _log,
                logging.ERROR,
                "ALARM receipt time implausible: the clocks disagree",
                peer=courier.peer,
                seq=receipt.seq,
                receipted_at=receipt.receipted_at_ms,
                sent_at=sent_at,
                now=now,
            )
            courier.alarm(
                AlarmKind.CLOCK_SKEW,
                f"the receipt of #{receipt.seq} is timed outside the clocks' bound",
            )
        for seq in [seq for seq in courier.sent_at if seq <= receipt.seq]:
            del courier.sent_at[seq]
        self._receipted = receipt.ref
        courier.work.set()  # the window has room again
        if ids:
            log_event(_log, logging.INFO, "receipted", peer=courier.peer, seq=receipt.seq)

    async def _resend(self, after: int) -> int:
        """Send our envelopes the peer does not hold yet, head group by head group (§4.3 case
        3); return how many."""
        courier = self.courier
        resent = self._own_tip.seq - after
        while after < self._own_tip.seq:
            groups = await self._segment(courier.direction, after)
            if not groups:
                break
            await self._send_groups(groups)
            after = groups[-1][1].seq
        return resent

    async def _answer_fetch(self, from_seq: int) -> None:
        """Give the peer back its own envelopes we hold (§4.6)."""
        courier = self.courier
        after = from_seq - 1
        while groups := await self._segment(courier.direction.other, after):
            await self._send_groups(groups)
            after = groups[-1][1].seq

    async def _segment(self, direction: Direction, after: int) -> list[_Group]:
        """The stored envelopes of ``direction`` after ``after``, in head groups."""
        line_id = self.courier.line_id

        def segment(chains: Chains) -> list[_Group]:
            return chains.segment(line_id, direction, after_seq=after, limit=RESEND_STEP)

        return await self.courier.call(segment)

    async def _recover(self, event: Recovered) -> None:
        courier = self.courier
        envelopes, heads = event.envelopes, event.heads
        ids = await courier.call(
            lambda chains: chains.recover(
                courier.line_id,
                courier.direction,
                envelopes=envelopes,
                heads=heads,
                now_ms=_now_ms(),
            )
        )
        assert self._exchange is not None
        self._exchange.committed(courier.direction, envelopes[-1].seq)
        self._own_tip = envelopes[-1].header.ref
        log_event(
            _log,
            logging.WARNING,
            "own envelopes recovered from the peer",
            peer=courier.peer,
            seq=f"{envelopes[0].seq}-{envelopes[-1].seq}",
            matched_outbox=len(ids),
        )

    async def _refuse(self, event: Refuse) -> None:
        nack = await self._store_refusal(event)
        self._send_now([NackFrame(nack.encode())])

    async def _store_refusal(self, event: Refuse) -> Nack:
        """Sign the NACK, store it with the halt it causes, and raise the alarm."""
        courier = self.courier
        now = _now_ms()

        def refuse(chains: Chains) -> Nack:
            nack = Nack.refusing(
                courier.signer,
                event.error,
                line_id=courier.line_id,
                direction=event.direction,
                subject=event.subject,
                refused_at_ms=now,
                fallback_seq=event.fallback_seq,
            )
            chains.halt(courier.line_id, event.direction, nack=nack, issued=True, now_ms=now)
            return nack

        nack = await courier.call(refuse)
        self._halted(nack, "ALARM refused an item from the peer; direction halted", event.error)
        return nack

    async def _peer_refused(self, nack: Nack) -> None:
        courier = self.courier
        now = _now_ms()
        await courier.call(
            lambda chains: chains.halt(
                courier.line_id, nack.direction, nack=nack, issued=False, now_ms=now
            )
        )
        self._halted(nack, "ALARM the peer refused our item; direction halted", nack.text)

    def _halted(self, nack: Nack, alarm: str, why: object) -> None:
        """A NACK halted its direction (stored): stop sending if it is ours, and alarm."""
        courier = self.courier
        ours = nack.direction == courier.direction
        if ours:
            self._halted_out = True
        log_event(
            _log,
            logging.CRITICAL,
            alarm,
            peer=courier.peer,
            direction="out" if ours else "in",
            subject=nack.subject.name,
            reason=nack.reason.name,
            seq=nack.seq,
            error=why,
            remedy=f"see docs/operations.md, then: hotline resume {courier.peer}",
        )
        courier.alarm(
            AlarmKind.HALTED,
            f"direction {'out' if ours else 'in'} halted: {nack.reason.name} at #{nack.seq}"
            f" ({why}); see docs/operations.md",
        )

    # --- The sender ---------------------------------------------------------------------------
    def _sequencer(self, limit: int) -> Callable[[Chains], Sequenced | None]:
        courier = self.courier

        def sequence(chains: Chains) -> Sequenced | None:
            return chains.sequence(
                courier.line_id,
                courier.direction,
                limit=limit,
                signer=courier.signer,
                now_ms=_now_ms(),
            )

        return sequence

    async def _sender(self) -> None:
        await self._guarded(self._send_batches)

    async def _send_batches(self) -> None:
        courier = self.courier
        while not self._halted_out:
            room = courier.window - (self._own_tip.seq - self._receipted.seq)
            if room <= 0:
                courier.work.clear()
                await courier.work.wait()
                continue
            courier.work.clear()
            batch = await courier.call(self._sequencer(min(room, MAX_SEQUENCE_BATCH)))
            if batch is None:
                await courier.work.wait()
                continue
            crashpoint("sequence.after_commit")
            self._own_tip = batch.head.ref
            await self._send_groups(batch.groups)
            crashpoint("send.after_write")
