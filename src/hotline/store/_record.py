"""A range of a line's record read back from the store, for an export (record-format.md §13).

The range is chosen by time: per direction, the envelopes *sequenced* (their header's
``sequenced_at``, which both stations hold alike) within the window. So the two stations,
asked for one window, export the same envelopes, and their exports agree (§14, step 5). Each
direction's span then runs on along its hash path to the first chain head at or after its
last envelope, and on past every position the *other* station vouched for in an item of the
file (a receipt, a cross-link, an acknowledgement, a checkpoint head), so a verifier checks
all of them (§14: one past the file's chain is a failure). NACKs of the window or of an
exported position, and the checkpoints of the window plus the one just before and just after
it (they bracket the window's first and last messages, §8), ride along. Everything is read
in one read transaction: the file shows one moment of the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from hotline.record import (
    ChainHead,
    Checkpoint,
    Direction,
    Envelope,
    ExportRange,
    Nack,
    Receipt,
    Span,
    vouched_tops,
)

from ._db import transaction
from ._errors import StoreCorruptError
from ._rows import decoded
from ._sealing import ENVELOPE_COLUMNS, RowCipher, open_envelope

_Item = TypeVar("_Item")

#: Unbounded ends of a window, UTC ms (``sequenced_at`` is a u64, §3.1).
_EARLIEST: Final = 0
_LATEST: Final = (1 << 63) - 1
#: Where a stored checkpoint's ``proposed_at`` (u64, big-endian) lies in its item, 1-based as
#: SQLite's ``substr`` counts: after the line id, the proposer, the number and both heads
#: (record-format.md §8). Big-endian bytes compare as the numbers do, so the window is a
#: range on them and checkpoints outside it are never decoded.
_PROPOSED_AT: Final = 1 + 64 + 1 + 8 + 2 * (8 + 64)


@dataclass(frozen=True, slots=True)
class RecordWindow:
    """The times an export covers, UTC ms, both ends included; None leaves an end open.

    Raises:
        ValueError: (on construction) a negative time, or ``start`` after ``end``.
    """

    start_ms: int | None = None
    end_ms: int | None = None

    def __post_init__(self) -> None:
        bounds = [t for t in (self.start_ms, self.end_ms) if t is not None]
        if any(t < 0 for t in bounds):
            raise ValueError("a record window starts at or after 1970")
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise ValueError("the record window ends before it starts")

    @property
    def bounds(self) -> tuple[int, int]:
        """Both ends, an open one as the earliest or latest time there is."""
        return (
            _EARLIEST if self.start_ms is None else self.start_ms,
            _LATEST if self.end_ms is None else self.end_ms,
        )

    def includes(self, at_ms: int) -> bool:
        """Whether ``at_ms`` lies in the window."""
        start, end = self.bounds
        return start <= at_ms <= end


@dataclass(frozen=True, slots=True)
class RecordItems:
    """What an export of one window holds, as :func:`hotline.record.encode_export` takes it.

    Attributes:
        export_range: the line and the span of each direction (``0..0`` if none in the window).
        envelopes: both directions' spans and hash paths, bodies opened.
        heads: the chain heads naming those envelopes.
        receipts: per direction, those at or after the span's first, up to the first that
            covers its last.
        nacks: those refusing something in the window (by their ``refused_at``) or one of
            the exported positions.
        checkpoints: those proposed in the window, and the last before it and the first
            after it.
    """

    export_range: ExportRange
    envelopes: tuple[Envelope, ...]
    heads: tuple[ChainHead, ...]
    receipts: tuple[Receipt, ...]
    nacks: tuple[Nack, ...]
    checkpoints: tuple[Checkpoint, ...]


def read_record(
    db: sqlite3.Connection, path: Path, cipher: RowCipher, line_id: bytes, window: RecordWindow
) -> RecordItems:
    """Read the record of ``line_id`` sequenced within ``window``, in one read transaction.

    Raises:
        StoreError: the store cannot be read.
        StoreCorruptError: an item does not decode, or an envelope of a span or its hash path
            is missing or fails to open (the export would not verify: the operator learns it
            here, with the place).
    """
    with transaction(db, path, write=False):
        spans = tuple(_span(db, line_id, d, window) for d in Direction)
        receipts = [
            receipt
            for d in Direction
            if not spans[d].empty
            for receipt in _receipts(db, line_id, d, spans[d])
        ]
        checkpoints = _checkpoints(db, line_id, window)
        ends = [0 if span.empty else span.last for span in spans]
        chains: list[list[Envelope]] = [[], []]
        # Each step may bring envelopes whose cross-links name more of the other direction.
        while True:
            for d in Direction:
                if not spans[d].empty and (not chains[d] or chains[d][-1].seq < ends[d]):
                    ends[d] = _path_end(db, line_id, d, ends[d])
                    first = chains[d][-1].seq + 1 if chains[d] else spans[d].first
                    chains[d] += _envelopes(db, cipher, line_id, d, first=first, last=ends[d])
            vouched = vouched_tops(chains, receipts, checkpoints)  # ACKs on the path too: more
            if all(spans[d].empty or vouched[d] <= ends[d] for d in Direction):
                break
            ends = [max(end, top) for end, top in zip(ends, vouched, strict=True)]
        heads = [
            head
            for d in Direction
            if not spans[d].empty
            for head in _items(
                db,
                ChainHead.decode,
                "chain head",
                "SELECT item FROM heads WHERE line_id = ? AND direction = ? AND seq BETWEEN ? AND ?"
                " ORDER BY seq",
                (line_id, int(d), spans[d].first, ends[d]),
            )
        ]
        nacks = [
            nack
            for nack in _items(
                db, Nack.decode, "NACK", "SELECT item FROM nacks WHERE line_id = ?", (line_id,)
            )
            if window.includes(nack.refused_at_ms)
            or (
                not spans[nack.direction].empty
                and spans[nack.direction].first <= nack.seq <= ends[nack.direction]
            )
        ]
    spans = (spans[0], spans[1])
    envelopes = chains[0] + chains[1]
    return RecordItems(
        ExportRange(line_id, spans),
        tuple(envelopes),
        tuple(heads),
        tuple(receipts),
        tuple(nacks),
        tuple(checkpoints),
    )


def _span(
    db: sqlite3.Connection, line_id: bytes, direction: Direction, window: RecordWindow
) -> Span:
    first, last = db.execute(
        "SELECT min(seq), max(seq) FROM envelopes"
        " WHERE line_id = ? AND direction = ? AND sequenced_at_ms BETWEEN ? AND ?",
        (line_id, int(direction), *window.bounds),
    ).fetchone()
    if first is None:
        return Span(0, 0)
    # An open start is the chain's start: a first envelope deleted from the store must show
    # as missing, not move the span.
    return Span(1 if window.start_ms is None else first, last)


def _path_end(db: sqlite3.Connection, line_id: bytes, direction: Direction, seq: int) -> int:
    """The seq of the first chain head at or after ``seq``: where the hash path ends."""
    (end,) = db.execute(
        "SELECT min(seq) FROM heads WHERE line_id = ? AND direction = ? AND seq >= ?",
        (line_id, int(direction), seq),
    ).fetchone()
    if end is None:
        raise StoreCorruptError(f"no stored chain head covers envelope {direction.name} #{seq}")
    return int(end)


def _checkpoints(db: sqlite3.Connection, line_id: bytes, window: RecordWindow) -> list[Checkpoint]:
    """Those proposed in the window, and the last before it and the first after it."""
    start, end = (bound.to_bytes(8, "big") for bound in window.bounds)
    query = "SELECT item FROM checkpoints WHERE line_id = ? AND substr(item, ?, 8)"
    rows = [
        *db.execute(
            f"{query} < ? ORDER BY substr(item, ?, 8) DESC LIMIT 1",
            (line_id, _PROPOSED_AT, start, _PROPOSED_AT),
        ),
        *db.execute(f"{query} BETWEEN ? AND ?", (line_id, _PROPOSED_AT, start, end)),
        *db.execute(
            f"{query} > ? ORDER BY substr(item, ?, 8) LIMIT 1",
            (line_id, _PROPOSED_AT, end, _PROPOSED_AT),
        ),
    ]
    return [decoded(Checkpoint.decode, item, "checkpoint") for (item,) in rows]


def _envelopes(
    db: sqlite3.Connection,
    cipher: RowCipher,
    line_id: bytes,
    direction: Direction,
    *,
    first: int,
    last: int,
) -> list[Envelope]:
    rows = db.execute(
        f"SELECT {ENVELOPE_COLUMNS} FROM envelopes"  # noqa: S608
        " WHERE line_id = ? AND direction = ? AND seq BETWEEN ? AND ? ORDER BY seq",
        (line_id, int(direction), first, last),
    )
    result = [open_envelope(cipher, row) for row in rows]
    if [envelope.seq for envelope in result] != list(range(first, last + 1)):
        raise StoreCorruptError(
            f"the store misses envelopes of direction {direction.name} between #{first} and #{last}"
        )
    return result


def _receipts(
    db: sqlite3.Connection, line_id: bytes, direction: Direction, span: Span
) -> list[Receipt]:
    """The receipts from the span's first on, up to the first covering its last."""
    result: list[Receipt] = []
    for receipt in _items(
        db,
        Receipt.decode,
        "receipt",
        "SELECT item FROM receipts WHERE line_id = ? AND direction = ? AND seq >= ? ORDER BY seq",
        (line_id, int(direction), span.first),
    ):
        result.append(receipt)
        if receipt.seq >= span.last:
            break
    return result


def _items(
    db: sqlite3.Connection,
    decode: Callable[[bytes], _Item],
    what: str,
    query: str,
    parameters: tuple[object, ...],
) -> Iterator[_Item]:
    for (item,) in db.execute(query, parameters):
        yield decoded(decode, item, what)
