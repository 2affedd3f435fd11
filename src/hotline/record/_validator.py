"""The receiver's check of one direction: links, signatures, coverage (docs/record-format.md §11).

Invariants, in the order the checks run:

1. Every item is of this line and this direction, or it is refused (``WRONG_LINE``).
2. Envelopes are taken in order: the next seq, linked by ``prev_hash``; an envelope for a seq
   already held is a duplicate if its hash is equal (ignored: resends are normal) and
   equivocation if not. Nothing is ever skipped.
3. An envelope is delivered only once a head whose two signatures verify covers it. Until then
   it waits, and at most ``MAX_UNCOVERED_ENVELOPES`` wait; at most ``MAX_HEADS_AHEAD`` verified
   heads wait for the envelopes they name.
4. Checks run on locals; state changes only after every check passed. Any failure moves the
   validator to ``HALTED`` for good: the station signs a NACK and raises the alarm, and only an
   operator's decision starts a new validator.
"""

from __future__ import annotations

import enum

from hotline.constants import MAX_HEADS_AHEAD, MAX_UNCOVERED_ENVELOPES
from hotline.signatures import VerifyKeys

from ._chain import HashLookup, check_cross_link
from ._codes import Direction
from ._envelope import Envelope
from ._errors import (
    BadSignatureError,
    BrokenChainError,
    ChainHaltedError,
    EquivocationError,
    GapError,
    HeadMismatchError,
    UncoveredError,
    WrongLineError,
)
from ._hashing import GENESIS, ChainRef
from ._head import ChainHead


class ChainState(enum.Enum):
    """A validator accepts items while ``ACTIVE``; after any refusal it is ``HALTED``."""

    ACTIVE = "active"
    HALTED = "halted"


class ChainValidator:
    """Check one direction of a line, item by item, as it arrives.

    Args:
        line_id: the line's id.
        direction: the direction to check (the peer's, for a receiving station).
        keys: the signing keys of the station that sends ``direction``, from its card.
        tip: the last envelope already stored (``GENESIS`` if none); the next must link to it.
        cross: that envelope's cross-link (``GENESIS`` if unknown): cross-links never go back.
        history: this direction's stored hash at a seq ≤ ``tip.seq`` (the store). Without it
            the validator remembers every hash it covers, in memory; with it, the caller must
            store what :meth:`receive_envelope` and :meth:`receive_head` return before feeding
            the next item.
        other: the other direction's hash at a seq, to check cross-links and acknowledgements
            against. A receiving station passes its own sent chain; None checks only that they
            never go back (a verifier checks them afterwards, with :func:`check_cross_link`).
    """

    __slots__ = (
        "_ahead",
        "_covered",
        "_cross",
        "_direction",
        "_error",
        "_history",
        "_keys",
        "_line_id",
        "_other",
        "_pending",
        "_seen",
        "_state",
    )

    def __init__(
        self,
        line_id: bytes,
        direction: Direction,
        keys: VerifyKeys,
        *,
        tip: ChainRef = GENESIS,
        cross: ChainRef = GENESIS,
        history: HashLookup | None = None,
        other: HashLookup | None = None,
    ) -> None:
        self._line_id = line_id
        self._direction = direction
        self._keys = keys
        self._covered = tip
        self._cross = cross
        self._history = history
        self._other = other
        self._pending: list[Envelope] = []
        self._ahead: dict[int, ChainHead] = {}
        self._seen: dict[int, bytes] = {tip.seq: tip.hash}
        self._state = ChainState.ACTIVE
        self._error: Exception | None = None

    # --- What the validator holds --------------------------------------------------------------
    @property
    def state(self) -> ChainState:
        """``ACTIVE``, or ``HALTED`` after a refusal."""
        return self._state

    @property
    def error(self) -> Exception | None:
        """The refusal that halted the validator, if any."""
        return self._error

    @property
    def covered(self) -> ChainRef:
        """The last envelope covered by a verified head (delivered, or stored at the start)."""
        return self._covered

    @property
    def tip(self) -> ChainRef:
        """The last envelope linked, covered or still waiting for its head."""
        return self._pending[-1].header.ref if self._pending else self._covered

    @property
    def uncovered(self) -> tuple[Envelope, ...]:
        """The envelopes linked but still waiting for a head, in order."""
        return tuple(self._pending)

    # --- Feeding it ----------------------------------------------------------------------------
    def receive_envelope(self, envelope: Envelope) -> tuple[Envelope, ...]:
        """Take the next envelope of the direction.

        Args:
            envelope: a decoded envelope (its body checked against its header already).

        Returns:
            The envelopes this one completed the coverage of (when a head was waiting for it),
            in order, to be stored with a receipt; usually none. A duplicate returns none.

        Raises:
            WrongLineError, EquivocationError, GapError, BrokenChainError, CrossLinkError,
            UncoveredError, HeadMismatchError: the envelope is refused; the validator halts.
            ChainHaltedError: the validator had halted before.
        """
        self._require_active()
        try:
            return self._take_envelope(envelope)
        except Exception as exc:
            self._halt(exc)
            raise

    def receive_head(self, head: ChainHead) -> tuple[Envelope, ...]:
        """Take a signed head of the direction.

        Args:
            head: a decoded chain head (its signature is checked here).

        Returns:
            The envelopes it covers that were not covered before, in order, to be stored with a
            receipt. A head for envelopes still to come returns none and waits for them.

        Raises:
            WrongLineError, BadSignatureError, EquivocationError, HeadMismatchError,
            UncoveredError: the head is refused; the validator halts.
            ChainHaltedError: the validator had halted before.
        """
        self._require_active()
        try:
            return self._take_head(head)
        except Exception as exc:
            self._halt(exc)
            raise

    def finish(self) -> None:
        """Check, at the end of a record, that every envelope is covered and every head met.

        A verifier calls this after the last item of a direction; a station never does (what
        is uncovered when a session ends is simply received again).

        Raises:
            UncoveredError: envelopes remain that no head covers.
            GapError: a head names an envelope beyond the last one present.
            ChainHaltedError: the validator had halted before.
        """
        self._require_active()
        try:
            if self._pending:
                first = self._pending[0]
                raise UncoveredError(
                    f"envelopes {first.seq} to {self.tip.seq} are covered by no signed head",
                    seq=first.seq,
                    item_hash=first.hash,
                )
            if self._ahead:
                seq = min(self._ahead)
                raise GapError(
                    f"a signed head names envelope {seq}; the chain stops at {self.tip.seq}",
                    seq=seq,
                    item_hash=self._ahead[seq].envelope_hash,
                )
        except Exception as exc:
            self._halt(exc)
            raise

    # --- The checks ----------------------------------------------------------------------------
    def _require_active(self) -> None:
        if self._state is ChainState.HALTED:
            raise ChainHaltedError(
                f"direction {self._direction.name} is halted after: {self._error}"
            )

    def _halt(self, exc: Exception) -> None:
        self._state = ChainState.HALTED
        self._error = exc

    def _check_line(self, line_id: bytes, direction: Direction, seq: int, item: str) -> None:
        if line_id != self._line_id or direction != self._direction:
            raise WrongLineError(
                f"{item} {seq} belongs to another line or direction"
                f" ({direction.name}, line {line_id[:8].hex()}…)",
                seq=seq,
            )

    def _hash_at(self, seq: int) -> bytes:
        """The hash held at ``seq ≤ tip``: waiting, covered here, or stored before."""
        if seq > self._covered.seq:
            return self._pending[seq - self._covered.seq - 1].hash
        known = self._seen.get(seq)
        if known is None and self._history is not None:
            known = self._history(seq)
        if known is None:
            raise ValueError(f"no hash known at seq {seq}: give the validator its history")
        return known

    def _take_envelope(self, envelope: Envelope) -> tuple[Envelope, ...]:
        header = envelope.header
        seq = header.seq
        self._check_line(header.line_id, header.direction, seq, "envelope")
        tip = self.tip
        if seq <= tip.seq:
            held = self._hash_at(seq)
            if held == envelope.hash:
                return ()
            raise EquivocationError(seq, held, envelope.hash)
        if seq != tip.seq + 1:
            raise GapError(
                f"envelope {seq} arrived after {tip.seq}: {seq - tip.seq - 1} missing",
                seq=seq,
                item_hash=envelope.hash,
            )
        if header.prev_hash != tip.hash:
            raise BrokenChainError(
                f"envelope {seq} does not link to envelope {tip.seq}",
                seq=seq,
                item_hash=envelope.hash,
            )
        check_cross_link(self._cross, envelope, self._other)
        if len(self._pending) >= MAX_UNCOVERED_ENVELOPES:
            raise UncoveredError(
                f"envelope {seq} would be the {MAX_UNCOVERED_ENVELOPES + 1}th without a head",
                seq=seq,
                item_hash=envelope.hash,
            )
        waiting = self._ahead.get(seq)
        if waiting is not None and waiting.envelope_hash != envelope.hash:
            raise HeadMismatchError(
                f"the signed head at {seq} names another envelope than the one received",
                seq=seq,
                item_hash=envelope.hash,
            )
        # Every check passed: commit.
        self._pending.append(envelope)
        self._cross = header.cross
        if waiting is None:
            return ()
        del self._ahead[seq]
        return self._cover(seq)

    def _take_head(self, head: ChainHead) -> tuple[Envelope, ...]:
        seq = head.seq
        self._check_line(head.line_id, head.direction, seq, "chain head")
        if not head.verify(self._keys):
            raise BadSignatureError(
                f"the chain head at {seq} does not verify with the sender's card",
                seq=seq,
                item_hash=head.envelope_hash,
            )
        tip = self.tip
        if seq <= tip.seq:
            held = self._hash_at(seq)
            if held != head.envelope_hash:
                if seq <= self._covered.seq:
                    raise EquivocationError(seq, held, head.envelope_hash)
                raise HeadMismatchError(
                    f"the signed head at {seq} names another envelope than the one received",
                    seq=seq,
                    item_hash=head.envelope_hash,
                )
            return self._cover(seq) if seq > self._covered.seq else ()
        waiting = self._ahead.get(seq)
        if waiting is not None:
            if waiting.envelope_hash != head.envelope_hash:
                raise EquivocationError(seq, waiting.envelope_hash, head.envelope_hash)
            return ()
        if len(self._ahead) >= MAX_HEADS_AHEAD:
            raise UncoveredError(
                f"more than {MAX_HEADS_AHEAD} signed heads ahead of the envelopes",
                seq=seq,
                item_hash=head.envelope_hash,
            )
        self._ahead[seq] = head
        return ()

    def _cover(self, seq: int) -> tuple[Envelope, ...]:
        """Deliver the waiting envelopes up to ``seq``, now covered by a verified head."""
        count = seq - self._covered.seq
        delivered = tuple(self._pending[:count])
        del self._pending[:count]
        if self._history is None:
            self._seen.update((envelope.seq, envelope.hash) for envelope in delivered)
        self._covered = delivered[-1].header.ref
        return delivered
