"""A paired peer that lies (issue 7): forged heads, broken chains, equivocation, gaps, garbage.

The liar is a real, paired station driven by hand in this process (:mod:`.hostile`); the
victim is a real ``hotline serve``, also paired with an honest station. A refused item is
answered with a NACK signed by the victim, its direction is halted (across restarts too) and
the alarm raised; a frame of a wrong layout, or bytes that are no AEAD message, only close the
session. Whatever the attack, the victim keeps carrying its other line and its store stays
sound.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from hotline.delivery import Envelopes, NackFrame, ReceiptFrame
from hotline.identity import StationKeys
from hotline.record import (
    CHAIN_HEAD_LEN,
    CHECKPOINT_LEN,
    MAX_CHECKPOINT_NUMBER,
    ZERO_HASH,
    ChainRef,
    Envelope,
    Nack,
    NackReason,
    Receipt,
    Subject,
)
from hotline.signatures import SigningKeys

from .hostile import RAW, UNKNOWN_TYPE, Hostile, HostileSession
from .stations import Station, World, fast, stop_all, wait_until

REFUSED = "ALARM refused an item from the peer; direction halted"
HALTED = "ALARM direction halted"


def attack_world(world: World) -> tuple[Station, Station, Hostile]:
    """Jerusalem (the victim), paired with Moscow (honest, served) and Mallory (hostile)."""
    victim, good, mallory = (world.station(name) for name in ("jerusalem", "moscow", "mallory"))
    world.pair(victim, good)
    world.pair(victim, mallory)
    for station in (victim, good):
        station.configure(fast())
        station.serve()
    hostile = Hostile(mallory, victim)
    wait_until(lambda: victim.state("moscow") == "up", 20, "the honest line up")
    return victim, good, hostile


def log_lines(station: Station, event: str, log: str | None = None) -> list[str]:
    text = station.log if log is None else log
    return [line for line in text.splitlines() if event in line]


def inbox(station: Station, peer: str) -> list[str]:
    return [message.text for message in station.client().inbox(peer)]


async def refusal(session: HostileSession) -> Nack:
    frame = await session.next(NackFrame)
    return Nack.decode(frame.item)


def check_refusal(
    victim: Station,
    hostile: Hostile,
    nack: Nack,
    *,
    reason: NackReason,
    subject: Subject,
    seq: int,
    item_hash: bytes,
) -> None:
    """The NACK is the victim's, for our direction, and its alarm was logged once."""
    assert nack.verify(hostile.victim_keys)
    assert (nack.line_id, nack.direction) == (hostile.line_id, hostile.direction)
    assert (nack.reason, nack.subject, nack.seq, nack.item_hash) == (
        reason,
        subject,
        seq,
        item_hash,
    )
    wait_until(lambda: bool(log_lines(victim, REFUSED)), 10, "the victim's alarm")
    [alarm] = log_lines(victim, REFUSED)
    assert " critical " in alarm
    for field in (
        "peer=mallory",
        "direction=in",
        f"subject={subject.name}",
        f"reason={reason.name}",
    ):
        assert field in alarm, alarm
    assert inbox(victim, "mallory") == []


def still_serving(victim: Station, good: Station) -> None:
    """The honest line carries messages both ways; the store, the API and status are sound."""
    good.client().send("jerusalem", "moscow, after the attack")
    victim.client().send("moscow", "jerusalem, after the attack")

    def both_ways() -> bool:
        return (
            inbox(victim, "moscow") == ["moscow, after the attack"]
            and inbox(good, "jerusalem") == ["jerusalem, after the attack"]
            and not victim.client().outbox("moscow")
        )

    wait_until(both_ways, 20, "the honest line delivers both ways")
    status = victim.cli_status()
    states = {line["peer"]: line["state"] for line in status["lines"]}
    assert states["moscow"] == "up"
    assert set(states) == {"moscow", "mallory"}
    assert victim.client().outbox("mallory") == []
    assert "Traceback" not in victim.log
    assert "never awaited" not in victim.log
    assert "courier failed" not in victim.log
    assert "store failed" not in victim.log
    stop_all(victim, good)
    assert victim.process is not None and victim.process.returncode == 0


def other_signer() -> SigningKeys:
    keys = StationKeys.generate()
    return SigningKeys(keys.ed25519, keys.mldsa87)


@pytest.mark.timeout(60)
def test_a_forged_head_halts_the_direction_even_after_a_restart(world: World) -> None:
    victim, good, hostile = attack_world(world)
    writer = hostile.writer()
    envelope = hostile.envelope(writer, "signed by someone else")
    forged = hostile.head(writer, other_signer())

    async def forge() -> Nack:
        async with hostile.session() as session:
            session.send_sync()
            session.deliver([envelope], forged)
            return await refusal(session)

    nack = asyncio.run(forge())
    check_refusal(
        victim,
        hostile,
        nack,
        reason=NackReason.BAD_SIGNATURE,
        subject=Subject.CHAIN_HEAD,
        seq=1,
        item_hash=envelope.hash,
    )
    # A restart keeps the halt: the stored NACK is re-sent byte for byte, the alarm raised
    # again, and even an honestly signed head for the envelope is ignored.
    stop_all(victim)
    victim.serve()
    wait_until(lambda: victim.state("moscow") == "up", 20, "the honest line up again")

    async def again() -> tuple[bytes, list[ReceiptFrame]]:
        async with hostile.session() as session:
            session.send_sync()
            standing = await session.next(NackFrame)
            session.deliver([envelope], hostile.head(writer))
            await asyncio.sleep(1.0)
            return standing.item, session.of(ReceiptFrame)

    standing, receipts = asyncio.run(again())
    assert standing == nack.encode()
    assert receipts == []
    [halted] = log_lines(victim, HALTED, victim.logs[-1].read_text())
    for field in ("peer=mallory", "direction=in", "reason=BAD_SIGNATURE", "seq=1"):
        assert field in halted, halted
    assert inbox(victim, "mallory") == []
    still_serving(victim, good)


@pytest.mark.timeout(60)
def test_a_broken_chain_is_refused(world: World) -> None:
    victim, good, hostile = attack_world(world)
    writer = hostile.writer()
    first = hostile.envelope(writer, "first")
    wrong = hostile.writer(tip=ChainRef(1, os.urandom(64)))
    second = hostile.envelope(wrong, "second, linked to nothing")

    async def attack() -> Nack:
        async with hostile.session() as session:
            session.send_sync()
            session.deliver([first, second], hostile.head(wrong))
            return await refusal(session)

    nack = asyncio.run(attack())
    check_refusal(
        victim,
        hostile,
        nack,
        reason=NackReason.BROKEN_CHAIN,
        subject=Subject.ENVELOPE,
        seq=2,
        item_hash=second.hash,
    )
    still_serving(victim, good)


@pytest.mark.timeout(60)
def test_another_envelope_for_a_receipted_seq_is_equivocation(world: World) -> None:
    victim, good, hostile = attack_world(world)
    writer = hostile.writer()
    honest = hostile.envelope(writer, "the first, as receipted")
    honest_head = hostile.head(writer)

    async def deliver() -> Receipt:
        async with hostile.session() as session:
            session.send_sync()
            session.deliver([honest], honest_head)
            frame = await session.next(ReceiptFrame)
            return Receipt.decode(frame.item)

    receipt = asyncio.run(deliver())
    assert receipt.verify(hostile.victim_keys)
    assert (receipt.seq, receipt.envelope_hash) == (1, honest.hash)
    assert inbox(victim, "mallory") == ["the first, as receipted"]

    rewriter = hostile.writer()
    other = hostile.envelope(rewriter, "the first, as Mallory now tells it")
    other_head = hostile.head(rewriter)

    async def equivocate() -> tuple[ChainRef, Nack]:
        async with hostile.session() as session:  # a new session: the victim's SYNC has #1
            session.send_sync(sent=other.header.ref)
            session.deliver([other], other_head)
            return session.sync.received, await refusal(session)

    received, nack = asyncio.run(equivocate())
    assert received == ChainRef(1, honest.hash)
    assert nack.verify(hostile.victim_keys)
    assert (nack.reason, nack.subject, nack.seq, nack.item_hash) == (
        NackReason.EQUIVOCATION,
        Subject.ENVELOPE,
        1,
        other.hash,
    )
    wait_until(lambda: bool(log_lines(victim, REFUSED)), 10, "the victim's alarm")
    [alarm] = log_lines(victim, REFUSED)
    assert "reason=EQUIVOCATION" in alarm and "direction=in" in alarm
    assert inbox(victim, "mallory") == ["the first, as receipted"]  # the record kept, unchanged
    still_serving(victim, good)


@pytest.mark.timeout(60)
def test_a_gap_is_refused(world: World) -> None:
    victim, good, hostile = attack_world(world)
    writer = hostile.writer(tip=ChainRef(2, os.urandom(64)))
    third = hostile.envelope(writer, "number three, after nothing")

    async def attack() -> Nack:
        async with hostile.session() as session:
            session.send_sync(sent=third.header.ref)
            session.deliver([third], hostile.head(writer))
            return await refusal(session)

    nack = asyncio.run(attack())
    check_refusal(
        victim,
        hostile,
        nack,
        reason=NackReason.GAP,
        subject=Subject.ENVELOPE,
        seq=3,
        item_hash=third.hash,
    )
    still_serving(victim, good)


@pytest.mark.timeout(60)
def test_an_envelope_that_does_not_decode_is_refused_as_malformed(world: World) -> None:
    victim, good, hostile = attack_world(world)
    cut = hostile.envelope(hostile.writer(), "cut short").encode()[:200]  # half a header

    async def attack() -> Nack:
        async with hostile.session() as session:
            session.send_sync()
            session.send(Envelopes((cut,)))
            return await refusal(session)

    nack = asyncio.run(attack())
    check_refusal(
        victim,
        hostile,
        nack,
        reason=NackReason.MALFORMED,
        subject=Subject.ENVELOPE,
        seq=1,
        item_hash=ZERO_HASH,
    )
    still_serving(victim, good)


def unknown_type(session: HostileSession) -> None:
    session.send(RAW[UNKNOWN_TYPE](b"what is this"))


def oversized_head(session: HostileSession) -> None:
    session.send(RAW[0x12](bytes(CHAIN_HEAD_LEN + 1)))


def not_aead(session: HostileSession) -> None:
    session.write_bytes(os.urandom(200))


def checkpoint_past_the_last(session: HostileSession) -> None:
    """A SYNC claiming we proposed a checkpoint numbered past the last: our next would not fit."""
    session.send(RAW[0x10](bytes(144) + (MAX_CHECKPOINT_NUMBER + 1).to_bytes(8, "big")))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        (unknown_type, "malformed frame"),
        (oversized_head, "malformed frame"),
        (not_aead, "decryption failed"),
        (checkpoint_past_the_last, "malformed frame"),
    ],
    ids=["unknown-type", "oversized-head", "not-aead", "checkpoint-past-the-last"],
)
def test_garbage_closes_the_session_and_halts_nothing(
    world: World, garbage: Callable[[HostileSession], None], reason: str
) -> None:
    victim, good, hostile = attack_world(world)

    async def attack() -> None:
        async with hostile.session() as session:
            session.send_sync()
            garbage(session)
            await session.ended()

    asyncio.run(attack())
    wait_until(
        lambda: any(f'reason="{reason}"' in line for line in log_lines(victim, "line down")),
        10,
        "the victim dropped the session",
    )
    # The dropped session is mallory's (a redial may add an earlier, unrelated "line down").
    dropped = [line for line in log_lines(victim, "line down") if f'reason="{reason}"' in line]
    assert dropped and all("peer=mallory" in line for line in dropped)
    assert "ALARM" not in victim.log
    # Nothing was halted: the next session delivers.
    writer = hostile.writer()
    envelope: Envelope = hostile.envelope(writer, "honest at last")

    async def honest() -> Receipt:
        async with hostile.session() as session:
            session.send_sync()
            session.deliver([envelope], hostile.head(writer))
            return Receipt.decode((await session.next(ReceiptFrame)).item)

    receipt = asyncio.run(honest())
    assert (receipt.seq, receipt.envelope_hash) == (1, envelope.hash)
    assert inbox(victim, "mallory") == ["honest at last"]
    still_serving(victim, good)


@pytest.mark.timeout(60)
def test_a_checkpoint_frame_before_sync_ends_the_session(world: World) -> None:
    """Every delivery frame follows the peer's SYNC (docs/protocol.md §4.2), checkpoint frames
    too: one sent first is a protocol violation, and stores nothing."""
    victim, good, hostile = attack_world(world)

    async def attack() -> None:
        async with hostile.session() as session:
            session.send(RAW[0x19](bytes(CHECKPOINT_LEN)))
            await session.ended()

    asyncio.run(attack())
    wait_until(
        lambda: any("CheckpointResend before SYNC" in line for line in log_lines(victim, "peer")),
        10,
        "the victim refused the frame",
    )
    assert victim.checkpoints() == []
    assert "ALARM" not in victim.log
    still_serving(victim, good)
