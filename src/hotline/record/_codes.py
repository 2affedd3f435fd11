"""The small code tables of the record: directions, precedences, kinds, NACK reasons, subjects.

Each is one byte on the wire; a value outside its table is refused as an *unknown value*
(docs/record-format.md §7), never mapped to a default. Codes are never reused.
"""

from __future__ import annotations

import enum
from typing import TypeVar

_T = TypeVar("_T")


class Direction(enum.IntEnum):
    """One of the two hash chains of a line (docs/record-format.md §2).

    ``FIRST`` is sent by the station whose card fingerprint digest sorts first as a byte string
    (the ``min`` of the line id), ``SECOND`` by the other one.
    """

    FIRST = 0
    SECOND = 1

    @property
    def other(self) -> Direction:
        """The opposite direction: the one this direction's sender receives."""
        return Direction(1 - self)

    def ordered(self, ours: _T, theirs: _T) -> tuple[_T, _T]:
        """``ours`` (of this direction's station) and ``theirs`` in direction order, direction
        0's first: how heads and signatures are laid out in checkpoints."""
        return (ours, theirs) if self is Direction.FIRST else (theirs, ours)


def direction_of(sender: bytes, receiver: bytes) -> Direction:
    """Return the direction in which the station with fingerprint digest ``sender`` sends.

    Args:
        sender: the 64-byte fingerprint digest of the sending station's card.
        receiver: the 64-byte fingerprint digest of the other station's card.

    Raises:
        ValueError: the two digests are equal (a station has no line to itself).
    """
    if sender == receiver:
        raise ValueError("a line joins two different stations")
    return Direction.FIRST if sender < receiver else Direction.SECOND


class Precedence(enum.IntEnum):
    """How urgently a message must go, from military message handling: FLASH goes first.

    The order of sending is by descending value; precedence is recorded in the envelope but
    plays no part in validating a chain.
    """

    ROUTINE = 0
    PRIORITY = 1
    IMMEDIATE = 2
    FLASH = 3


class Kind(enum.IntEnum):
    """What an envelope carries (docs/record-format.md §3.2). 0 is never a kind."""

    MESSAGE = 1
    TEST = 2
    ACK = 3


class NackReason(enum.IntEnum):
    """Why an item was refused; each :class:`RejectionError` subclass names exactly one."""

    MALFORMED = 1
    UNKNOWN_VERSION = 2
    UNKNOWN_VALUE = 3
    BODY_MISMATCH = 4
    WRONG_LINE = 5
    BAD_SIGNATURE = 6
    GAP = 7
    BROKEN_CHAIN = 8
    EQUIVOCATION = 9
    HEAD_MISMATCH = 10
    UNCOVERED = 11
    CROSS_LINK = 12


class Subject(enum.IntEnum):
    """What a NACK refuses. The codes are the export file's item types (§13) for the same items."""

    ENVELOPE = 0x10
    CHAIN_HEAD = 0x12
    RECEIPT = 0x13
    CHECKPOINT = 0x15
