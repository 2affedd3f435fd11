"""The verifier of record-format.md §14: every failure found, with its place; never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.record import (
    GENESIS,
    ChainHead,
    Direction,
    Envelope,
    ExportRange,
    ItemType,
    Kind,
    Precedence,
    Reason,
    Receipt,
    Span,
    encode_export,
    split_export,
)
from hotline.verify import ExportReport, sign_statement, verify_export, verify_statement

from .exports import CARDS, LINE, STATIONS, conversation, station_keys
from .helpers import T0, message

RECORD = conversation(3)
EXPORT = RECORD.export()


def reasons(report: ExportReport) -> list[tuple[int | None, int | None, Reason]]:
    return [
        (f.seq, None if f.direction is None else int(f.direction), f.reason)
        for f in report.failures
    ]


def test_an_export_verifies() -> None:
    report = verify_export(EXPORT)
    assert report.valid
    assert report.failures == ()
    assert [s.name for s in report.stations] == [CARDS[0].name, CARDS[1].name]
    assert [s.fingerprint for s in report.stations] == [str(c.fingerprint) for c in CARDS]
    assert report.record is not None
    assert report.record.notes == ()
    assert len(report.record.envelopes) == 6
    assert report.record.record_hash_end is not None
    # each station's receipts vouch for every envelope of the other
    assert all(report.record.attested_by_peer(e) for e in report.record.envelopes)


def test_both_stations_exports_agree() -> None:
    """Exports of one range made from either station's copy give the same record hashes."""
    mine = verify_export(EXPORT).record
    theirs = verify_export(conversation(3).export(redact=True)).record
    assert mine is not None and theirs is not None
    assert mine.record_hash_start == theirs.record_hash_start
    assert mine.record_hash_end == theirs.record_hash_end


def test_a_redacted_export_verifies() -> None:
    report = verify_export(RECORD.export(redact=True))
    assert report.valid
    assert report.record is not None
    assert all(e.body is None for e in report.record.envelopes)


def test_a_partial_range_notes_what_it_cannot_check() -> None:
    report = verify_export(RECORD.export(((2, 3), (0, 0))))
    assert report.valid
    assert report.record is not None
    assert any("cross-links" in note.text for note in report.record.notes)


@given(position=st.integers(min_value=0, max_value=len(EXPORT) - 1), bit=st.integers(0, 7))
def test_flipping_any_byte_makes_the_export_invalid(position: int, bit: int) -> None:
    data = bytearray(EXPORT)
    data[position] ^= 1 << bit
    report = verify_export(bytes(data))
    assert not report.valid
    assert report.failures
    assert all(f.text for f in report.failures)


@given(data=st.binary(max_size=400))
def test_garbage_is_invalid_never_a_crash(data: bytes) -> None:
    assert not verify_export(data).valid
    assert not verify_export(EXPORT[: len(data)]).valid
    assert not verify_statement(data).valid


def test_deleting_an_envelope_is_detected() -> None:
    items = split_export(EXPORT)
    second = [i for i in items if i.type is ItemType.ENVELOPE][1]
    data = _without(EXPORT, second.index)
    report = verify_export(data)
    assert not report.valid
    assert reasons(report) == [(3, 0, Reason.GAP)]


def test_reordering_envelopes_is_detected() -> None:
    items = split_export(EXPORT)
    first, second = [i for i in items if i.type is ItemType.ENVELOPE][:2]
    data = _swap(EXPORT, first.index, second.index)
    report = verify_export(data)
    assert not report.valid
    assert any(f.reason is Reason.GAP and f.index == first.index for f in report.failures)


def test_inserting_an_envelope_is_detected() -> None:
    chain = RECORD.chain(Direction.FIRST)
    forged = Envelope.create(
        line_id=LINE,
        direction=Direction.FIRST,
        seq=2,
        prev_hash=chain[0].hash,
        cross=chain[1].header.cross,
        queued_at_ms=chain[1].header.queued_at_ms,
        sequenced_at_ms=chain[1].header.sequenced_at_ms,
        precedence=Precedence.FLASH,
        kind=Kind.MESSAGE,
        body=message("we never said this"),
    )
    items = split_export(EXPORT)
    second = [i for i in items if i.type is ItemType.ENVELOPE][1]
    data = _with_item(EXPORT, second.index, ItemType.ENVELOPE, forged.encode())
    report = verify_export(data)
    assert not report.valid
    assert any(f.reason is Reason.HEAD_MISMATCH and f.seq == 2 for f in report.failures)


def test_two_signed_heads_at_one_seq_are_equivocation() -> None:
    chain = RECORD.chain(Direction.FIRST)
    other = Envelope.create(
        line_id=LINE,
        direction=Direction.FIRST,
        seq=3,
        prev_hash=chain[1].hash,
        cross=chain[2].header.cross,
        queued_at_ms=1,
        sequenced_at_ms=2,
        precedence=Precedence.ROUTINE,
        kind=Kind.MESSAGE,
        body=message("another history"),
    )
    second_head = ChainHead.create(
        STATIONS[0].keys,
        line_id=LINE,
        direction=Direction.FIRST,
        head=other.header.ref,
        signed_at_ms=3,
    )
    data = encode_export(
        (CARDS[0].encode(), CARDS[1].encode()),
        split_range(),
        RECORD.envelopes,
        [*RECORD.heads, second_head],
    )
    report = verify_export(data)
    assert not report.valid
    assert report.record is not None and report.record.equivocation
    assert [(f.direction, f.seq) for f in report.failures if f.reason is Reason.EQUIVOCATION] == [
        (Direction.FIRST, 3)
    ]


def split_range() -> ExportRange:
    return ExportRange(LINE, (Span(1, 3), Span(1, 3)))


def _frame(kind: int, payload: bytes) -> bytes:
    return bytes([kind]) + len(payload).to_bytes(4, "big") + payload


def _reframe(parts: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(_frame(kind, payload) for kind, payload in parts)
    return EXPORT[:9] + body + _frame(0xFF, len(parts).to_bytes(8, "big"))


def _parts() -> list[tuple[int, bytes]]:
    return [(i.type, i.payload) for i in split_export(EXPORT)[:-1]]


def _without(data: bytes, index: int) -> bytes:
    parts = _parts()
    del parts[index]
    return _reframe(parts)


def _swap(data: bytes, a: int, b: int) -> bytes:
    parts = _parts()
    parts[a], parts[b] = parts[b], parts[a]
    return _reframe(parts)


def _with_item(data: bytes, index: int, kind: int, payload: bytes) -> bytes:
    parts = _parts()
    parts.insert(index, (kind, payload))
    return _reframe(parts)


def test_a_statement_verifies_and_one_changed_word_fails() -> None:
    text = "The line was tested at 14:00 and works."
    data = sign_statement(station_keys(CARDS[0].name), CARDS[0], text, 1_750_000_000_000)
    report = verify_statement(data)
    assert report.valid
    assert report.name == CARDS[0].name
    assert report.fingerprint == str(CARDS[0].fingerprint)
    assert report.statement is not None and report.statement.text == text
    changed = data.replace(b"works", b"fails")
    assert changed != data
    report = verify_statement(changed)
    assert not report.valid
    assert report.failures == (
        "BAD_SIGNATURE: the statement does not verify with the card it carries",
    )


def _history(direction: Direction, texts: list[str], t0: int) -> list[Envelope]:
    from hotline.record import ChainWriter

    writer = ChainWriter(LINE, direction)
    return [
        writer.append(
            message(text, index),
            kind=Kind.MESSAGE,
            precedence=Precedence.FLASH,
            queued_at_ms=t0 + index,
            sequenced_at_ms=t0 + index,
            cross=GENESIS,
        )
        for index, text in enumerate(texts)
    ]


def _head_of(envelope: Envelope, signed_at_ms: int) -> ChainHead:
    """Station 0's head over ``envelope`` (direction 0)."""
    return ChainHead.create(
        STATIONS[0].keys,
        line_id=LINE,
        direction=Direction.FIRST,
        head=envelope.header.ref,
        signed_at_ms=signed_at_ms,
    )


def _appended(data: bytes, kind: ItemType, payload: bytes) -> bytes:
    """``data`` with one more item before its END (whose count follows)."""
    count = int.from_bytes(data[-8:], "big")
    item = bytes([kind]) + len(payload).to_bytes(4, "big") + payload
    end = bytes([ItemType.END]) + (8).to_bytes(4, "big") + (count + 1).to_bytes(8, "big")
    return data[:-13] + item + end


def test_a_history_spliced_with_the_peers_receipt_of_another_is_invalid() -> None:
    """Station 0 re-signs its own direction and carries station 1's genuine receipt of the
    real chain: the receipt names a position past the file's chain, which the file must hold."""
    real = _history(Direction.FIRST, ["a", "b", "c", "d", "e"], T0)
    receipt = Receipt.create(
        STATIONS[1].keys,
        line_id=LINE,
        direction=Direction.FIRST,
        received=real[-1].header.ref,
        receipted_at_ms=T0 + 5_000,
        own=GENESIS,
    )
    forged = _history(Direction.FIRST, ["warning given an hour before", "x"], T0 - 3_600_000)
    head = _head_of(forged[-1], T0 - 3_500_000)
    alone = encode_export(
        (CARDS[0].encode(), CARDS[1].encode()),
        ExportRange(LINE, (Span(1, 2), Span(0, 0))),
        forged,
        [head],
    )
    # (an honest encoder would not: it runs the path on to #5, which the forger cannot sign)
    spliced = _appended(alone, ItemType.RECEIPT, receipt.encode())
    report = verify_export(spliced)
    assert not report.valid
    assert (5, 0, Reason.RANGE) in reasons(report)
    assert report.record is not None
    # and nothing of the file is shown as stored at the peer on the receipt's word
    assert all(report.record.stored_at(e) is None for e in report.record.envelopes)


def test_a_send_time_the_signed_checkpoints_contradict_is_invalid() -> None:
    """§8's bracket: checkpoint 1, both signed at T, fixes direction 0 at #1; #2 claims to have
    been sent half an hour before it, and #3 after checkpoint 2 that covers it."""
    from hotline.record import ChainWriter, Checkpoint, CheckpointBody

    writer = ChainWriter(LINE, Direction.FIRST)
    times = [T0 - 5, T0 - 1_800_000, T0 + 700_000]
    chain = [
        writer.append(
            message(f"m{i}", i),
            kind=Kind.MESSAGE,
            precedence=Precedence.FLASH,
            queued_at_ms=at,
            sequenced_at_ms=at,
            cross=GENESIS,
        )
        for i, at in enumerate(times)
    ]
    heads = [_head_of(envelope, at + 1) for envelope, at in zip(chain, times, strict=True)]

    def checkpoint(number: int, covered: Envelope, at: int) -> Checkpoint:
        body = CheckpointBody(LINE, Direction.FIRST, number, (covered.header.ref, GENESIS), at, at)
        return Checkpoint(body, (body.sign(STATIONS[0].keys), body.sign(STATIONS[1].keys)))

    data = encode_export(
        (CARDS[0].encode(), CARDS[1].encode()),
        ExportRange(LINE, (Span(1, 3), Span(0, 0))),
        chain,
        heads,
        checkpoints=[checkpoint(1, chain[0], T0), checkpoint(2, chain[2], T0 + 600_000)],
    )
    report = verify_export(data)
    # the signatures hold: VALID, with the disproved times listed apart (a clock's fault stays
    # in the record for good, and must not make every export of it INVALID)
    assert report.valid and report.record is not None
    assert [(f.seq, f.reason) for f in report.record.contradicted] == [
        (2, Reason.TIME),  # before checkpoint 1, which its own station proposed without it
        (3, Reason.TIME),  # after checkpoint 2, which both signed with it in
    ]


def test_a_file_of_tiny_items_is_malformed_at_once() -> None:
    head, end = EXPORT[:-13], EXPORT[-13:]
    assert end[0] == ItemType.END  # END: type, 4-byte length, u64 count (§13)
    tiny = head + bytes([ItemType.CHECKPOINT]) + (0).to_bytes(4, "big") + end
    report = verify_export(tiny)
    assert not report.valid
    assert "an item of 0 bytes" in report.failures[0].text


def test_failures_past_the_bound_are_counted_not_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.record import _verify

    monkeypatch.setattr(_verify, "MAX_FINDINGS", 2)
    envelopes = [item for item in split_export(EXPORT) if item.type is ItemType.ENVELOPE]
    assert len(envelopes) >= 3
    garbled = bytearray(EXPORT)
    for item in envelopes:  # a flipped byte at the end of each envelope (its body)
        garbled[EXPORT.index(item.payload) + len(item.payload) - 1] ^= 1
    report = verify_export(bytes(garbled))
    assert not report.valid and len(report.failures) == 3
    assert report.failures[-1].text.endswith("more")


def test_a_signed_refusal_is_listed_as_such_and_an_equivocation_one_flags_it() -> None:
    from hotline.record import Nack, NackReason, Subject
    from hotline.record._signed import UNSIGNED

    (envelope,) = _history(Direction.FIRST, ["one"], T0)
    head = _head_of(envelope, T0 + 1)
    nack = Nack(
        LINE,
        Direction.FIRST,
        Subject.CHAIN_HEAD,
        1,
        envelope.hash,
        NackReason.EQUIVOCATION,
        "two signed heads for #1",
        T0 + 99,
        UNSIGNED,
    ).signed_by(STATIONS[1].keys)
    data = encode_export(
        (CARDS[0].encode(), CARDS[1].encode()),
        ExportRange(LINE, (Span(1, 1), Span(0, 0))),
        [envelope],
        [head],
        nacks=[nack],
    )
    report = verify_export(data)
    assert report.valid and report.record is not None
    # nothing of station 1's vouches for station 0's envelope: its word alone
    assert not report.record.attested_by_peer(envelope)
    (refusal,) = report.record.refusals
    assert refusal.reason is Reason.EQUIVOCATION and report.record.notes == ()
    assert report.record.equivocation


def test_heads_out_of_their_place_are_an_order_failure() -> None:
    """§13: each envelope is followed by the heads naming it, by signed_at; one encoding."""
    chain = _history(Direction.FIRST, ["a", "b"], T0)
    heads = [_head_of(envelope, T0 + 10) for envelope in chain]
    good = encode_export(
        (CARDS[0].encode(), CARDS[1].encode()),
        ExportRange(LINE, (Span(1, 2), Span(0, 0))),
        chain,
        heads,
    )
    assert verify_export(good).valid
    items = split_export(good)
    envelope_1, head_1, envelope_2, head_2 = (item for item in items[3:7])
    assert (envelope_1.type, head_1.type) == (ItemType.ENVELOPE, ItemType.CHAIN_HEAD)

    def framed(item: object) -> bytes:
        assert isinstance(item, type(envelope_1))
        return bytes([item.type]) + len(item.payload).to_bytes(4, "big") + item.payload

    start = good.index(framed(envelope_1))
    moved = framed(envelope_1) + framed(envelope_2) + framed(head_1) + framed(head_2)
    report = verify_export(good[:start] + moved + good[start + len(moved) :])
    assert (1, 0, Reason.ORDER) in reasons(report)
