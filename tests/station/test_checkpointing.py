"""The courier's checkpoint adapter (docs/protocol.md §4.10), against a peer played by the
sans-IO :class:`Checkpoints`: how it numbers its proposals (above its own stored ones and above
what the peer's SYNC says it stored, never lower, never past the last number, whatever the peer
claims), and that a checkpoint the peer counter-signed is stored even if the session ends."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

import pytest

from hotline.api import LineUnavailableError
from hotline.constants import CHECKPOINT_RESEND_STEP, CLOCK_SKEW_BOUND_MS
from hotline.delivery import (
    CheckpointProposal,
    CheckpointResend,
    CheckpointResent,
    Checkpoints,
    CosignWanted,
    CountersignWanted,
)
from hotline.record import GENESIS, MAX_CHECKPOINT_NUMBER, Checkpoint, CheckpointBody, Direction
from hotline.session import Frame
from hotline.station._checkpointing import Checkpointing
from hotline.store import StoreError, StoreWriteError
from hotline.watch import AlarmKind
from tests.record.helpers import FIRST, LINE_ID, SECOND


class Chains:
    """The store calls checkpointing makes: the checkpoints stored are kept."""

    def __init__(self) -> None:
        self.stored: list[Checkpoint] = []
        self.failure: StoreError | None = None
        #: Stored items damaged on disk, by number.
        self.damaged: dict[int, bytes] = {}

    def store_checkpoint(self, checkpoint: Checkpoint, *, now_ms: int) -> bool:
        if self.failure is not None:
            raise self.failure
        self.stored.append(checkpoint)
        return True

    def checkpoint_items(
        self, line_id: bytes, proposer: Direction, *, above: int, limit: int
    ) -> list[tuple[int, bytes]]:
        mine = [c for c in self.stored if c.body.proposer == proposer and c.body.number > above]
        mine.sort(key=lambda c: c.body.number)
        return [(c.body.number, self.damaged.get(c.body.number, c.encode())) for c in mine[:limit]]


class Courier:
    """What checkpointing asks of a line's courier, with the alarms kept."""

    peer = "bravo"
    line_id = LINE_ID
    direction = Direction.FIRST
    signer = FIRST.keys
    own_keys = FIRST.public
    peer_keys = SECOND.public

    def __init__(self) -> None:
        self.alarms: list[tuple[AlarmKind, str]] = []
        self.chains = Chains()
        #: Jobs queued in "the store's thread", run by :meth:`run_store`.
        self.queued: list[tuple[Callable[[Chains], object], Future[object]]] = []

    async def call(self, job: Callable[[Chains], object]) -> object:
        await asyncio.sleep(0)
        return job(self.chains)

    def submit(self, job: Callable[[Chains], object]) -> Future[object]:
        """Queue a job: it runs when the test says (:meth:`run_store`)."""
        future: Future[object] = Future()
        self.queued.append((job, future))
        return future

    def run_store(self) -> None:
        """The store's thread: run what is queued, in order (a cancelled job is skipped)."""
        queued, self.queued = self.queued, []
        for job, future in queued:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job(self.chains))
                except StoreError as exc:
                    future.set_exception(exc)

    def stored(self, direction: Direction, seq: int) -> bytes | None:
        return None

    def alarm(self, kind: AlarmKind, text: str) -> None:
        self.alarms.append((kind, text))


def make(
    numbers: tuple[int, int], interval: float = 10.0
) -> tuple[Checkpointing, Courier, list[Frame]]:
    courier, sent = Courier(), []

    async def send_paced(frames: Iterable[Frame]) -> None:
        sent.extend(frames)

    checkpointing = Checkpointing(
        courier,
        send=sent.extend,
        send_paced=send_paced,
        heads=lambda: (GENESIS, GENESIS),
        rtt_ms=lambda: 0,
        numbers=numbers,
        interval=interval,
    )
    return checkpointing, courier, sent


def proposed(frames: list[Any]) -> list[int]:
    return [
        CheckpointBody.decode(frame.item).number
        for frame in frames
        if isinstance(frame, CheckpointProposal)
    ]


async def test_the_next_number_follows_the_store_and_the_peers_sync() -> None:
    checkpointing, _, sent = make((3, 0))
    checkpointing.propose_now()
    checkpointing.number_above(10)  # the peer stored up to 10: our store was older
    checkpointing.propose_now()
    checkpointing.number_above(2)  # a lower claim never takes a number back
    checkpointing.propose_now()
    assert proposed(sent) == [4, 11, 12]


async def test_a_peer_claiming_the_last_number_gets_no_proposal_and_one_alarm() -> None:
    checkpointing, courier, sent = make((3, 0))
    checkpointing.number_above(MAX_CHECKPOINT_NUMBER)
    for _ in range(3):
        with pytest.raises(LineUnavailableError, match="no checkpoint number is left"):
            await checkpointing.propose_now()
    assert proposed(sent) == []
    assert [kind for kind, _ in courier.alarms] == [AlarmKind.RECORD]


async def test_the_last_number_itself_is_still_proposed() -> None:
    checkpointing, courier, sent = make((0, 0))
    checkpointing.number_above(MAX_CHECKPOINT_NUMBER - 1)
    checkpointing.propose_now()
    assert proposed(sent) == [MAX_CHECKPOINT_NUMBER]
    assert not courier.alarms


async def counter_sign(
    checkpointing: Checkpointing, courier: Courier, sent: list[Frame]
) -> tuple[Checkpoint, Frame]:
    """Play the peer: it proposes checkpoint 1, we co-sign, it counter-signs; return the
    checkpoint and the counter-signature frame, not yet received."""
    peer = Checkpoints(
        line_id=LINE_ID,
        direction=Direction.SECOND,
        own_keys=SECOND.public,
        peer_keys=FIRST.public,
        stored=courier.stored,
        skew_bound_ms=CLOCK_SKEW_BOUND_MS,
    )
    now = time.time_ns() // 1_000_000
    (cosign,) = checkpointing.receive(peer.propose(1, (GENESIS, GENESIS), now))
    assert isinstance(cosign, CosignWanted)
    await checkpointing.act(cosign)
    (countersign,) = peer.receive(sent[-1], now, 0)
    assert isinstance(countersign, CountersignWanted)
    return peer.countersign(
        countersign.body, countersign.theirs, countersign.body.sign(SECOND.keys)
    )


async def test_a_counter_signed_checkpoint_is_stored_though_the_session_ends_at_once() -> None:
    """The peer stores a checkpoint as it counter-signs; its CLOSE may come in the same read."""
    checkpointing, courier, sent = make((0, 0))
    checkpoint, frame = await counter_sign(checkpointing, courier, sent)
    checkpointing.receive(frame)
    checkpointing.close()  # the session ended: the writer never reaches the event
    courier.run_store()
    assert courier.chains.stored == [checkpoint]


async def test_the_writer_cancelled_while_it_waits_does_not_cancel_the_store() -> None:
    checkpointing, courier, sent = make((0, 0))
    checkpoint, frame = await counter_sign(checkpointing, courier, sent)
    (complete,) = checkpointing.receive(frame)
    writer = asyncio.get_running_loop().create_task(checkpointing.act(complete))
    await asyncio.sleep(0)  # the writer waits for the store
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    courier.run_store()
    assert courier.chains.stored == [checkpoint]


async def test_a_store_failure_after_the_session_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nobody awaits the store once the session is gone: the adapter says it failed itself."""
    checkpointing, courier, sent = make((0, 0))
    _, frame = await counter_sign(checkpointing, courier, sent)
    courier.chains.failure = StoreWriteError("cannot write the store: the disk is full")
    checkpointing.receive(frame)
    checkpointing.close()
    with caplog.at_level(logging.ERROR, logger="hotline.delivery"):
        courier.run_store()
        for _ in range(3):  # the store's answer reaches the loop, then the future's callback
            await asyncio.sleep(0)
    assert [r.getMessage() for r in caplog.records] == ["checkpoint not stored"]
    assert courier.chains.stored == []


def signed(proposer: Direction, number: int) -> Checkpoint:
    """A checkpoint of empty chains both stations signed (direction 0's signature first)."""
    now = time.time_ns() // 1_000_000
    body = CheckpointBody(LINE_ID, proposer, number, (GENESIS, GENESIS), now, now)
    return Checkpoint(body, (body.sign(FIRST.keys), body.sign(SECOND.keys)))


async def test_the_checkpoints_the_peers_sync_lacks_are_sent_again_before_any_proposal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One step at session start; then, while more wait, one step per interval in place of a
    proposal, which would leave them below the peer's highest number for good."""
    checkpointing, courier, sent = make((40, 0), interval=0.01)
    courier.chains.stored = [signed(Direction.FIRST, n) for n in range(1, 41)]
    courier.chains.stored.append(signed(Direction.SECOND, 50))  # the peer's: never sent back
    with caplog.at_level(logging.INFO, logger="hotline.delivery"):
        assert await checkpointing.resend(3) == CHECKPOINT_RESEND_STEP
    assert "checkpoints sent again" in caplog.text
    timer = asyncio.get_running_loop().create_task(checkpointing.propose_while_moving())
    try:
        async with asyncio.timeout(5):
            while not proposed(sent):
                await asyncio.sleep(0.01)
    finally:
        timer.cancel()
    resent = [frame for frame in sent if isinstance(frame, CheckpointResend)]
    assert [Checkpoint.decode(frame.item).body.number for frame in resent] == list(range(4, 41))
    assert sent.index(resent[-1]) < len(sent) - 1  # the proposal came after the last of them
    assert proposed(sent) == [41]


async def test_a_peer_that_lacks_none_gets_none() -> None:
    checkpointing, courier, sent = make((2, 0))
    courier.chains.stored = [signed(Direction.FIRST, n) for n in (1, 2)]
    assert await checkpointing.resend(2) == 0 and sent == []


async def test_a_damaged_stored_checkpoint_raises_the_alarm_and_the_others_still_go() -> None:
    checkpointing, courier, sent = make((6, 0))
    courier.chains.stored = [signed(Direction.FIRST, n) for n in range(1, 7)]
    second = courier.chains.stored[1]
    uncosigned = dataclasses.replace(second.body, cosigned_at_ms=0)
    courier.chains.damaged = {
        2: Checkpoint(second.body, (second.signatures[1], second.signatures[0])).encode(),
        3: b"rot",
        4: courier.chains.stored[4].encode(),  # number 5's item in row 4
        5: Checkpoint(
            uncosigned, (uncosigned.sign(FIRST.keys), uncosigned.sign(SECOND.keys))
        ).encode(),
    }
    assert await checkpointing.resend(0) == 2
    assert [Checkpoint.decode(f.item).body.number for f in sent] == [1, 6]  # type: ignore[attr-defined]
    assert [kind for kind, _ in courier.alarms] == [AlarmKind.RECORD] * 4


async def test_a_checkpoint_the_peer_sends_again_is_stored_when_the_writer_takes_it() -> None:
    checkpointing, courier, _ = make((0, 0))
    checkpoint = signed(Direction.SECOND, 1)
    (resent,) = checkpointing.receive(CheckpointResend(checkpoint.encode()))
    assert isinstance(resent, CheckpointResent)
    assert courier.queued == []  # not stored on arrival: checked when the writer reaches it
    acting = asyncio.get_running_loop().create_task(checkpointing.act(resent))
    await asyncio.sleep(0)
    courier.run_store()
    await acting
    assert courier.chains.stored == [checkpoint] and not courier.alarms


async def test_a_forged_checkpoint_sent_again_raises_the_record_alarm() -> None:
    checkpointing, courier, _ = make((0, 0))
    good = signed(Direction.SECOND, 1)
    forged = Checkpoint(good.body, (good.signatures[1], good.signatures[1]))
    (declined,) = checkpointing.receive(CheckpointResend(forged.encode()))
    await checkpointing.act(declined)
    courier.run_store()
    assert courier.chains.stored == []
    assert [kind for kind, _ in courier.alarms] == [AlarmKind.RECORD]


async def test_a_second_checkpoint_under_a_number_held_raises_the_record_alarm() -> None:
    checkpointing, courier, _ = make((0, 0))
    courier.chains.store_checkpoint = lambda checkpoint, *, now_ms: False  # type: ignore[method-assign]
    checkpoint = signed(Direction.SECOND, 1)
    (resent,) = checkpointing.receive(CheckpointResend(checkpoint.encode()))
    acting = asyncio.get_running_loop().create_task(checkpointing.act(resent))
    await asyncio.sleep(0)
    courier.run_store()
    await acting
    await asyncio.sleep(0)  # the store's outcome reaches its callback
    assert [kind for kind, _ in courier.alarms] == [AlarmKind.RECORD]
