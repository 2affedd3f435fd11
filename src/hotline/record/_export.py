"""The export file: a range of a line's record in one self-contained file (record-format.md §13).

    export = magic "\\x89HLR\\r\\n\\x1a\\n" || u8 version (1) || item*
    item   = u8 type || vbytes(payload)                                (payload ≤ 1 MiB)

This module is the file's byte level only: :func:`encode_export` lays the items out in the one
order §13 allows, and :func:`split_export` takes a file apart into :class:`ExportItem` values,
refusing anything that breaks the framing or the order of item *types*. The payloads are decoded
one by one by the verifier (:func:`decode_item`), so a damaged item is reported with its index
instead of hiding every other. Cards stay bytes here: decoding them is the identity layer's job.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from hotline.constants import RECORD_HASH_LEN

from ._body import AckBody
from ._buffer import Reader, Writer, check_u64
from ._checkpoint import Checkpoint
from ._codes import Direction
from ._envelope import Envelope, EnvelopeHeader
from ._errors import MalformedError, UnknownVersionError
from ._head import ChainHead
from ._nack import Nack
from ._receipt import Receipt

#: PNG-style: a high byte (no 7-bit channel passes it), the name, CR LF (line-ending mangling
#: shows), ^Z (stops `type` on DOS), LF.
EXPORT_MAGIC: Final = b"\x89HLR\r\n\x1a\n"
EXPORT_VERSION: Final = 1
#: The largest payload of one item: far above the largest real one (an envelope, ~62 KiB), so a
#: damaged length is refused before a megabyte is copied.
MAX_EXPORT_ITEM_LEN: Final = 1 << 20
#: The largest export file a verifier reads (§13): ~700,000 messages of 1 KiB. A verifier holds
#: the checked file in memory (about five times its size), so a longer record is exported and
#: verified in ranges (``--from``, ``--to``), each with its own hash paths.
MAX_EXPORT_FILE_LEN: Final = 1 << 30


class ItemType(enum.IntEnum):
    """The type byte of an export item; the chain item codes are the NACK subjects (§7)."""

    CARD = 0x01
    RANGE = 0x02
    ENVELOPE = 0x10
    ENVELOPE_REDACTED = 0x11
    CHAIN_HEAD = 0x12
    RECEIPT = 0x13
    NACK = 0x14
    CHECKPOINT = 0x15
    END = 0xFF


#: The section each item type belongs to; sections come in this order, and cards and the range
#: at fixed positions (0, 1 and 2).
_SECTION: Final = {
    ItemType.CARD: 0,
    ItemType.RANGE: 1,
    ItemType.ENVELOPE: 2,
    ItemType.ENVELOPE_REDACTED: 2,
    ItemType.CHAIN_HEAD: 2,
    ItemType.RECEIPT: 3,
    ItemType.NACK: 4,
    ItemType.CHECKPOINT: 5,
    ItemType.END: 6,
}
_FIXED: Final = (ItemType.CARD, ItemType.CARD, ItemType.RANGE)


def _malformed(message: str, index: int | None = None) -> MalformedError:
    """The error of a file that is not a well-formed export, naming the item at fault."""
    return MalformedError(message if index is None else f"item {index}: {message}")


@dataclass(frozen=True, slots=True)
class Span:
    """The envelopes ``first..last`` of one direction; ``0..0`` when the range has none.

    Raises:
        MalformedError: (on construction) ``first > last``, or exactly one of them is 0.
    """

    first: int
    last: int

    def __post_init__(self) -> None:
        check_u64(self.first, "first seq")
        check_u64(self.last, "last seq")
        if (self.first == 0) != (self.last == 0) or self.first > self.last:
            raise MalformedError(f"a range is 0..0 or 1 ≤ first ≤ last, not {self}")

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"

    @property
    def empty(self) -> bool:
        """Whether the range holds no envelope of this direction."""
        return self.last == 0


@dataclass(frozen=True, slots=True)
class ExportRange:
    """The RANGE item: the line and, per direction, the envelopes exported.

    Attributes:
        line_id: the line's id.
        spans: the span of direction 0, then of direction 1.
    """

    line_id: bytes
    spans: tuple[Span, Span]

    def span(self, direction: Direction) -> Span:
        """The span of ``direction``."""
        return self.spans[direction]

    def encode(self) -> bytes:
        """Return ``line_id || u64 first_0 || u64 last_0 || u64 first_1 || u64 last_1``."""
        writer = Writer()
        writer.push_bytes(self.line_id)
        for span in self.spans:
            writer.push_u64(span.first)
            writer.push_u64(span.last)
        return writer.data

    @classmethod
    def decode(cls, data: bytes) -> ExportRange:
        """Decode a RANGE payload.

        Raises:
            MalformedError: not 96 bytes, or a span breaks its rule.
        """
        reader = Reader(data, "range")
        line_id = reader.pull_bytes(RECORD_HASH_LEN)
        spans = (
            Span(reader.pull_u64(), reader.pull_u64()),
            Span(reader.pull_u64(), reader.pull_u64()),
        )
        reader.finish()
        return cls(line_id, spans)


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One item of an export, payload not yet decoded.

    Attributes:
        index: its position among the items (0 is the first card).
        type: its type.
        payload: its bytes.
    """

    index: int
    type: ItemType
    payload: bytes

    def __repr__(self) -> str:
        return f"ExportItem({self.index}: {self.type.name}, {len(self.payload)} bytes)"


#: What an item decodes to: a card stays bytes (the identity layer decodes it).
ItemValue = bytes | ExportRange | Envelope | ChainHead | Receipt | Nack | Checkpoint | int


def decode_item(item: ExportItem) -> ItemValue:
    """Decode one item's payload; a redacted envelope decodes to an envelope without body.

    Raises:
        MalformedError: (or a subclass) the payload is not an item of its type.
    """
    payload = item.payload
    match item.type:
        case ItemType.CARD:
            return payload
        case ItemType.RANGE:
            return ExportRange.decode(payload)
        case ItemType.ENVELOPE:
            return Envelope.decode(payload)
        case ItemType.ENVELOPE_REDACTED:
            return Envelope(EnvelopeHeader.decode(payload), None)
        case ItemType.CHAIN_HEAD:
            return ChainHead.decode(payload)
        case ItemType.RECEIPT:
            return Receipt.decode(payload)
        case ItemType.NACK:
            return Nack.decode(payload)
        case ItemType.CHECKPOINT:
            return Checkpoint.decode(payload)
        case ItemType.END:
            reader = Reader(payload, "end")
            count = reader.pull_u64()
            reader.finish()
            return count


#: The shortest payload of any item but END: each holds a line id (64 bytes) or is a card.
MIN_ITEM_LEN: Final = 64


def split_export(data: bytes) -> tuple[ExportItem, ...]:
    """Take an export apart into its items, checking the framing and the order of types.

    Raises:
        MalformedError: wrong magic, truncated, an item over 1 MiB or under
            :data:`MIN_ITEM_LEN` bytes, an unknown type, an
            item type out of §13's order, a missing or miscounting END, bytes after END.
        UnknownVersionError: a version other than 1.
    """
    if not data.startswith(EXPORT_MAGIC):
        raise _malformed("not a Hotline record export (wrong magic)")
    reader = Reader(data, "export")
    reader.pull_bytes(len(EXPORT_MAGIC))
    if not reader.remaining:
        raise _malformed("the export ends after its magic")
    version = reader.pull_u8()
    if version != EXPORT_VERSION:
        raise UnknownVersionError(f"unknown export version {version} (this reads version 1)")
    items: list[ItemType] = []
    result: list[ExportItem] = []
    while reader.remaining:
        index = len(result)
        try:
            code = reader.pull_u8()
            payload = reader.pull_vbytes(MAX_EXPORT_ITEM_LEN, "item")
        except MalformedError as exc:
            raise _malformed(str(exc), index) from None
        try:
            kind = ItemType(code)
        except ValueError:
            raise _malformed(f"unknown item type {code:#04x}", index) from None
        _check_position(kind, items, index)
        if kind is not ItemType.END and len(payload) < MIN_ITEM_LEN:
            # every item but END names the line (64 bytes) or is a card: none is this short,
            # and a file of empty items would cost far more to hold than to send
            raise _malformed(f"an item of {len(payload)} bytes (at least {MIN_ITEM_LEN})", index)
        items.append(kind)
        result.append(ExportItem(index, kind, payload))
    if not items or items[-1] is not ItemType.END:
        raise _malformed("the export has no END item: it was cut short")
    end = result[-1]
    try:
        count = decode_item(end)
    except MalformedError as exc:
        raise _malformed(str(exc), end.index) from None
    if count != end.index:
        raise _malformed(f"END does not count the {end.index} items", end.index)
    return tuple(result)


def _check_position(kind: ItemType, before: Sequence[ItemType], index: int) -> None:
    if index < len(_FIXED):
        if kind is not _FIXED[index]:
            expected = _FIXED[index].name
            raise _malformed(f"{expected} expected, not {kind.name}", index)
        return
    if before[-1] is ItemType.END:
        raise _malformed("an item after END", index)
    if _SECTION[kind] < max(_SECTION[before[-1]], _SECTION[ItemType.ENVELOPE]):
        raise _malformed(f"{kind.name} after {before[-1].name}: out of order", index=index)


def encode_export(
    cards: tuple[bytes, bytes],
    export_range: ExportRange,
    envelopes: Iterable[Envelope],
    heads: Iterable[ChainHead],
    *,
    receipts: Iterable[Receipt] = (),
    nacks: Iterable[Nack] = (),
    checkpoints: Iterable[Checkpoint] = (),
) -> bytes:
    """Lay out an export in the order of §13.

    Args:
        cards: the encoded cards of the stations of direction 0 and 1 (docs/identity.md §3).
        export_range: the line and the exported span of each direction.
        envelopes: per direction, at least every envelope of the span *and of its hash path*
            (:func:`path_ends`): on up to the first one a head in ``heads`` names at or after
            the span's last and what the other station's items name.
            Any order, others are left out; bodies may be removed (:meth:`Envelope.redacted`);
            the path is written redacted.
        heads: chain heads; those naming a written envelope follow it, the others are left out.
        receipts: receipts to include (written by direction, then seq).
        nacks: NACKs to include (by direction, then seq).
        checkpoints: checkpoints to include (by proposer, then number).

    Raises:
        ValueError: the items cannot make that export: another line, a span or path with an
            envelope missing, no head at or after a span's last.
    """
    by_direction: tuple[list[Envelope], list[Envelope]] = ([], [])
    heads_of: tuple[dict[int, list[ChainHead]], dict[int, list[ChainHead]]] = ({}, {})
    for envelope in envelopes:
        _check_line(envelope.header.line_id, export_range, "an envelope")
        by_direction[envelope.header.direction].append(envelope)
    for head in heads:
        _check_line(head.line_id, export_range, "a chain head")
        heads_of[head.direction].setdefault(head.seq, []).append(head)
    writer = _ItemWriter()
    for card in cards:
        writer.add(ItemType.CARD, card)
    writer.add(ItemType.RANGE, export_range.encode())
    receipts = list(receipts)
    checkpoints = list(checkpoints)
    chains = [sorted(chain, key=lambda envelope: envelope.seq) for chain in by_direction]
    ends = path_ends(export_range.spans, chains, heads_of, receipts, checkpoints)
    for direction in Direction:
        _write_chain(
            writer,
            export_range.span(direction),
            chains[direction],
            heads_of[direction],
            ends[direction],
        )
    for receipt in sorted(receipts, key=lambda r: (r.direction, r.seq, r.receipted_at_ms)):
        _check_line(receipt.line_id, export_range, "a receipt")
        writer.add(ItemType.RECEIPT, receipt.encode())
    for nack in sorted(nacks, key=lambda n: (n.direction, n.seq, n.refused_at_ms)):
        _check_line(nack.line_id, export_range, "a NACK")
        writer.add(ItemType.NACK, nack.encode())
    for checkpoint in sorted(checkpoints, key=lambda c: (c.body.proposer, c.body.number)):
        _check_line(checkpoint.body.line_id, export_range, "a checkpoint")
        writer.add(ItemType.CHECKPOINT, checkpoint.encode())
    return writer.finish()


def vouched_tops(
    chains: Sequence[Iterable[Envelope]],
    receipts: Iterable[Receipt],
    checkpoints: Iterable[Checkpoint],
) -> tuple[int, int]:
    """Per direction, the furthest ``seq`` that the *other* station's items name: its receipts'
    ``ref``, the cross-links and acknowledgements of its envelopes (``chains``, per direction:
    those the export holds), the checkpoints' heads. The hash path runs on to it (§13)."""
    tops = [0, 0]
    for receipt in receipts:
        tops[receipt.direction] = max(tops[receipt.direction], receipt.ref.seq)
    for checkpoint in checkpoints:
        for direction in Direction:
            tops[direction] = max(tops[direction], checkpoint.body.head(direction).seq)
    for direction, chain in zip(Direction, chains, strict=True):
        other = direction.other
        for envelope in chain:
            tops[other] = max(tops[other], envelope.header.cross.seq)
            if isinstance(envelope.body, AckBody):
                tops[other] = max(tops[other], envelope.body.acked.seq)
    return tops[0], tops[1]


def path_ends(
    spans: Sequence[Span],
    chains: Sequence[Sequence[Envelope]],
    head_seqs: Sequence[Iterable[int]],
    receipts: Sequence[Receipt],
    checkpoints: Sequence[Checkpoint],
) -> tuple[int, int]:
    """Where each direction's hash path ends (§13): at the first head at or after ``need_d``,
    the span's last or what the other station vouched for in the export, whichever is
    further; found again as a longer path brings more cross-links (0 for an empty span).

    Raises:
        ValueError: no head at or after what a direction needs.
    """
    heads = [sorted(seqs) for seqs in head_seqs]
    need = [span.last for span in spans]
    while True:
        ends = [0, 0]
        for d in Direction:
            if spans[d].empty:
                continue
            after = [seq for seq in heads[d] if seq >= need[d]]
            if not after:
                raise ValueError(f"no chain head at or after envelope {need[d]}: nothing covers it")
            ends[d] = after[0]
        held = [  # as the file will hold them: the path redacted (no ACK bodies there)
            [
                e if e.seq <= spans[d].last else e.redacted()
                for e in chains[d]
                if spans[d].first <= e.seq <= ends[d]
            ]
            for d in Direction
        ]
        tops = vouched_tops(held, receipts, checkpoints)
        wanted = [max(need[d], tops[d]) if not spans[d].empty else 0 for d in Direction]
        if wanted == need:
            return ends[0], ends[1]
        need = wanted


def _check_line(line_id: bytes, export_range: ExportRange, what: str) -> None:
    if line_id != export_range.line_id:
        raise ValueError(f"{what} of another line cannot be exported in this range")


def _write_chain(
    writer: _ItemWriter,
    span: Span,
    chain: list[Envelope],
    heads: dict[int, list[ChainHead]],
    end: int,
) -> None:
    """Write one direction: its span, then the redacted hash path up to ``end``."""
    if span.empty:
        return
    chain = [envelope for envelope in chain if span.first <= envelope.seq <= end]
    if [envelope.seq for envelope in chain] != list(range(span.first, end + 1)):
        raise ValueError(
            f"the envelopes {span.first}..{end} (the span and its hash path) are needed"
        )
    for envelope in chain:
        if envelope.seq > span.last or envelope.body is None:
            writer.add(ItemType.ENVELOPE_REDACTED, envelope.header.encoded)
        else:
            writer.add(ItemType.ENVELOPE, envelope.encode())
        for head in sorted(heads.get(envelope.seq, []), key=lambda h: h.signed_at_ms):
            writer.add(ItemType.CHAIN_HEAD, head.encode())


class _ItemWriter:
    """The magic, the version, items as they come, and END counting them."""

    __slots__ = ("_count", "_writer")

    def __init__(self) -> None:
        self._writer = Writer()
        self._writer.push_bytes(EXPORT_MAGIC)
        self._writer.push_u8(EXPORT_VERSION)
        self._count = 0

    def add(self, kind: ItemType, payload: bytes) -> None:
        if len(payload) > MAX_EXPORT_ITEM_LEN:
            raise ValueError(f"a {kind.name} item of {len(payload)} bytes is too large")
        self._writer.push_u8(kind)
        self._writer.push_vbytes(payload)
        self._count += 1

    def finish(self) -> bytes:
        self._writer.push_u8(ItemType.END)
        self._writer.push_vbytes(self._count.to_bytes(8, "big"))
        return self._writer.data
