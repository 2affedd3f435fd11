"""What verifying an export finds: every failure with its place, and what could not be checked.

A verifier never stops at the first failure (record-format.md §14): each :class:`Finding` names
the item index, the direction and the sequence number it is about, so an investigator can go
straight to it, and the operator reads one line per finding.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from ._codes import Direction, NackReason
from ._envelope import Envelope
from ._errors import RejectionError
from ._export import ExportRange
from ._receipt import Receipt


class Reason(enum.StrEnum):
    """Why a finding fails: the NACK reasons (§7), and what only a whole file can break."""

    MALFORMED = "MALFORMED"
    UNKNOWN_VERSION = "UNKNOWN_VERSION"
    UNKNOWN_VALUE = "UNKNOWN_VALUE"
    BODY_MISMATCH = "BODY_MISMATCH"
    WRONG_LINE = "WRONG_LINE"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    GAP = "GAP"
    BROKEN_CHAIN = "BROKEN_CHAIN"
    EQUIVOCATION = "EQUIVOCATION"
    HEAD_MISMATCH = "HEAD_MISMATCH"
    UNCOVERED = "UNCOVERED"
    CROSS_LINK = "CROSS_LINK"
    #: an item where §13's order does not allow it (a duplicate, a direction after the other).
    ORDER = "ORDER"
    #: an item outside the range the file declares, or a range its items do not fill.
    RANGE = "RANGE"
    #: a card that does not decode or verify, or two cards that cannot make a line.
    CARD = "CARD"
    #: a send time that a checkpoint both stations signed contradicts (§8's bracket): listed
    #: apart (:attr:`RecordReport.contradicted`), not a failure.
    TIME = "TIME"

    @classmethod
    def of(cls, reason: NackReason) -> Reason:
        """The finding reason of a refusal."""
        return cls[reason.name]


@dataclass(frozen=True, slots=True)
class Finding:
    """One failure, or one thing not checked, at one place of the file.

    Attributes:
        index: the item it is about (0 is the first card), None for the file as a whole.
        direction: the direction concerned, if any.
        seq: the sequence number concerned, if any.
        reason: why it fails (for a note: what kind of thing was not checked).
        text: one line for the operator.
    """

    index: int | None
    direction: Direction | None
    seq: int | None
    reason: Reason
    text: str

    @classmethod
    def refusal(
        cls, index: int | None, direction: Direction | None, exc: RejectionError
    ) -> Finding:
        """The finding of a refusal raised by a decoder or a :class:`ChainValidator`."""
        return cls(index, direction, exc.seq or None, Reason.of(exc.reason), str(exc))

    def __str__(self) -> str:
        where = [
            f"item {self.index}" if self.index is not None else "file",
            f"direction {int(self.direction)}" if self.direction is not None else "",
            f"seq {self.seq}" if self.seq is not None else "",
        ]
        return f"{', '.join(part for part in where if part)}: {self.reason}: {self.text}"


@dataclass(frozen=True, slots=True)
class RecordReport:
    """The result of checking the record items of an export (§14, steps 2 to 5).

    Attributes:
        failures: every failure, in the order of the file.
        notes: what could not be checked (references outside the range): not failures.
        refusals: the NACKs that verified, one finding each (its reason, what was refused):
            a station refused something of the other's; the file is not the worse for it.
        attested: per direction, the last seq the station that did not send it vouched for
            (a receipt, a checkpoint, a cross-link or acknowledgement), as the file holds it:
            the envelopes after it are the sender's word alone (:meth:`attested_by_peer`).
        contradicted: envelopes whose send time the checkpoints both stations signed
            disprove (reason TIME): the sender's clock, or its word, was wrong.
        export_range: the RANGE item, None if it did not decode.
        record_hash_start: the record hash (§10) before the range's first envelopes, None if
            the file cannot show it.
        record_hash_end: the record hash at the range's last envelopes, None likewise.
        envelopes: the envelopes of the range that verified, direction 0 then 1, by seq.
        stored_index: the verified receipts' times, for :meth:`stored_at`.
    """

    failures: tuple[Finding, ...]
    notes: tuple[Finding, ...]
    export_range: ExportRange | None
    record_hash_start: bytes | None
    record_hash_end: bytes | None
    envelopes: tuple[Envelope, ...]
    refusals: tuple[Finding, ...]
    contradicted: tuple[Finding, ...]
    attested: tuple[int, int]
    stored_index: StoredIndex = field(repr=False)

    @property
    def valid(self) -> bool:
        """Whether nothing failed."""
        return not self.failures

    @property
    def equivocation(self) -> bool:
        """Whether two signed items (or envelopes) disagree about one position of a chain, or a
        station's signed NACK says the other did so."""
        return any(
            finding.reason is Reason.EQUIVOCATION for finding in self.failures + self.refusals
        )

    def attested_by_peer(self, envelope: Envelope) -> bool:
        """Whether the station that did not send ``envelope`` vouched for it (see
        :attr:`attested`)."""
        return envelope.seq <= self.attested[envelope.header.direction]

    def stored_at(self, envelope: Envelope) -> int | None:
        """The time the receiver says it had stored ``envelope`` by: the earliest verified
        receipt covering it (receipts are cumulative), None if the file holds none."""
        seqs, times = self.stored_index[envelope.header.direction]
        position = bisect.bisect_left(seqs, envelope.seq)
        return times[position] if position < len(times) else None


#: Per direction: the receipted seqs in order, and the earliest receipt time at or after each.
StoredIndex = tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]


def stored_index(receipts: Iterable[Receipt]) -> StoredIndex:
    """Index verified receipts so :meth:`RecordReport.stored_at` is a binary search."""
    index: StoredIndex = (([], []), ([], []))
    for direction in Direction:
        pairs = sorted(
            (receipt.seq, receipt.receipted_at_ms)
            for receipt in receipts
            if receipt.direction is direction
        )
        seqs, times = index[direction]
        earliest: int | None = None
        for seq, time in reversed(pairs):
            earliest = time if earliest is None else min(earliest, time)
            seqs.append(seq)
            times.append(earliest)
        seqs.reverse()
        times.reverse()
    return index
