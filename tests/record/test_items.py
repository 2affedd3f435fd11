"""Receipts, NACKs, checkpoints and statements: signed by one key set, refused by any other."""

from __future__ import annotations

import dataclasses

import pytest

from hotline.constants import CLOCK_SKEW_BOUND_MS, MAX_NACK_TEXT_LEN
from hotline.record import (
    GENESIS,
    ChainHead,
    Checkpoint,
    CheckpointBody,
    Direction,
    EquivocationError,
    GapError,
    MalformedError,
    Nack,
    NackReason,
    Receipt,
    Statement,
    Subject,
    clock_agrees,
    receipt_time_plausible,
    send_time_plausible,
)
from hotline.signatures import HybridSignature

from .helpers import FIRST, LINE_ID, SECOND, T0, build_chain, fixed, head_of

CHAIN = build_chain(3)
PEER = build_chain(2, station=SECOND)


def flipped(signature: HybridSignature, half: str) -> HybridSignature:
    if half == "ed25519":
        return HybridSignature(
            bytes([signature.ed25519[0] ^ 0x80]) + signature.ed25519[1:], signature.mldsa87
        )
    return HybridSignature(
        signature.ed25519,
        signature.mldsa87[:7] + bytes([signature.mldsa87[7] ^ 0x80]) + signature.mldsa87[8:],
    )


def receipt() -> Receipt:
    return Receipt.create(
        SECOND.keys,
        line_id=LINE_ID,
        direction=Direction.FIRST,
        received=CHAIN[2].header.ref,
        receipted_at_ms=T0 + 10,
        own=PEER[1].header.ref,
    )


@pytest.mark.parametrize("half", ["ed25519", "mldsa87"])
def test_receipt_is_signed_by_the_receiver_with_both_algorithms(half: str) -> None:
    r = receipt()
    assert r.verify(SECOND.public)
    assert not r.verify(FIRST.public)
    assert r.ref == CHAIN[2].header.ref and r.own == PEER[1].header.ref
    assert not dataclasses.replace(r, signature=flipped(r.signature, half)).verify(SECOND.public)
    # Every signed field is covered.
    for change in (
        {"seq": 2},
        {"receipted_at_ms": T0 + 11},
        {"own": GENESIS},
        {"direction": Direction.SECOND},
        {"envelope_hash": CHAIN[1].hash},
    ):
        assert not dataclasses.replace(r, **change).verify(SECOND.public)  # type: ignore[arg-type]


def test_receipts_are_randomized_so_never_re_signed() -> None:
    a, b = receipt(), receipt()
    assert a.message() == b.message() and a.signature.mldsa87 != b.signature.mldsa87
    assert a.signature.ed25519 == b.signature.ed25519  # Ed25519 is deterministic


@pytest.mark.parametrize("half", ["ed25519", "mldsa87"])
def test_chain_head_with_either_half_flipped_is_invalid(half: str) -> None:
    head = head_of(CHAIN[2])
    assert head.verify(FIRST.public)
    assert not dataclasses.replace(head, signature=flipped(head.signature, half)).verify(
        FIRST.public
    )
    assert not dataclasses.replace(head, signed_at_ms=head.signed_at_ms + 1).verify(FIRST.public)


def test_a_signature_made_for_one_purpose_does_not_serve_another() -> None:
    # A head and a receipt over the same position by the same key: the labels differ.
    r = Receipt.create(
        FIRST.keys,
        line_id=LINE_ID,
        direction=Direction.FIRST,
        received=CHAIN[0].header.ref,
        receipted_at_ms=T0,
        own=GENESIS,
    )
    h = head_of(CHAIN[0])
    assert not dataclasses.replace(r, signature=h.signature).verify(FIRST.public)


# --- NACKs -------------------------------------------------------------------------------------
def test_nack_names_the_error_it_refuses() -> None:
    error = EquivocationError(2, CHAIN[1].hash, PEER[0].hash)
    nack = Nack.refusing(
        SECOND.keys,
        error,
        line_id=LINE_ID,
        direction=Direction.FIRST,
        subject=Subject.ENVELOPE,
        refused_at_ms=T0,
    )
    assert (nack.reason, nack.seq, nack.item_hash) == (NackReason.EQUIVOCATION, 2, PEER[0].hash)
    assert "equivocation at seq 2" in nack.text
    assert nack.verify(SECOND.public) and not nack.verify(FIRST.public)
    assert Nack.decode(nack.encode()) == nack


@pytest.mark.parametrize("half", ["ed25519", "mldsa87"])
def test_nack_with_either_half_flipped_is_invalid(half: str) -> None:
    nack = Nack.refusing(
        SECOND.keys,
        GapError("gap", seq=5),
        line_id=LINE_ID,
        direction=Direction.FIRST,
        subject=Subject.ENVELOPE,
        refused_at_ms=T0,
    )
    assert not dataclasses.replace(nack, signature=flipped(nack.signature, half)).verify(
        SECOND.public
    )
    assert not dataclasses.replace(nack, reason=NackReason.BROKEN_CHAIN).verify(SECOND.public)


def test_nack_of_an_undecodable_item_names_the_next_seq_and_no_hash() -> None:
    nack = Nack.refusing(
        SECOND.keys,
        MalformedError("x" * 1000 + "é"),
        line_id=LINE_ID,
        direction=Direction.FIRST,
        subject=Subject.ENVELOPE,
        refused_at_ms=T0,
        fallback_seq=4,
    )
    assert nack.seq == 4 and nack.item_hash == bytes(64) and nack.reason is NackReason.MALFORMED
    assert len(nack.text.encode()) == MAX_NACK_TEXT_LEN


def test_nack_text_is_cut_at_a_character_boundary() -> None:
    nack = Nack.refusing(
        SECOND.keys,
        MalformedError("é" * 200),
        line_id=LINE_ID,
        direction=Direction.FIRST,
        subject=Subject.ENVELOPE,
        refused_at_ms=T0,
    )
    assert nack.text == "é" * (MAX_NACK_TEXT_LEN // 2)


# --- Checkpoints -------------------------------------------------------------------------------
def test_checkpoint_exchange_propose_cosign_countersign() -> None:
    # 1. FIRST proposes: the body with cosigned_at = 0, no signature.
    proposal = CheckpointBody(
        LINE_ID, Direction.FIRST, 1, (CHAIN[2].header.ref, PEER[1].header.ref), T0, 0
    )
    received = CheckpointBody.decode(proposal.encode())
    # 2. SECOND checks the clock, fills its time, signs.
    now_second = T0 + 120
    assert clock_agrees(received.proposed_at_ms, now_second, CLOCK_SKEW_BOUND_MS, rtt_ms=40)
    body = received.cosigned(now_second)
    cosignature = body.sign(SECOND.keys)
    # 3. FIRST checks that signature and the time, and counter-signs the same body.
    assert body.verify_signature(SECOND.public, cosignature)
    assert clock_agrees(body.cosigned_at_ms, T0 + 45, CLOCK_SKEW_BOUND_MS, rtt_ms=40)
    checkpoint = Checkpoint(body, (body.sign(FIRST.keys), cosignature))
    assert checkpoint.verify((FIRST.public, SECOND.public))
    assert Checkpoint.decode(checkpoint.encode()) == checkpoint
    assert checkpoint.body.head(Direction.SECOND) == PEER[1].header.ref


@pytest.mark.parametrize("half", ["ed25519", "mldsa87"])
@pytest.mark.parametrize("station", [0, 1])
def test_checkpoint_needs_all_four_signatures(half: str, station: int) -> None:
    body = CheckpointBody(LINE_ID, Direction.SECOND, 7, (CHAIN[0].header.ref, GENESIS), T0, T0)
    signatures = [body.sign(FIRST.keys), body.sign(SECOND.keys)]
    assert Checkpoint(body, (signatures[0], signatures[1])).verify((FIRST.public, SECOND.public))
    signatures[station] = flipped(signatures[station], half)
    checkpoint = Checkpoint(body, (signatures[0], signatures[1]))
    assert not checkpoint.verify((FIRST.public, SECOND.public))


def test_checkpoint_signatures_are_bound_to_the_station_of_each_direction() -> None:
    body = CheckpointBody(LINE_ID, Direction.FIRST, 1, (GENESIS, GENESIS), T0, T0)
    checkpoint = Checkpoint(body, (body.sign(FIRST.keys), body.sign(SECOND.keys)))
    assert not checkpoint.verify((SECOND.public, FIRST.public))
    later = body.cosigned(T0 + 1)
    assert not later.verify_signature(SECOND.public, checkpoint.signatures[1])


# --- Clock rules -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("their", "ours", "skew", "rtt", "agrees"),
    [
        (T0, T0, 0, 0, True),
        (T0 + 1000, T0, 1000, 0, True),
        (T0 + 1001, T0, 1000, 0, False),
        (T0 - 1001, T0, 1000, 0, False),
        (T0 - 1300, T0, 1000, 300, True),
        (T0 + 1301, T0, 1000, 300, False),
    ],
)
def test_clock_agrees_within_the_bound_plus_the_rtt(
    their: int, ours: int, skew: int, rtt: int, agrees: bool
) -> None:
    assert clock_agrees(their, ours, skew, rtt) is agrees


@pytest.mark.parametrize(
    ("receipted", "plausible"),
    [(T0 - 1000, True), (T0 - 1001, False), (T0 + 50, True), (T0 + 1500, True), (T0 + 1501, False)],
)
def test_receipt_time_lies_between_send_minus_bound_and_receive_plus_bound(
    receipted: int, plausible: bool
) -> None:
    assert receipt_time_plausible(receipted, T0, T0 + 500, 1000) is plausible


@pytest.mark.parametrize(
    ("sent", "previous", "plausible"),
    [
        (T0 + 1500, None, True),  # received at T0 + 500, clocks 1 s apart
        (T0 + 1501, None, False),  # after we received it
        (T0 - 999, T0, True),
        (T0 - 1001, T0, False),  # before its previous envelope
        (T0 - 3_600_000, None, True),  # sent long ago, delivered now (a queue)
    ],
)
def test_a_send_time_lies_before_reception_and_after_the_previous_send(
    sent: int, previous: int | None, plausible: bool
) -> None:
    assert send_time_plausible(sent, previous, T0 + 500, 1000) is plausible


def test_negative_bounds_are_bugs() -> None:
    with pytest.raises(ValueError):
        clock_agrees(T0, T0, -1, 0)
    with pytest.raises(ValueError):
        clock_agrees(T0, T0, 0, -1)
    with pytest.raises(ValueError):
        receipt_time_plausible(T0, T0, T0, -1)
    with pytest.raises(ValueError):
        send_time_plausible(T0, None, T0, -1)


# --- Statements --------------------------------------------------------------------------------
TEXT = "The station at Jerusalem confirms that the line was tested at 14:40 UTC and works."
FINGERPRINT = fixed("alpha fingerprint", 64)


def test_statement_verifies_with_the_card_and_fails_with_one_word_changed() -> None:
    statement = Statement.create(FIRST.keys, fingerprint=FINGERPRINT, signed_at_ms=T0, text=TEXT)
    decoded = Statement.decode(statement.encode())
    assert decoded.signed_by_card(FINGERPRINT, FIRST.public)
    changed = dataclasses.replace(decoded, text=TEXT.replace("confirms", "denies"))
    assert not changed.signed_by_card(FINGERPRINT, FIRST.public)
    assert not decoded.signed_by_card(fixed("bravo fingerprint", 64), FIRST.public)
    assert not decoded.signed_by_card(FINGERPRINT, SECOND.public)
    assert not dataclasses.replace(decoded, signed_at_ms=T0 + 1).signed_by_card(
        FINGERPRINT, FIRST.public
    )


@pytest.mark.parametrize("half", ["ed25519", "mldsa87"])
def test_statement_with_either_half_flipped_is_invalid(half: str) -> None:
    statement = Statement.create(FIRST.keys, fingerprint=FINGERPRINT, signed_at_ms=T0, text=TEXT)
    bad = dataclasses.replace(statement, signature=flipped(statement.signature, half))
    assert not bad.signed_by_card(FINGERPRINT, FIRST.public)


def test_head_decodes_to_what_was_signed() -> None:
    head = head_of(CHAIN[1])
    assert ChainHead.decode(head.encode()) == head and head.ref == CHAIN[1].header.ref
