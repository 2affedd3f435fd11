"""Checkpoints of one session: propose, co-sign, counter-sign (docs/protocol.md §4.10). Sans-IO.

A checkpoint fixes both directions' heads under both stations' signatures, each made only if
the other's clock agrees with its own (record-format §8). This class checks and remembers; the
station signs (ML-DSA costs a millisecond: it signs off the event loop) and stores. So the
events ask for a signature, and :meth:`cosign` / :meth:`countersign` take it back and return
the frame to send.

Rules:

1. A proposal names the peer as proposer, a number above every number already seen from it
   (no replay), and heads this station holds with those hashes: our own head an envelope we
   sent, the peer's an envelope we stored. A peer head not stored *yet* (in flight) is declined
   without an alarm; any other mismatch raises the record alarm. A time outside the bound
   raises the clock alarm. A declined proposal is answered with nothing.
2. A co-signature or counter-signature counts only for the checkpoint it names, once. The
   co-signer keeps the last ``MAX_AWAITING_COUNTERSIGN`` it co-signed waiting for theirs: a
   later proposal may overtake a counter-signature on the wire.
3. At most one proposal of ours waits for its co-signature; a new proposal replaces it.
4. A checkpoint the peer sends again (CK_RESEND: its counter-signature was lost with a
   session) must number above the last one it sent again in this session, starting from what
   our SYNC said we stored; it must name this line and the peer as proposer, and both
   signatures must verify (ours too: we co-signed it). Any failure raises the record alarm,
   and every later CK_RESEND of the session is ignored unchecked: an honest peer sends only
   good ones, so the signature checks a peer can make us run stay bounded by the checkpoints
   we co-signed. Its heads are checked when the writer reaches it
   (:meth:`Checkpoints.take_resent`), once the envelopes that came before it are stored: ours
   first, then the peer's; a head we do not hold is declined quietly (the next session sends
   it again), another hash raises the record alarm. One taken raises the floor of proposals
   to at least its number.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.constants import MAX_AWAITING_COUNTERSIGN
from hotline.record import (
    GENESIS,
    ChainRef,
    Checkpoint,
    CheckpointBody,
    Direction,
    RecordError,
    clock_agrees,
)
from hotline.session import Frame
from hotline.signatures import HybridSignature, VerifyKeys

from ._exchange import StoredHash
from ._frames import (
    CheckpointCosign,
    CheckpointCountersign,
    CheckpointProposal,
    CheckpointResend,
)


@dataclass(frozen=True, slots=True)
class CosignWanted:
    """The peer's proposal passed every check: sign ``body`` (its time is ours) and pass the
    signature to :meth:`Checkpoints.cosign`."""

    body: CheckpointBody


@dataclass(frozen=True, slots=True)
class CountersignWanted:
    """Our proposal came back co-signed and checked: sign ``body`` and pass both signatures
    to :meth:`Checkpoints.countersign`."""

    body: CheckpointBody
    theirs: HybridSignature


@dataclass(frozen=True, slots=True)
class CheckpointComplete:
    """The peer counter-signed a checkpoint we co-signed: store it."""

    checkpoint: Checkpoint


@dataclass(frozen=True, slots=True)
class CheckpointResent:
    """The peer sent a checkpoint again, both signatures good: pass it to
    :meth:`Checkpoints.take_resent` once what arrived before it is stored, and store what
    that returns."""

    checkpoint: Checkpoint


@dataclass(frozen=True, slots=True)
class CheckpointDeclined:
    """A checkpoint step failed; ``alarm`` is ``"clock"``, ``"record"``, or None (in flight)."""

    reason: str
    alarm: str | None


CheckpointEvent = (
    CosignWanted | CountersignWanted | CheckpointComplete | CheckpointResent | CheckpointDeclined
)


class Checkpoints:
    """The checkpoint steps of one session of one line.

    Args:
        line_id: the line's id.
        direction: the direction this station sends.
        own_keys: this station's signing keys (a resent checkpoint carries our signature).
        peer_keys: the peer's signing keys.
        stored: the stored hash at ``(direction, seq)``.
        skew_bound_ms: the clock bound ``B``.
        last_theirs: the highest number of a checkpoint the peer proposed that we stored.
    """

    __slots__ = (
        "_awaiting",
        "_direction",
        "_last_theirs",
        "_line_id",
        "_own_keys",
        "_peer_keys",
        "_proposal",
        "_resend_refused",
        "_resent_above",
        "_skew_bound_ms",
        "_stored",
    )

    def __init__(
        self,
        *,
        line_id: bytes,
        direction: Direction,
        own_keys: VerifyKeys,
        peer_keys: VerifyKeys,
        stored: StoredHash,
        skew_bound_ms: int,
        last_theirs: int = 0,
    ) -> None:
        self._line_id = line_id
        self._direction = direction
        self._own_keys = own_keys
        self._peer_keys = peer_keys
        self._stored = stored
        self._skew_bound_ms = skew_bound_ms
        self._last_theirs = last_theirs
        self._proposal: CheckpointBody | None = None
        #: Peer proposals we co-signed, waiting for the counter-signature: number -> signed body.
        self._awaiting: dict[int, tuple[CheckpointBody, HybridSignature]] = {}
        #: The number a checkpoint the peer sends again must exceed, and whether one was refused.
        self._resent_above = last_theirs
        self._resend_refused = False

    def __repr__(self) -> str:
        return f"Checkpoints({self._direction.name}, proposal={self._proposal is not None})"

    # --- Proposing -----------------------------------------------------------------------------
    def propose(self, number: int, heads: tuple[ChainRef, ChainRef], now_ms: int) -> Frame:
        """Return the proposal of checkpoint ``number`` over ``heads`` (rule 3)."""
        body = CheckpointBody(self._line_id, self._direction, number, heads, now_ms, 0)
        self._proposal = body
        return CheckpointProposal(body.encode())

    def countersign(
        self, body: CheckpointBody, theirs: HybridSignature, ours: HybridSignature
    ) -> tuple[Checkpoint, Frame]:
        """Return the complete checkpoint (to store) and the counter-signature to send."""
        frame = CheckpointCountersign(body.proposer, body.number, ours)
        return Checkpoint(body, self._direction.ordered(ours, theirs)), frame

    # --- Co-signing ----------------------------------------------------------------------------
    def cosign(self, body: CheckpointBody, ours: HybridSignature) -> Frame:
        """Return the co-signature of ``body`` (from :class:`CosignWanted`) to send."""
        self._awaiting[body.number] = (body, ours)
        while len(self._awaiting) > MAX_AWAITING_COUNTERSIGN:
            del self._awaiting[min(self._awaiting)]
        return CheckpointCosign(body.proposer, body.number, body.cosigned_at_ms, ours)

    # --- Input ---------------------------------------------------------------------------------
    def receive(self, frame: Frame, now_ms: int, rtt_ms: int) -> list[CheckpointEvent]:
        """Take one checkpoint frame; return what to do."""
        if isinstance(frame, CheckpointProposal):
            return [self._proposed(frame, now_ms, rtt_ms)]
        if isinstance(frame, CheckpointCosign):
            return [self._cosigned(frame, now_ms, rtt_ms)]
        if isinstance(frame, CheckpointCountersign):
            return [self._countersigned(frame)]
        if isinstance(frame, CheckpointResend):
            return [self._take_resend(frame)]
        raise TypeError(f"not a checkpoint frame: {type(frame).__name__}")

    def _proposed(self, frame: CheckpointProposal, now_ms: int, rtt_ms: int) -> CheckpointEvent:
        try:
            body = CheckpointBody.decode(frame.item)
        except RecordError as exc:
            return CheckpointDeclined(f"an undecodable proposal: {exc}", "record")
        peer = self._direction.other
        if body.line_id != self._line_id or body.proposer != peer or body.cosigned_at_ms:
            return CheckpointDeclined("a proposal for another line or proposer", "record")
        if body.number <= self._last_theirs:
            return CheckpointDeclined(f"proposal {body.number} replayed", "record")
        own, theirs = body.head(self._direction), body.head(peer)
        if not self._holds(self._direction, own):
            return CheckpointDeclined(f"our head #{own.seq} is not the envelope we sent", "record")
        if theirs.seq and self._stored(peer, theirs.seq) is None:
            return CheckpointDeclined(f"their head #{theirs.seq} is still in flight", None)
        if not self._holds(peer, theirs):
            return CheckpointDeclined(f"their head #{theirs.seq} is not what we stored", "record")
        if not clock_agrees(body.proposed_at_ms, now_ms, self._skew_bound_ms, rtt_ms):
            skew = body.proposed_at_ms - now_ms
            return CheckpointDeclined(f"their clock is {skew} ms from ours", "clock")
        self._last_theirs = body.number
        return CosignWanted(body.cosigned(now_ms))

    def _take_resend(self, frame: CheckpointResend) -> CheckpointEvent:
        if self._resend_refused:  # the refusal raised the alarm; the rest are ignored
            return CheckpointDeclined("a checkpoint sent again after a refused one", None)
        event = self._check_resend(frame)
        self._resend_refused = isinstance(event, CheckpointDeclined)
        return event

    def _check_resend(self, frame: CheckpointResend) -> CheckpointEvent:
        try:
            checkpoint = Checkpoint.decode(frame.item)
        except RecordError as exc:
            return CheckpointDeclined(f"an undecodable checkpoint sent again: {exc}", "record")
        body = checkpoint.body
        if (
            body.line_id != self._line_id
            or body.proposer != self._direction.other
            or not body.cosigned_at_ms
        ):
            return CheckpointDeclined(
                "a checkpoint sent again for another line or proposer", "record"
            )
        if body.number <= self._resent_above:
            return CheckpointDeclined(f"checkpoint {body.number} sent again out of order", "record")
        if not checkpoint.verify(self._direction.ordered(self._own_keys, self._peer_keys)):
            return CheckpointDeclined(f"checkpoint {body.number} sent again is forged", "record")
        self._resent_above = body.number
        return CheckpointResent(checkpoint)

    def take_resent(self, checkpoint: Checkpoint) -> Checkpoint | CheckpointDeclined:
        """Check the heads of a checkpoint sent again against the store as it is now (rule 4);
        return it to store, or why not."""
        body = checkpoint.body
        for direction in (self._direction, self._direction.other):
            head = body.head(direction)
            if head.seq and self._stored(direction, head.seq) is None:
                return CheckpointDeclined(
                    f"checkpoint {body.number} sent again names #{head.seq}, not held yet", None
                )
            if not self._holds(direction, head):
                return CheckpointDeclined(
                    f"checkpoint {body.number} sent again names #{head.seq}, not what we hold",
                    "record",
                )
        self._last_theirs = max(self._last_theirs, body.number)
        return checkpoint

    def _holds(self, direction: Direction, ref: ChainRef) -> bool:
        if ref.seq == 0:
            return ref == GENESIS
        return self._stored(direction, ref.seq) == ref.hash

    def _cosigned(self, frame: CheckpointCosign, now_ms: int, rtt_ms: int) -> CheckpointEvent:
        proposal = self._proposal
        if proposal is None or (frame.proposer, frame.number) != (
            proposal.proposer,
            proposal.number,
        ):
            return CheckpointDeclined(f"a co-signature of no pending proposal {frame.number}", None)
        self._proposal = None
        body = proposal.cosigned(frame.cosigned_at_ms)
        if not body.verify_signature(self._peer_keys, frame.signature):
            return CheckpointDeclined(f"the co-signature of {frame.number} is forged", "record")
        if not clock_agrees(frame.cosigned_at_ms, now_ms, self._skew_bound_ms, rtt_ms):
            skew = frame.cosigned_at_ms - now_ms
            return CheckpointDeclined(f"their clock is {skew} ms from ours", "clock")
        return CountersignWanted(body, frame.signature)

    def _countersigned(self, frame: CheckpointCountersign) -> CheckpointEvent:
        awaiting = self._awaiting.pop(frame.number, None)
        if awaiting is None or frame.proposer != self._direction.other:
            return CheckpointDeclined(f"a counter-signature of no checkpoint {frame.number}", None)
        body, ours = awaiting
        if not body.verify_signature(self._peer_keys, frame.signature):
            return CheckpointDeclined(
                f"the counter-signature of {frame.number} is forged", "record"
            )
        return CheckpointComplete(Checkpoint(body, self._direction.ordered(ours, frame.signature)))
