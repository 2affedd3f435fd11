"""The errors of :mod:`hotline.record`: one class per refusal reason, so a refusal is a NACK.

Every item a peer sends (an envelope, a chain head, a receipt, a checkpoint) that this package
refuses raises a :class:`RejectionError` whose class names exactly one
:class:`~hotline.record.NackReason`: the station signs a NACK with that reason and halts the
direction. Decoding errors are rejections too (``MALFORMED``, ``UNKNOWN_VERSION``,
``UNKNOWN_VALUE``, ``BODY_MISMATCH``); they also subclass :class:`ValueError`, because building a
malformed item locally (a text too long, a hash of the wrong size) raises the same error.

A verifier run from the command line shows any of them as one line (:class:`HotlineError`).
"""

from __future__ import annotations

from typing import ClassVar

from hotline.errors import ExitCode, HotlineError

from ._codes import NackReason


class RecordError(HotlineError):
    """Base class of every error raised by :mod:`hotline.record`."""

    exit_code = ExitCode.RECORD_INVALID


class RejectionError(RecordError):
    """An item from the peer is refused; the direction halts and a NACK names :attr:`reason`.

    Attributes:
        reason: the NACK reason code of this class of refusal.
        seq: the sequence number concerned, 0 if unknown (an item that did not decode).
        item_hash: the envelope hash the refused item carries or names, None if unknown.
    """

    reason: ClassVar[NackReason]

    def __init__(self, message: str, *, seq: int = 0, item_hash: bytes | None = None) -> None:
        super().__init__(message)
        self.seq = seq
        self.item_hash = item_hash


class MalformedError(RejectionError, ValueError):
    """Does not decode: truncated, a length over its limit, a broken field rule, trailing bytes."""

    reason = NackReason.MALFORMED


class UnknownVersionError(MalformedError):
    """A version byte this implementation does not speak."""

    reason = NackReason.UNKNOWN_VERSION


class UnknownValueError(MalformedError):
    """A one-byte code outside its table (direction, precedence, kind, reason, subject).

    Attributes:
        field: which field held the unknown value ("kind", "direction", ...).
        value: the value found.
    """

    reason = NackReason.UNKNOWN_VALUE

    def __init__(self, message: str, *, field: str, value: int) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class BodyMismatchError(MalformedError):
    """An envelope body that does not match its header's ``body_len`` or ``body_hash``."""

    reason = NackReason.BODY_MISMATCH


class WrongLineError(RejectionError):
    """An item of another line, or of the other direction."""

    reason = NackReason.WRONG_LINE


class BadSignatureError(RejectionError):
    """One or both halves of a hybrid signature do not verify with the expected card keys."""

    reason = NackReason.BAD_SIGNATURE


class GapError(RejectionError):
    """A sequence number beyond the next one expected: something in between is missing."""

    reason = NackReason.GAP


class BrokenChainError(RejectionError):
    """An envelope whose ``prev_hash`` is not the hash of the envelope before it."""

    reason = NackReason.BROKEN_CHAIN


class EquivocationError(RejectionError):
    """Two different envelopes (or signed heads) for one sequence number.

    Attributes:
        accepted: the envelope hash held for :attr:`seq` before.
        conflicting: the other envelope hash now presented for it.
    """

    reason = NackReason.EQUIVOCATION

    def __init__(self, seq: int, accepted: bytes, conflicting: bytes) -> None:
        super().__init__(
            f"equivocation at seq {seq}: {accepted[:8].hex()}… was accepted,"
            f" {conflicting[:8].hex()}… now presented",
            seq=seq,
            item_hash=conflicting,
        )
        self.accepted = accepted
        self.conflicting = conflicting


class HeadMismatchError(RejectionError):
    """A signed head or receipt naming a hash other than the envelope held at its ``seq``."""

    reason = NackReason.HEAD_MISMATCH


class UncoveredError(RejectionError):
    """Envelopes without a covering head beyond the window, or never covered at all."""

    reason = NackReason.UNCOVERED


class CrossLinkError(RejectionError):
    """A cross-link or ACK reference that goes backwards or names an envelope not held."""

    reason = NackReason.CROSS_LINK


class ChainHaltedError(RecordError):
    """The validator of this direction refused an item before and accepts nothing more.

    Not a refusal of the new item: the caller fed a halted direction (its own mistake).
    """
