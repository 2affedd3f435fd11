"""One session's delivery exchange for one line (docs/protocol.md §4). Sans-IO.

The exchange is fed the peer's delivery frames and answers with :mod:`events <._events>` (what
to commit, sign, send or alarm) and with frames to send. It owns the two validators of the
session: the peer's direction, always, and this station's own direction while it learns its
own envelopes back after a restore (§4.6). It never touches the store: what is stored it reads
through ``lookup``, and what it handed out for storing but is not committed yet it remembers
until :meth:`committed` says so.

Rules:

1. Exactly one SYNC per session, first; nothing of ours is sent before it (the station waits for
   :class:`Synced`). At most one FETCH per session: each answer reads the store.
2. Items are decoded here, not in the frame codec, so that a bad item is refused with a signed
   NACK and its direction halted, while a bad frame layout only closes the session.
3. A halted direction is inert: its envelopes and heads are ignored (never stored, never
   receipted) until the operator resumes it and a new session starts.
4. While recovering, receipts and the peer's own envelopes wait: both may name envelopes of
   ours this store does not hold yet. The receipt is kept (the latest); the peer's items are
   dropped, and once the own chain is whole the exchange asks for a new session
   (:class:`Resync`), whose SYNC makes the peer send them again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from hotline.record import (
    GENESIS,
    BadSignatureError,
    ChainHead,
    ChainRef,
    ChainValidator,
    Direction,
    Envelope,
    HeadMismatchError,
    Nack,
    Receipt,
    RecordError,
    RejectionError,
    Subject,
    WrongLineError,
)
from hotline.session import Frame
from hotline.signatures import VerifyKeys

from ._events import (
    ChainsDisagree,
    Deliverable,
    Event,
    FetchRequested,
    PeerRefused,
    ProtocolViolation,
    ReceiptAccepted,
    Recovered,
    Refuse,
    Resync,
    Synced,
)
from ._frames import Envelopes, Fetch, HeadFrame, NackFrame, ReceiptFrame, Sync

#: NACKs a session may carry: one per direction, each re-sent once per session start, and a
#: little room; more is a peer replaying signed items to burn our signature checks.
MAX_NACKS_PER_SESSION: Final = 8

#: The hash a station's store holds at ``(direction, seq)``, or None.
StoredHash = Callable[[Direction, int], bytes | None]


class Exchange:
    """The delivery protocol of one session of one line.

    Args:
        line_id: the line's id.
        direction: the direction this station sends.
        own_keys: this station's signing keys (public), to check its own chain coming back.
        peer_keys: the peer's signing keys, from its pinned card.
        own_tip: the last envelope of our own direction stored, and ``own_cross`` its cross-link.
        peer_tip: the last envelope of the peer's direction stored, ``peer_cross`` its cross-link.
        receipted: the latest receipt received for our direction (``GENESIS`` if none).
        peer_checkpoint: the highest number of a checkpoint the peer proposed that we stored,
            for our SYNC.
        halted_in: the peer's direction is halted (its items are ignored).
        lookup: the stored hash at ``(direction, seq)``, for duplicates, cross-links, receipts.
    """

    __slots__ = (
        "_direction",
        "_disagree",
        "_fetched",
        "_heads",
        "_in",
        "_last_receipt",
        "_line_id",
        "_lookup",
        "_nacks",
        "_outgoing",
        "_own_cross",
        "_own_failed",
        "_own_keys",
        "_own_tip",
        "_peer_keys",
        "_peer_sync",
        "_receipted",
        "_recovery",
        "_stopped",
        "_unstored",
        "_waiting_receipt",
    )

    def __init__(
        self,
        *,
        line_id: bytes,
        direction: Direction,
        own_keys: VerifyKeys,
        peer_keys: VerifyKeys,
        own_tip: ChainRef = GENESIS,
        own_cross: ChainRef = GENESIS,
        peer_tip: ChainRef = GENESIS,
        peer_cross: ChainRef = GENESIS,
        receipted: ChainRef = GENESIS,
        peer_checkpoint: int = 0,
        halted_in: bool = False,
        lookup: StoredHash,
    ) -> None:
        self._line_id = line_id
        self._direction = direction
        self._own_keys = own_keys
        self._peer_keys = peer_keys
        self._own_tip = own_tip
        self._own_cross = own_cross
        self._receipted = receipted
        self._lookup = lookup
        self._outgoing: list[Frame] = [Sync(own_tip, peer_tip, peer_checkpoint)]
        self._peer_sync: Sync | None = None
        self._fetched = False
        #: The last receipt that verified, as received: the same bytes again cost nothing.
        self._last_receipt = b""
        self._nacks = 0
        #: The stores disagree about our chain (§4.3 b): nothing of ours goes this session.
        self._disagree = False
        #: Our own chain coming back was refused: the recovery is over, our direction halted.
        self._own_failed = False
        #: ``Resync`` was asked for: the session ends, nothing more is taken.
        self._stopped = False
        #: Hashes handed out for storing and not yet committed, per direction.
        self._unstored: dict[Direction, dict[int, bytes]] = {d: {} for d in Direction}
        #: Verified heads waiting ahead of their envelopes, per direction, by seq.
        self._heads: dict[Direction, dict[int, ChainHead]] = {d: {} for d in Direction}
        self._in: ChainValidator | None = None
        if not halted_in:
            peer = direction.other
            self._in = ChainValidator(
                line_id,
                peer,
                peer_keys,
                tip=peer_tip,
                cross=peer_cross,
                history=lambda seq: self._hash(peer, seq),
                other=lambda seq: self._hash(direction, seq),
            )
        self._recovery: ChainValidator | None = None
        self._waiting_receipt: Receipt | None = None

    def __repr__(self) -> str:
        state = "recovering" if self._recovery else "synced" if self._peer_sync else "starting"
        return f"Exchange({self._direction.name}, {state})"

    # --- State ---------------------------------------------------------------------------------
    @property
    def synced(self) -> bool:
        """Whether our envelopes may be sent: the peer's SYNC came, our chain is whole, and the
        peer holds the same chain of ours."""
        return (
            self._peer_sync is not None
            and self._recovery is None
            and not self._own_failed
            and not self._disagree
        )

    @property
    def sync_received(self) -> bool:
        """Whether the peer's SYNC came: every other delivery frame must follow it (§4.2)."""
        return self._peer_sync is not None

    @property
    def halted_in(self) -> bool:
        """Whether the peer's direction is halted (refused by us or, by NACK, by the peer)."""
        return self._in is None

    # --- Output --------------------------------------------------------------------------------
    def frames_to_send(self) -> list[Frame]:
        """Return (and forget) the frames the exchange wants sent, in order."""
        frames, self._outgoing = self._outgoing, []
        return frames

    def committed(self, direction: Direction, upto: int) -> None:
        """The envelopes of ``direction`` up to ``upto`` handed out are now stored."""
        unstored = self._unstored[direction]
        for seq in [seq for seq in unstored if seq <= upto]:
            del unstored[seq]

    # --- Input ---------------------------------------------------------------------------------
    def receive(self, frame: Frame) -> list[Event]:
        """Take one delivery frame from the peer; return what to do, in order.

        Frames of other types are not the exchange's: passing one is a bug (``TypeError``).
        """
        if self._stopped:
            return []
        if isinstance(frame, Sync):
            return self._receive_sync(frame)
        if self._peer_sync is None:
            return [ProtocolViolation(f"{type(frame).__name__} before SYNC")]
        if isinstance(frame, Envelopes):
            return self._receive_envelopes(frame)
        if isinstance(frame, HeadFrame):
            return self._receive_head(frame)
        if isinstance(frame, ReceiptFrame):
            return self._receive_receipt(frame)
        if isinstance(frame, NackFrame):
            return self._receive_nack(frame)
        if isinstance(frame, Fetch):
            return self._receive_fetch(frame)
        return [ProtocolViolation(f"{type(frame).__name__} is not a frame of the exchange")]

    def _receive_fetch(self, frame: Fetch) -> list[Event]:
        """A FETCH is answered once, and only when the peer's own SYNC says it lost what it
        asks for: its ``sent`` is behind what we stored of its direction (§4.6). Each answer
        reads the store, so anything else is a flood."""
        assert self._peer_sync is not None
        behind = self._peer_sync.sent.seq
        if (
            self._fetched
            or frame.from_seq != behind + 1
            or self._hash(self._direction.other, frame.from_seq) is None
        ):
            return [ProtocolViolation(f"a FETCH from #{frame.from_seq} it has no need of")]
        self._fetched = True
        return [FetchRequested(frame.from_seq)]

    def _receive_sync(self, sync: Sync) -> list[Event]:
        if self._peer_sync is not None:
            return [ProtocolViolation("a second SYNC")]
        self._peer_sync = sync
        theirs = sync.received
        if theirs.seq > self._own_tip.seq:  # §4.3 a: this store is older than the peer's
            own = self._direction
            self._recovery = ChainValidator(
                self._line_id,
                own,
                self._own_keys,
                tip=self._own_tip,
                cross=self._own_cross,
                history=lambda seq: self._hash(own, seq),
            )
            self._outgoing.append(Fetch(self._own_tip.seq + 1))
            return []
        return self._check_agreement(theirs)

    def _check_agreement(self, theirs: ChainRef) -> list[Event]:
        """§4.3 b/c: the peer's ``received`` must be an envelope of ours, with our hash."""
        if theirs.seq >= 1:
            held = self._hash(self._direction, theirs.seq)
            if held != theirs.hash:
                self._disagree = True
                ours = None if held is None else ChainRef(theirs.seq, held)
                return [ChainsDisagree(ours, theirs)]
        assert self._peer_sync is not None
        return [Synced(theirs.seq, self._peer_sync.checkpoint)]

    # --- Envelopes and heads -------------------------------------------------------------------
    def _receive_envelopes(self, frame: Envelopes) -> list[Event]:
        events: list[Event] = []
        for item in frame.items:
            try:
                envelope = Envelope.decode(item)
            except RejectionError as exc:
                events.extend(self._refused_incoming(Subject.ENVELOPE, exc))
                break
            validator = self._validator_for(envelope.header.direction)
            if validator is None:
                continue
            try:
                covered = validator.receive_envelope(envelope)
            except RejectionError as exc:
                events.extend(self._refused(validator, Subject.ENVELOPE, exc))
                break
            if covered:
                head = self._heads[envelope.header.direction].pop(covered[-1].seq)
                events.extend(self._covered(validator, covered, head))
        return events

    def _receive_head(self, frame: HeadFrame) -> list[Event]:
        try:
            head = ChainHead.decode(frame.item)
        except RejectionError as exc:
            return self._refused_incoming(Subject.CHAIN_HEAD, exc)
        validator = self._validator_for(head.direction)
        if validator is None:
            return []
        try:
            covered = validator.receive_head(head)
        except RejectionError as exc:
            return self._refused(validator, Subject.CHAIN_HEAD, exc)
        if covered:
            return self._covered(validator, covered, head)
        if head.seq > validator.tip.seq:  # waits in the validator for its envelopes
            self._heads[head.direction][head.seq] = head
        return []

    def _validator_for(self, direction: Direction) -> ChainValidator | None:
        """Our own direction's items are taken only while recovering; anything else of ours,
        like the peer's items while we recover (rule 4), is checked as the peer's, so a wrong
        direction is refused by the validator (``WRONG_LINE``). After a failed recovery nothing
        is taken: our chain is not whole, so the peer's cross-links cannot be checked."""
        if self._own_failed:
            return None
        if self._recovery is not None:
            return self._recovery if direction == self._direction else None
        return self._in

    def _covered(
        self, validator: ChainValidator, envelopes: tuple[Envelope, ...], head: ChainHead
    ) -> list[Event]:
        direction = envelopes[0].header.direction
        self._unstored[direction].update((e.seq, e.hash) for e in envelopes)
        if validator is not self._recovery:
            return [Deliverable(envelopes, (head,))]
        self._own_tip = validator.covered
        events: list[Event] = [Recovered(envelopes, (head,))]
        assert self._peer_sync is not None
        target = self._peer_sync.received
        if self._own_tip.seq >= target.seq:
            self._recovery = None
            agreement = self._check_agreement(target)
            if isinstance(agreement[0], ChainsDisagree):
                return [*events, *agreement]
            if self._waiting_receipt is not None:
                events.extend(self._take_receipt(self._waiting_receipt))
            self._stopped = True
            events.append(Resync("own chain recovered from the peer"))
        return events

    def _refused_incoming(self, subject: Subject, exc: RejectionError) -> list[Event]:
        """An item that did not decode: its direction is unknown, so it is refused as the one
        being received: ours while recovering (only our own items are taken then), else the
        peer's."""
        validator = None if self._own_failed else self._recovery or self._in
        if validator is None:
            return []
        return self._refused(validator, subject, exc)

    def _refused(
        self, validator: ChainValidator, subject: Subject, exc: RejectionError
    ) -> list[Event]:
        if validator is self._recovery:
            direction = self._direction
            self._recovery = None
            self._own_failed = True
        else:
            direction = self._direction.other
            self._in = None
        return [Refuse(subject, direction, exc, validator.tip.seq + 1)]

    # --- Receipts and NACKs --------------------------------------------------------------------
    def _receive_receipt(self, frame: ReceiptFrame) -> list[Event]:
        try:
            receipt = Receipt.decode(frame.item)
        except RejectionError as exc:
            return [Refuse(Subject.RECEIPT, self._direction, exc, self._receipted.seq + 1)]
        if self._recovery is not None:  # rule 4: it may name envelopes we do not hold yet
            self._waiting_receipt = receipt
            return []
        return self._take_receipt(receipt)

    def _take_receipt(self, receipt: Receipt) -> list[Event]:
        if self._disagree:  # it names the peer's version of our chain (§4.3 b): no news
            return []
        if receipt.encode() == self._last_receipt:
            return []  # the same receipt again: no signature check for a replay
        try:
            self._check_receipt(receipt)
        except RejectionError as exc:
            return [Refuse(Subject.RECEIPT, self._direction, exc, receipt.seq)]
        self._last_receipt = receipt.encode()
        if receipt.seq <= self._receipted.seq:
            return []  # receipts never go back; an old one re-sent is no news
        self._receipted = receipt.ref
        return [ReceiptAccepted(receipt)]

    def _check_receipt(self, receipt: Receipt) -> None:
        if receipt.line_id != self._line_id or receipt.direction != self._direction:
            raise WrongLineError(
                f"a receipt for {receipt.direction.name} of another line or direction",
                seq=receipt.seq,
                item_hash=receipt.envelope_hash,
            )
        if not receipt.verify(self._peer_keys):
            raise BadSignatureError(
                f"the receipt up to {receipt.seq} does not verify with the peer's card",
                seq=receipt.seq,
                item_hash=receipt.envelope_hash,
            )
        held = self._hash(self._direction, receipt.seq)
        if held != receipt.envelope_hash:
            what = "an envelope we never sent" if held is None else "another envelope than ours"
            raise HeadMismatchError(
                f"the receipt up to {receipt.seq} names {what}",
                seq=receipt.seq,
                item_hash=receipt.envelope_hash,
            )

    def _receive_nack(self, frame: NackFrame) -> list[Event]:
        self._nacks += 1
        if self._nacks > MAX_NACKS_PER_SESSION:  # each costs a signature check
            return [ProtocolViolation(f"more than {MAX_NACKS_PER_SESSION} NACKs")]
        try:
            nack = Nack.decode(frame.item)
        except RecordError as exc:
            return [ProtocolViolation(f"an undecodable NACK: {exc}")]
        if nack.line_id != self._line_id:
            return [ProtocolViolation("a NACK for another line")]
        if not nack.verify(self._peer_keys):
            return [ProtocolViolation("a NACK that does not verify with the peer's card")]
        if nack.direction != self._direction:
            self._in = None  # the peer refused our receipt: it stops its direction
        return [PeerRefused(nack)]

    # --- Lookups -------------------------------------------------------------------------------
    def _hash(self, direction: Direction, seq: int) -> bytes | None:
        """The hash at ``(direction, seq)``: handed out for storing, or stored."""
        return self._unstored[direction].get(seq) or self._lookup(direction, seq)
