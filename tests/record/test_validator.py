"""ChainValidator: every refusal of docs/record-format.md §11, and what it must let through."""

from __future__ import annotations

import dataclasses

import pytest

from hotline.constants import MAX_HEADS_AHEAD, MAX_UNCOVERED_ENVELOPES
from hotline.record import (
    GENESIS,
    AckBody,
    BadSignatureError,
    BrokenChainError,
    ChainHaltedError,
    ChainHead,
    ChainRef,
    ChainState,
    ChainValidator,
    ChainWriter,
    CrossLinkError,
    Direction,
    Envelope,
    EquivocationError,
    GapError,
    HeadMismatchError,
    Kind,
    Precedence,
    RejectionError,
    UncoveredError,
    WrongLineError,
    check_cross_link,
)
from hotline.signatures import HybridSignature

from .helpers import FIRST, LINE_ID, OTHER_LINE_ID, SECOND, T0, build_chain, head_of, message


def validator(**kwargs: object) -> ChainValidator:
    return ChainValidator(LINE_ID, Direction.FIRST, FIRST.public, **kwargs)  # type: ignore[arg-type]


def feed(v: ChainValidator, envelopes: list[Envelope]) -> list[Envelope]:
    delivered: list[Envelope] = []
    for envelope in envelopes:
        delivered += v.receive_envelope(envelope)
    return delivered


CHAIN = build_chain(6)


def test_envelopes_wait_for_their_head_then_are_delivered_in_order() -> None:
    v = validator()
    assert feed(v, CHAIN[:4]) == []
    assert v.tip == CHAIN[3].header.ref and v.covered == GENESIS
    assert v.uncovered == tuple(CHAIN[:4])
    assert v.receive_head(head_of(CHAIN[1])) == tuple(CHAIN[:2])
    assert v.receive_head(head_of(CHAIN[3])) == tuple(CHAIN[2:4])
    assert v.covered == CHAIN[3].header.ref and v.uncovered == ()
    v.finish()
    assert v.state is ChainState.ACTIVE


def test_a_head_ahead_waits_for_its_envelopes() -> None:
    v = validator()
    assert v.receive_head(head_of(CHAIN[2])) == ()
    assert v.receive_envelope(CHAIN[0]) == ()
    assert v.receive_envelope(CHAIN[1]) == ()
    assert v.receive_envelope(CHAIN[2]) == tuple(CHAIN[:3])
    v.finish()


def test_duplicates_are_ignored_waiting_or_covered() -> None:
    v = validator()
    feed(v, CHAIN[:3])
    assert v.receive_envelope(CHAIN[1]) == ()  # waiting
    v.receive_head(head_of(CHAIN[2]))
    assert v.receive_envelope(CHAIN[0]) == ()  # covered
    assert v.receive_head(head_of(CHAIN[1])) == ()  # an older head, consistent
    assert v.receive_head(head_of(CHAIN[2])) == ()  # the same head again
    assert v.state is ChainState.ACTIVE


def test_a_gap_is_refused() -> None:
    v = validator()
    feed(v, CHAIN[:2])
    with pytest.raises(GapError) as caught:
        v.receive_envelope(CHAIN[3])
    assert caught.value.seq == 4 and caught.value.item_hash == CHAIN[3].hash


def test_a_broken_chain_is_refused() -> None:
    # Envelope 3 of a fork: it links to another envelope 2 than the one received.
    forked = build_chain(1, start=forged(CHAIN[1], "fork").header.ref)
    v = validator()
    feed(v, CHAIN[:2])
    with pytest.raises(BrokenChainError):
        v.receive_envelope(forked[0])


def forged(envelope: Envelope, text: str) -> Envelope:
    """Another envelope with the same seq and previous hash (what an equivocator sends)."""
    h = envelope.header
    return Envelope.create(
        line_id=h.line_id,
        direction=h.direction,
        seq=h.seq,
        prev_hash=h.prev_hash,
        cross=h.cross,
        queued_at_ms=h.queued_at_ms,
        sequenced_at_ms=h.sequenced_at_ms,
        precedence=h.precedence,
        kind=h.kind,
        body=message(text),
    )


def test_equivocation_on_a_covered_envelope_carries_both_hashes() -> None:
    v = validator()
    feed(v, CHAIN[:3])
    v.receive_head(head_of(CHAIN[2]))
    other = forged(CHAIN[1], "something else")
    with pytest.raises(EquivocationError) as caught:
        v.receive_envelope(other)
    assert caught.value.seq == 2
    assert (caught.value.accepted, caught.value.conflicting) == (CHAIN[1].hash, other.hash)


def test_equivocation_between_two_signed_heads() -> None:
    v = validator()
    feed(v, CHAIN[:2])
    v.receive_head(head_of(CHAIN[1]))
    with pytest.raises(EquivocationError):
        v.receive_head(head_of(forged(CHAIN[1], "rewritten history")))


def test_equivocation_between_two_heads_ahead() -> None:
    v = validator()
    v.receive_head(head_of(CHAIN[4]))
    with pytest.raises(EquivocationError):
        v.receive_head(head_of(forged(CHAIN[4], "other")))


def test_a_head_naming_another_uncovered_envelope_is_a_mismatch() -> None:
    v = validator()
    feed(v, CHAIN[:2])
    with pytest.raises(HeadMismatchError):
        v.receive_head(head_of(forged(CHAIN[1], "other")))
    # ... and the other way round: the head came first.
    v = validator()
    v.receive_head(head_of(forged(CHAIN[0], "other")))
    with pytest.raises(HeadMismatchError):
        v.receive_envelope(CHAIN[0])


def test_an_uncovered_envelope_is_never_delivered() -> None:
    v = validator()
    feed(v, CHAIN)
    v.receive_head(head_of(CHAIN[3]))
    assert v.covered.seq == 4
    with pytest.raises(UncoveredError) as caught:
        v.finish()
    assert caught.value.seq == 5


def test_a_head_beyond_the_last_envelope_is_a_gap_at_the_end() -> None:
    v = validator()
    feed(v, CHAIN[:2])
    v.receive_head(head_of(CHAIN[1]))
    v.receive_head(head_of(CHAIN[4]))
    with pytest.raises(GapError):
        v.finish()


def test_the_uncovered_window_is_bounded() -> None:
    chain = build_chain(MAX_UNCOVERED_ENVELOPES + 1)
    v = validator()
    feed(v, chain[:-1])
    with pytest.raises(UncoveredError):
        v.receive_envelope(chain[-1])


def test_heads_ahead_are_bounded() -> None:
    chain = build_chain(MAX_HEADS_AHEAD + 2)
    v = validator()
    v.receive_envelope(chain[0])
    for envelope in chain[1 : MAX_HEADS_AHEAD + 1]:
        v.receive_head(head_of(envelope))
    with pytest.raises(UncoveredError):
        v.receive_head(head_of(chain[-1]))


@pytest.mark.parametrize(
    "item",
    [
        build_chain(1, line_id=OTHER_LINE_ID)[0],
        build_chain(1, station=SECOND)[0],
        head_of(CHAIN[0], line_id=OTHER_LINE_ID),
        dataclasses.replace(head_of(CHAIN[0]), direction=Direction.SECOND),
    ],
    ids=[
        "envelope of another line",
        "envelope of the other direction",
        "head of another line",
        "head of the other direction",
    ],
)
def test_items_of_another_line_or_direction_are_refused(item: Envelope | ChainHead) -> None:
    v = validator()
    with pytest.raises(WrongLineError):
        if isinstance(item, Envelope):
            v.receive_envelope(item)
        else:
            v.receive_head(item)


@pytest.mark.parametrize("half", ["ed25519", "mldsa87", "signer"])
def test_a_head_with_a_bad_signature_is_refused(half: str) -> None:
    head = head_of(CHAIN[1])
    signature = head.signature
    if half == "ed25519":
        signature = HybridSignature(
            bytes([signature.ed25519[0] ^ 1]) + signature.ed25519[1:], signature.mldsa87
        )
    elif half == "mldsa87":
        signature = HybridSignature(
            signature.ed25519, signature.mldsa87[:-1] + bytes([signature.mldsa87[-1] ^ 1])
        )
    else:
        signature = head_of(CHAIN[1], station=SECOND).signature
    v = validator()
    feed(v, CHAIN[:2])
    with pytest.raises(BadSignatureError):
        v.receive_head(dataclasses.replace(head, signature=signature))
    assert v.covered == GENESIS


def test_a_refusal_halts_the_direction_for_good() -> None:
    v = validator()
    v.receive_envelope(CHAIN[0])
    with pytest.raises(GapError) as caught:
        v.receive_envelope(CHAIN[2])
    assert v.state is ChainState.HALTED and v.error is caught.value
    for action in (
        lambda: v.receive_envelope(CHAIN[1]),
        lambda: v.receive_head(head_of(CHAIN[0])),
        v.finish,
    ):
        with pytest.raises(ChainHaltedError, match="halted"):
            action()


def test_it_resumes_from_a_stored_tip_with_the_store_as_history() -> None:
    stored = {e.seq: e.hash for e in CHAIN[:3]}
    v = validator(tip=CHAIN[2].header.ref, history=stored.get)
    assert v.receive_envelope(CHAIN[1]) == ()  # a resend of a stored envelope
    with pytest.raises(EquivocationError):
        validator(tip=CHAIN[2].header.ref, history=stored.get).receive_envelope(
            forged(CHAIN[0], "x")
        )
    feed(v, CHAIN[3:])
    assert v.receive_head(head_of(CHAIN[5])) == tuple(CHAIN[3:])


def test_without_history_an_older_seq_is_a_bug_not_a_verdict() -> None:
    v = validator(tip=CHAIN[2].header.ref)
    with pytest.raises(ValueError, match="history"):
        v.receive_envelope(CHAIN[0])


# --- Cross-links and acknowledgements ----------------------------------------------------------
PEER = build_chain(3, station=SECOND)
PEER_HASHES = {e.seq: e.hash for e in PEER}


def crossed(refs: list[ChainRef]) -> list[Envelope]:
    """A chain with these cross-links, built without the writer (which refuses bad ones)."""
    chain: list[Envelope] = []
    for i, cross in enumerate(refs):
        chain.append(
            Envelope.create(
                line_id=LINE_ID,
                direction=Direction.FIRST,
                seq=i + 1,
                prev_hash=chain[-1].hash if chain else GENESIS.hash,
                cross=cross,
                queued_at_ms=T0,
                sequenced_at_ms=T0,
                precedence=Precedence.ROUTINE,
                kind=Kind.MESSAGE,
                body=message("crossed", i),
            )
        )
    return chain


def test_cross_links_may_advance_or_stay() -> None:
    chain = crossed([GENESIS, PEER[0].header.ref, PEER[0].header.ref, PEER[2].header.ref])
    v = validator(other=PEER_HASHES.get)
    feed(v, chain)
    assert v.receive_head(head_of(chain[-1])) == tuple(chain)


def test_a_cross_link_going_back_is_refused() -> None:
    chain = crossed([PEER[1].header.ref, PEER[0].header.ref])
    v = validator()
    v.receive_envelope(chain[0])
    with pytest.raises(CrossLinkError, match="goes back"):
        v.receive_envelope(chain[1])


def test_a_cross_link_changing_hash_at_the_same_seq_is_refused() -> None:
    chain = crossed([PEER[1].header.ref, ChainRef(2, PEER[0].hash)])
    v = validator()
    v.receive_envelope(chain[0])
    with pytest.raises(CrossLinkError, match="another #2"):
        v.receive_envelope(chain[1])


def test_a_cross_link_to_an_envelope_never_sent_is_refused() -> None:
    chain = crossed([ChainRef(9, PEER[0].hash)])
    with pytest.raises(CrossLinkError, match="does not hold"):
        validator(other=PEER_HASHES.get).receive_envelope(chain[0])
    # Without the other direction, only the order is checked.
    assert validator().receive_envelope(chain[0]) == ()


def ack(acked: ChainRef, cross: ChainRef) -> Envelope:
    writer = ChainWriter(LINE_ID, Direction.FIRST)
    body = AckBody(acked, "duty officer", "", bytes(32))
    return Envelope.create(
        line_id=LINE_ID,
        direction=Direction.FIRST,
        seq=1,
        prev_hash=writer.tip.hash,
        cross=cross,
        queued_at_ms=T0,
        sequenced_at_ms=T0,
        precedence=Precedence.FLASH,
        kind=Kind.ACK,
        body=body,
    )


def test_an_ack_of_a_received_envelope_is_accepted() -> None:
    envelope = ack(PEER[0].header.ref, PEER[1].header.ref)
    v = validator(other=PEER_HASHES.get)
    v.receive_envelope(envelope)
    assert v.receive_head(head_of(envelope)) == (envelope,)


@pytest.mark.parametrize(
    ("acked", "cross"),
    [
        (PEER[2].header.ref, PEER[1].header.ref),  # acknowledges what it had not received
        (ChainRef(2, PEER[0].hash), PEER[1].header.ref),  # with the wrong hash
        (ChainRef(1, PEER[2].hash), PEER[2].header.ref),  # wrong hash below the cross-link
    ],
)
def test_an_ack_of_what_was_not_received_is_refused(acked: ChainRef, cross: ChainRef) -> None:
    with pytest.raises(CrossLinkError):
        validator(other=PEER_HASHES.get).receive_envelope(ack(acked, cross))


def test_the_writer_refuses_what_the_validator_would_refuse() -> None:
    writer = ChainWriter(LINE_ID, Direction.FIRST)
    writer.append(
        message("a"),
        kind=Kind.MESSAGE,
        precedence=Precedence.ROUTINE,
        queued_at_ms=T0,
        sequenced_at_ms=T0,
        cross=PEER[1].header.ref,
    )
    with pytest.raises(CrossLinkError):
        writer.append(
            message("b"),
            kind=Kind.MESSAGE,
            precedence=Precedence.ROUTINE,
            queued_at_ms=T0,
            sequenced_at_ms=T0,
            cross=PEER[0].header.ref,
        )
    assert writer.tip.seq == 1  # nothing was committed
    with pytest.raises(CrossLinkError):
        writer.append(
            AckBody.create(PEER[2].header.ref, "op"),
            kind=Kind.ACK,
            precedence=Precedence.ROUTINE,
            queued_at_ms=T0,
            sequenced_at_ms=T0,
            cross=PEER[1].header.ref,
        )
    with pytest.raises(ValueError, match="no head"):
        ChainWriter(LINE_ID, Direction.FIRST).sign_head(FIRST.keys, T0)


def test_check_cross_link_works_after_the_fact_for_a_verifier() -> None:
    chain = crossed([PEER[0].header.ref, ChainRef(3, PEER[1].hash)])
    check_cross_link(GENESIS, chain[0], PEER_HASHES.get)
    with pytest.raises(CrossLinkError):
        check_cross_link(chain[0].header.cross, chain[1], PEER_HASHES.get)


def test_a_redacted_envelope_validates_through_its_header() -> None:
    v = validator(other=PEER_HASHES.get)
    redacted = [e.redacted() for e in CHAIN[:3]]
    feed(v, redacted)
    assert v.receive_head(head_of(CHAIN[2])) == tuple(redacted)


# --- Two stations, both directions -------------------------------------------------------------
def test_two_writers_and_two_validators_agree_on_the_record_hash() -> None:
    from hotline.record import record_hash

    writers = {s.direction: ChainWriter(LINE_ID, s.direction) for s in (FIRST, SECOND)}
    # Each station validates the other's direction against its own sent chain.
    sent: dict[Direction, dict[int, bytes]] = {Direction.FIRST: {}, Direction.SECOND: {}}
    validators = {
        s.direction: ChainValidator(
            LINE_ID, s.direction, s.public, other=sent[s.direction.other].get
        )
        for s in (FIRST, SECOND)
    }
    stored: dict[Direction, ChainRef] = {Direction.FIRST: GENESIS, Direction.SECOND: GENESIS}
    for i in range(12):
        station = FIRST if i % 3 else SECOND
        d = station.direction
        envelope = writers[d].append(
            message(f"turn {i}"),
            kind=Kind.MESSAGE,
            precedence=Precedence.PRIORITY,
            queued_at_ms=T0 + i,
            sequenced_at_ms=T0 + i,
            cross=stored[d.other],
        )
        sent[d][envelope.seq] = envelope.hash
        head = writers[d].sign_head(station.keys, T0 + i)
        validators[d].receive_envelope(envelope)
        delivered = validators[d].receive_head(head)
        assert delivered == (envelope,)
        stored[d] = delivered[-1].header.ref
    assert validators[Direction.FIRST].covered == writers[Direction.FIRST].tip
    ends = [
        record_hash(LINE_ID, writers[Direction.FIRST].tip, writers[Direction.SECOND].tip),
        record_hash(
            LINE_ID, validators[Direction.FIRST].covered, validators[Direction.SECOND].covered
        ),
    ]
    assert ends[0] == ends[1]
    assert record_hash(LINE_ID, GENESIS, writers[Direction.SECOND].tip) != ends[0]


def test_every_rejection_is_a_rejection_error() -> None:
    v = validator()
    with pytest.raises(RejectionError):
        v.receive_envelope(CHAIN[1])
