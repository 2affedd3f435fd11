"""Checkpoint steps between two stations (docs/protocol.md §4.10): both sign, or nobody does."""

from __future__ import annotations

import dataclasses

import pytest

from hotline.delivery import (
    DELIVERY_FRAMES,
    CheckpointComplete,
    CheckpointCosign,
    CheckpointCountersign,
    CheckpointDeclined,
    CheckpointProposal,
    CheckpointResend,
    CheckpointResent,
    Checkpoints,
    CosignWanted,
    CountersignWanted,
)
from hotline.record import (
    CHECKPOINT_LEN,
    GENESIS,
    MAX_CHECKPOINT_NUMBER,
    ChainRef,
    Checkpoint,
    Direction,
)
from tests.record.helpers import FIRST, LINE_ID, SECOND, T0, Station, build_chain

B = 1000
RTT = 20
CHAIN_A = build_chain(3, station=FIRST)
CHAIN_B = build_chain(2, station=SECOND)
HEADS = (CHAIN_A[-1].header.ref, CHAIN_B[-1].header.ref)


def hashes() -> dict[tuple[Direction, int], bytes]:
    """What both stations store: every envelope of both chains."""
    held = {(Direction.FIRST, e.seq): e.hash for e in CHAIN_A}
    held |= {(Direction.SECOND, e.seq): e.hash for e in CHAIN_B}
    return held


def side(station: Station, held: dict[tuple[Direction, int], bytes], **kw: int) -> Checkpoints:
    peer = SECOND if station is FIRST else FIRST
    return Checkpoints(
        line_id=LINE_ID,
        direction=station.direction,
        own_keys=station.public,
        peer_keys=peer.public,
        stored=lambda d, s: held.get((d, s)),
        skew_bound_ms=B,
        **kw,
    )


def wire(frame: object) -> object:
    """Through the codec, as the session carries it."""
    return DELIVERY_FRAMES.decode(DELIVERY_FRAMES.encode(frame))  # type: ignore[arg-type]


def run(
    a: Checkpoints, b: Checkpoints, *, heads: tuple[ChainRef, ChainRef] = HEADS, skew: int = 0
) -> tuple[object, object]:
    """A (FIRST) proposes at T0; B answers at T0 + skew; return what each side ends with."""
    (wanted,) = b.receive(wire(a.propose(1, heads, T0)), T0 + skew, RTT)
    if not isinstance(wanted, CosignWanted):
        return None, wanted
    cosign = b.cosign(wanted.body, wanted.body.sign(SECOND.keys))
    (counter,) = a.receive(wire(cosign), T0 + 2 * RTT, RTT)
    if not isinstance(counter, CountersignWanted):
        return counter, None
    checkpoint, frame = a.countersign(counter.body, counter.theirs, counter.body.sign(FIRST.keys))
    (done,) = b.receive(wire(frame), T0 + skew + RTT, RTT)
    return checkpoint, done


def test_both_sign_and_hold_the_same_checkpoint() -> None:
    held = hashes()
    checkpoint, done = run(side(FIRST, held), side(SECOND, held))
    assert isinstance(done, CheckpointComplete)
    assert done.checkpoint == checkpoint
    assert done.checkpoint.verify((FIRST.public, SECOND.public))
    body = done.checkpoint.body
    assert body.heads == HEADS and body.proposer is Direction.FIRST and body.number == 1
    assert body.proposed_at_ms == T0 and body.cosigned_at_ms == T0


def test_a_proposal_from_a_clock_beyond_the_bound_is_declined_with_the_clock_alarm() -> None:
    held = hashes()
    _, declined = run(side(FIRST, held), side(SECOND, held), skew=B + RTT + 1)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "clock"
    _, within = run(side(FIRST, held), side(SECOND, held), skew=B + RTT)
    assert isinstance(within, CheckpointComplete)


def test_heads_we_do_not_hold_raise_the_record_alarm() -> None:
    held = hashes()
    wrong = ChainRef(3, bytes(range(64)))
    _, declined = run(side(FIRST, held), side(SECOND, held), heads=(wrong, HEADS[1]))
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"
    _, declined = run(
        side(FIRST, held), side(SECOND, held), heads=(HEADS[0], ChainRef(2, bytes(range(64))))
    )
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"


def test_a_peer_head_still_in_flight_is_declined_quietly() -> None:
    held = hashes()
    behind = dict(held)
    del behind[(Direction.FIRST, 3)]  # SECOND has not stored FIRST's envelope 3 yet
    _, declined = run(side(FIRST, held), side(SECOND, behind))
    assert isinstance(declined, CheckpointDeclined) and declined.alarm is None


def test_empty_directions_checkpoint_as_genesis() -> None:
    checkpoint, done = run(side(FIRST, {}), side(SECOND, {}), heads=(GENESIS, GENESIS))
    assert isinstance(done, CheckpointComplete) and done.checkpoint == checkpoint


def test_a_proposal_numbered_past_the_last_is_declined() -> None:
    """2**53 + 1 decodes as a u64 but no checkpoint has it (it would not fit the store)."""
    held = hashes()
    a, b = side(FIRST, held), side(SECOND, held)
    item = bytearray(a.propose(1, HEADS, T0).item)
    item[65:73] = (MAX_CHECKPOINT_NUMBER + 1).to_bytes(8, "big")  # after line id and proposer
    (declined,) = b.receive(CheckpointProposal(bytes(item)), T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"
    assert "2**53" in declined.reason


def test_a_replayed_proposal_is_declined() -> None:
    held = hashes()
    a, b = side(FIRST, held), side(SECOND, held, last_theirs=1)
    (declined,) = b.receive(wire(a.propose(1, HEADS, T0)), T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"
    (wanted,) = b.receive(wire(a.propose(2, HEADS, T0)), T0, RTT)
    assert isinstance(wanted, CosignWanted)


def test_forged_signatures_complete_nothing() -> None:
    held = hashes()
    a, b = side(FIRST, held), side(SECOND, held)
    (wanted,) = b.receive(wire(a.propose(1, HEADS, T0)), T0, RTT)
    assert isinstance(wanted, CosignWanted)
    forged = b.cosign(wanted.body, wanted.body.sign(FIRST.keys))  # not SECOND's key
    (declined,) = a.receive(wire(forged), T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"
    # A counter-signature by the wrong key, or for another checkpoint, completes nothing.
    (again,) = b.receive(wire(a.propose(2, HEADS, T0)), T0, RTT)
    assert isinstance(again, CosignWanted)
    b.cosign(again.body, again.body.sign(SECOND.keys))
    bad = CheckpointCountersign(Direction.FIRST, 2, again.body.sign(SECOND.keys))
    (declined,) = b.receive(wire(bad), T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"
    other = CheckpointCountersign(Direction.FIRST, 7, again.body.sign(FIRST.keys))
    (declined,) = b.receive(wire(other), T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm is None


def test_a_cosignature_of_no_pending_proposal_is_ignored() -> None:
    a = side(FIRST, hashes())
    stray = CheckpointCosign(Direction.FIRST, 1, T0, FIRST.keys.sign(b"x", b"y"))
    (declined,) = a.receive(wire(stray), T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm is None


def test_a_proposal_in_our_name_or_malformed_raises_the_record_alarm() -> None:
    held = hashes()
    b = side(SECOND, held)
    mine = side(SECOND, held).propose(1, HEADS, T0)  # proposer SECOND: not the peer
    (declined,) = b.receive(wire(mine), T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"
    assert isinstance(mine, CheckpointProposal)
    garbage = dataclasses.replace(mine, item=b"\xff" * len(mine.item))
    (declined,) = b.receive(garbage, T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"


@pytest.mark.parametrize("frame_type", [CheckpointCosign, CheckpointCountersign])
def test_checkpoint_frames_refuse_a_zero_number(frame_type: type) -> None:
    from hotline.session import FrameError

    signature = FIRST.keys.sign(b"x", b"y")
    args = (
        (Direction.FIRST, 1, T0, signature)
        if frame_type is CheckpointCosign
        else (
            Direction.FIRST,
            1,
            signature,
        )
    )
    data = bytearray(DELIVERY_FRAMES.encode(frame_type(*args)))
    data[3:11] = bytes(8)  # version, type, proposer, then the number
    with pytest.raises(FrameError):
        DELIVERY_FRAMES.decode(bytes(data))


# --- A checkpoint sent again (its counter-signature was lost with a session) -----------------
def lost_checkpoint(held: dict[tuple[Direction, int], bytes], number: int = 1) -> Checkpoint:
    """A checkpoint FIRST proposed and stored, whose counter-signature SECOND never read."""
    a, b = side(FIRST, held), side(SECOND, held)
    (wanted,) = b.receive(wire(a.propose(number, HEADS, T0)), T0, RTT)
    assert isinstance(wanted, CosignWanted)
    (counter,) = a.receive(wire(b.cosign(wanted.body, wanted.body.sign(SECOND.keys))), T0, RTT)
    assert isinstance(counter, CountersignWanted)
    checkpoint, _ = a.countersign(counter.body, counter.theirs, counter.body.sign(FIRST.keys))
    return checkpoint


def resent(b: Checkpoints, checkpoint: Checkpoint) -> object:
    """SECOND reads CK_RESEND, then takes it once the writer reaches it."""
    (event,) = b.receive(wire(CheckpointResend(checkpoint.encode())), T0, RTT)
    if not isinstance(event, CheckpointResent):
        return event
    return b.take_resent(event.checkpoint)


def test_a_checkpoint_sent_again_is_taken_and_raises_the_replay_floor() -> None:
    held = hashes()
    checkpoint = lost_checkpoint(held)
    b = side(SECOND, held)  # a new session: what it co-signed is forgotten
    assert resent(b, checkpoint) == checkpoint
    (replayed,) = b.receive(wire(side(FIRST, held).propose(1, HEADS, T0)), T0, RTT)
    assert isinstance(replayed, CheckpointDeclined) and "replayed" in replayed.reason


def test_checkpoints_sent_again_come_in_ascending_order_above_our_sync() -> None:
    held = hashes()
    lost = [lost_checkpoint(held, n) for n in range(1, 5)]
    b = side(SECOND, held, last_theirs=1)  # our SYNC said we hold its number 1
    assert [resent(b, checkpoint) for checkpoint in lost[1:]] == lost[1:]
    declined = resent(b, lost[2])  # going back
    assert isinstance(declined, CheckpointDeclined) and "out of order" in declined.reason
    declined = resent(side(SECOND, held, last_theirs=1), lost[0])  # what our SYNC said we hold
    assert isinstance(declined, CheckpointDeclined) and "out of order" in declined.reason


def test_after_a_refused_checkpoint_sent_again_the_session_takes_no_more() -> None:
    """A forged one still costs its signature checks; the next costs nothing."""
    held = hashes()
    good = lost_checkpoint(held, 2)
    forged = Checkpoint(good.body, (good.signatures[1], good.signatures[1]))
    b = side(SECOND, held)
    declined = resent(b, forged)
    assert isinstance(declined, CheckpointDeclined) and "forged" in declined.reason
    declined = resent(b, good)  # ignored: the refusal raised the alarm already
    assert isinstance(declined, CheckpointDeclined) and declined.alarm is None
    assert "after a refused one" in declined.reason
    assert resent(side(SECOND, held), good) == good  # the next session takes it


def test_a_checkpoint_sent_again_without_both_signatures_is_refused() -> None:
    held = hashes()
    checkpoint = lost_checkpoint(held)
    first, second = checkpoint.signatures
    for signatures in ((first, first), (second, second), (second, first)):
        forged = Checkpoint(checkpoint.body, signatures)
        declined = resent(side(SECOND, held), forged)
        assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"
        assert "forged" in declined.reason


def test_a_checkpoint_sent_again_in_our_name_or_malformed_is_refused() -> None:
    held = hashes()
    checkpoint = lost_checkpoint(held)
    # Received by its own proposer: not the peer's checkpoint.
    declined = resent(side(FIRST, held), checkpoint)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"
    garbage = CheckpointResend(b"\xff" * CHECKPOINT_LEN)
    (declined,) = side(SECOND, held).receive(wire(garbage), T0, RTT)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"


@pytest.mark.parametrize("direction", list(Direction))
def test_a_checkpoint_sent_again_is_checked_against_the_store_when_taken(
    direction: Direction,
) -> None:
    held = hashes()
    checkpoint = lost_checkpoint(held)
    head = checkpoint.body.head(direction)
    later = {key: digest for key, digest in held.items() if key != (direction, head.seq)}
    b = side(SECOND, later)
    (event,) = b.receive(wire(CheckpointResend(checkpoint.encode())), T0, RTT)
    assert isinstance(event, CheckpointResent)
    # Not stored yet (a store restored from an older copy): declined, no alarm.
    declined = b.take_resent(event.checkpoint)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm is None
    # Stored by the time the writer reaches it: taken.
    later[(direction, head.seq)] = head.hash
    assert b.take_resent(event.checkpoint) == checkpoint
    # Another envelope at the head's place: the records disagree.
    later[(direction, head.seq)] = bytes(range(64))
    declined = b.take_resent(event.checkpoint)
    assert isinstance(declined, CheckpointDeclined) and declined.alarm == "record"


def test_a_counter_signature_overtaken_by_the_next_proposal_still_completes() -> None:
    """The proposer's writer signs N while its timer sends N + 1: the co-signer co-signs N + 1
    before N's counter-signature arrives, and still takes it."""
    held = hashes()
    a, b = side(FIRST, held), side(SECOND, held)
    (first,) = b.receive(wire(a.propose(1, HEADS, T0)), T0, RTT)
    assert isinstance(first, CosignWanted)
    cosign_1 = b.cosign(first.body, first.body.sign(SECOND.keys))
    (counter,) = a.receive(wire(cosign_1), T0, RTT)
    assert isinstance(counter, CountersignWanted)
    (second,) = b.receive(wire(a.propose(2, HEADS, T0)), T0, RTT)
    assert isinstance(second, CosignWanted)
    b.cosign(second.body, second.body.sign(SECOND.keys))
    checkpoint, frame = a.countersign(counter.body, counter.theirs, counter.body.sign(FIRST.keys))
    (done,) = b.receive(wire(frame), T0, RTT)
    assert isinstance(done, CheckpointComplete) and done.checkpoint == checkpoint


@pytest.mark.parametrize("size", [CHECKPOINT_LEN - 1, CHECKPOINT_LEN + 1])
def test_ck_resend_is_exactly_one_checkpoint(size: int) -> None:
    from hotline.session import FrameError

    data = bytes([1, CheckpointResend.TYPE]) + bytes(size)
    with pytest.raises(FrameError):
        DELIVERY_FRAMES.decode(data)
