"""Verify an export file: its cards (step 1 of record-format.md §14), then its record."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.identity import Card, CardError, line_id
from hotline.record import (
    Direction,
    Finding,
    MalformedError,
    Reason,
    RecordReport,
    check_record,
    split_export,
)
from hotline.signatures import VerifyKeys


@dataclass(frozen=True, slots=True)
class StationInfo:
    """A station as its card in the file names it, for the operator to compare with the pin.

    Attributes:
        name: the station name on the card.
        fingerprint: its fingerprint, 40 digits in groups of 5.
        direction: the direction it sends.
    """

    name: str
    fingerprint: str
    direction: Direction

    @classmethod
    def of(cls, card: Card, direction: Direction) -> StationInfo:
        """The station of ``card``, sending ``direction``."""
        return cls(card.name, str(card.fingerprint), direction)


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What verifying an export found.

    Attributes:
        stations: the two stations, direction 0 first (none if the cards did not verify).
        failures: every failure: the file's own, the cards', then the record's.
        record: the record check, None if the file or its cards could not be read.
    """

    stations: tuple[StationInfo, ...]
    failures: tuple[Finding, ...]
    record: RecordReport | None

    @property
    def valid(self) -> bool:
        """Whether nothing failed (and the record was checked at all)."""
        return self.record is not None and not self.failures


def verify_export(data: bytes) -> ExportReport:
    """Verify an export (docs/record-format.md §14); never raises on any input.

    Args:
        data: the whole file.
    """
    try:
        items = split_export(data)
    except MalformedError as exc:
        return ExportReport((), (Finding.refusal(None, None, exc),), None)
    cards: list[Card] = []
    failures: list[Finding] = []
    for item in items[:2]:
        try:
            cards.append(Card.decode(item.payload))
        except CardError as exc:
            failures.append(Finding(item.index, None, None, Reason.CARD, str(exc)))
    if failures:
        return ExportReport((), tuple(failures), None)
    first, second = cards
    digests = (first.fingerprint.digest, second.fingerprint.digest)
    if digests[0] == digests[1]:
        failure = Finding(1, None, None, Reason.CARD, "both cards are one station's")
        return ExportReport((), (failure,), None)
    if digests[0] > digests[1]:
        failures.append(
            Finding(0, None, None, Reason.ORDER, "the cards are swapped: direction 0's comes first")
        )
        first, second = second, first
    keys = (card_keys(first), card_keys(second))
    record = check_record(items, line_id(first, second), keys)
    stations = (StationInfo.of(first, Direction.FIRST), StationInfo.of(second, Direction.SECOND))
    return ExportReport(stations, (*failures, *record.failures), record)


def card_keys(card: Card) -> VerifyKeys:
    """The signing keys of a card (a decoded card's keys always load)."""
    return VerifyKeys.from_public_bytes(card.keys.ed25519, card.keys.mldsa87)
