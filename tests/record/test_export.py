"""The export file's byte level: layout, framing, bounds (record-format.md §13)."""

from __future__ import annotations

import pytest

from hotline.record import (
    EXPORT_MAGIC,
    Direction,
    ExportRange,
    ItemType,
    MalformedError,
    Span,
    UnknownVersionError,
    decode_item,
    encode_export,
    split_export,
)

from .exports import CARDS, LINE, conversation

RECORD = conversation(3)


def test_items_come_in_the_order_of_section_13() -> None:
    items = split_export(RECORD.export())
    types = [item.type for item in items]
    chain = [ItemType.ENVELOPE, ItemType.CHAIN_HEAD] * 3
    assert types == [
        ItemType.CARD,
        ItemType.CARD,
        ItemType.RANGE,
        *chain,
        *chain,
        *[ItemType.RECEIPT] * 6,
        ItemType.CHECKPOINT,
        ItemType.END,
    ]
    assert items[0].payload == CARDS[0].encode()
    assert decode_item(items[2]) == ExportRange(LINE, (Span(1, 3), Span(1, 3)))
    assert decode_item(items[-1]) == len(items) - 1
    assert [item.index for item in items] == list(range(len(items)))


def test_the_hash_path_is_redacted_up_to_the_covering_head() -> None:
    items = split_export(RECORD.export(((1, 1), (0, 0))))
    assert [item.type for item in items[3:5]] == [ItemType.ENVELOPE, ItemType.CHAIN_HEAD]
    data = encode_export(
        (CARDS[0].encode(), CARDS[1].encode()),
        ExportRange(LINE, (Span(1, 1), Span(0, 0))),
        RECORD.envelopes,
        [h for h in RECORD.heads if not (h.direction is Direction.FIRST and h.seq == 1)],
    )
    types = [item.type for item in split_export(data)[3:-1]]
    assert types == [ItemType.ENVELOPE, ItemType.ENVELOPE_REDACTED, ItemType.CHAIN_HEAD]


def test_a_redacted_export_carries_headers_only() -> None:
    items = split_export(RECORD.export(redact=True))
    redacted = [item for item in items if item.type is ItemType.ENVELOPE_REDACTED]
    assert len(redacted) == 6
    assert all(len(item.payload) == 296 for item in redacted)


def test_the_writer_refuses_a_range_nothing_covers() -> None:
    with pytest.raises(ValueError, match="no chain head"):
        encode_export(
            (b"a", b"b"), ExportRange(LINE, (Span(1, 3), Span(0, 0))), RECORD.envelopes, []
        )


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda d: b"", MalformedError, "wrong magic"),
        (lambda d: d[:8], MalformedError, "ends after its magic"),
        (lambda d: d[:8] + b"\x02" + d[9:], UnknownVersionError, "version 2"),
        (lambda d: d[:-13], MalformedError, "no END"),
        (lambda d: d[:-1] + b"\x00", MalformedError, "END does not count"),
        (lambda d: d + b"\xff", MalformedError, "truncated"),
        (lambda d: d[:9] + b"\x07" + d[10:], MalformedError, "unknown item type 0x07"),
        (lambda d: d[:9] + b"\x02" + d[10:], MalformedError, "CARD expected, not RANGE"),
    ],
)
def test_framing_errors_are_typed(mutate, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        split_export(mutate(RECORD.export()))


def test_an_item_over_one_mebibyte_is_refused_before_reading() -> None:
    data = EXPORT_MAGIC + b"\x01" + b"\x01" + (2**20 + 1).to_bytes(4, "big")
    with pytest.raises(MalformedError, match=r"item 0: .*more than 1048576"):
        split_export(data)


def test_a_receipt_before_an_envelope_is_out_of_order() -> None:
    items = split_export(RECORD.export())
    receipt = next(item for item in items if item.type is ItemType.RECEIPT)
    head = bytes([receipt.type]) + len(receipt.payload).to_bytes(4, "big") + receipt.payload
    data = RECORD.export()
    third = data.index(items[3].payload) - 5
    broken = data[:third] + head + data[third:]
    with pytest.raises(MalformedError, match="out of order"):
        split_export(broken)


def test_spans_follow_their_rule() -> None:
    for first, last in ((0, 1), (1, 0), (3, 2)):
        with pytest.raises(MalformedError):
            Span(first, last)
    assert Span(0, 0).empty
