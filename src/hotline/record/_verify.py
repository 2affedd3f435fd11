"""The verifier of an export's record (record-format.md §14, steps 2 to 5), given the card keys.

It imports nothing of the identity layer: the caller decodes the two cards (step 1) and hands
over the line id and the two stations' signing keys. Then every item is checked and every
failure kept, not only the first:

1. Each direction runs through a :class:`ChainValidator` from ``ref(first - 1, prev_hash of
   first)``: links, heads and their signatures, coverage. After a refusal the direction
   *resumes* at the next envelope (a fresh validator from that envelope's ``prev_hash``), so
   one damaged item does not hide the rest; an item the resumed chain cannot place (it names a
   seq the file does not hold) is reported, never fed.
2. Cross-links and acknowledgements are checked once both directions are read, against the
   envelopes the file holds; those pointing outside are noted as not checked.
3. Receipts, NACKs and checkpoints: signatures with the right card, and the hashes they name.
4. Any two verified signed items naming different hashes for one ``(direction, seq)`` are
   equivocation.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from typing import Final

from hotline.constants import CLOCK_SKEW_BOUND_MS
from hotline.signatures import VerifyKeys

from ._body import AckBody
from ._checkpoint import Checkpoint
from ._codes import Direction, NackReason, Subject
from ._envelope import Envelope
from ._errors import MalformedError, RejectionError
from ._export import ExportItem, ExportRange, ItemType, Span, decode_item, vouched_tops
from ._hashing import GENESIS, ChainRef, record_hash
from ._head import ChainHead
from ._nack import Nack
from ._receipt import Receipt
from ._report import Finding, Reason, RecordReport, stored_index
from ._validator import ChainValidator

#: (direction, seq) -> envelope hash -> indexes of the verified signed items naming it.
_Claims = dict[tuple[Direction, int], dict[bytes, list[int]]]


#: Failures listed one by one; a file may be made to fail at every item, and its reader needs
#: the first ones, not millions of lines.
MAX_FINDINGS: Final = 1_000


class _Unchecked:
    """References outside the file, gathered into one note per kind and direction."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, Direction], list[int]] = {}

    def add(self, what: str, direction: Direction, seq: int) -> None:
        self._seen.setdefault((what, direction), []).append(seq)

    def report(self, out: _Findings) -> None:
        for (what, direction), seqs in self._seen.items():
            listed = ", ".join(f"#{seq}" for seq in seqs[:5]) + (", …" if len(seqs) > 5 else "")
            out.note(
                None,
                direction,
                None,
                f"{len(seqs)} {what} ({listed}) point outside the file: not checked",
            )


class _Findings:
    """The failures and notes collected so far."""

    def __init__(self) -> None:
        self.failures: list[Finding] = []
        self.notes: list[Finding] = []
        self.refusals: list[Finding] = []
        #: Send times the signed checkpoints contradict (§14 step 3): kept, not failures.
        self.contradicted: list[Finding] = []
        self.claims: _Claims = {}
        self.unchecked = _Unchecked()
        #: Failures past :data:`MAX_FINDINGS`, counted only.
        self.more = 0

    def _add(self, finding: Finding) -> None:
        # an equivocation is always listed: junk items must not push it out of sight
        if len(self.failures) < MAX_FINDINGS or finding.reason is Reason.EQUIVOCATION:
            self.failures.append(finding)
        else:
            self.more += 1

    def summary(self) -> tuple[Finding, ...]:
        """The failures listed, and one line for those past the bound."""
        if not self.more:
            return tuple(self.failures)
        last = Finding(None, None, None, self.failures[-1].reason, f"and {self.more:,} more")
        return (*self.failures, last)

    def fail(
        self,
        index: int | None,
        direction: Direction | None,
        seq: int | None,
        reason: Reason,
        text: str,
    ) -> None:
        self._add(Finding(index, direction, seq, reason, text))

    def refusal(self, index: int, direction: Direction | None, exc: RejectionError) -> None:
        self._add(Finding.refusal(index, direction, exc))

    def note(
        self, index: int | None, direction: Direction | None, seq: int | None, text: str
    ) -> None:
        self.notes.append(Finding(index, direction, seq, Reason.RANGE, text))

    def claim(self, index: int, direction: Direction, ref: ChainRef) -> None:
        if ref.seq:
            self.claims.setdefault((direction, ref.seq), {}).setdefault(ref.hash, []).append(index)


class _Chain:
    """One direction of the file, fed in file order (step 1 above)."""

    def __init__(
        self, line_id: bytes, direction: Direction, keys: VerifyKeys, span: Span, out: _Findings
    ) -> None:
        self.line_id, self.direction, self.keys, self.span, self.out = (
            line_id,
            direction,
            keys,
            span,
            out,
        )
        #: The envelope hash at each seq, as the file's accepted envelopes (and their links) say.
        self.hashes: dict[int, bytes] = {}
        #: The envelopes accepted, by seq, with their item index.
        self.envelopes: dict[int, tuple[int, Envelope]] = {}
        self.head_seqs: list[int] = []
        self.top = 0
        #: The seq of the last envelope read, and (seq, signed_at) of the last head read: a
        #: head follows its envelope, the heads of one envelope by ``signed_at`` (§13).
        self._last_seq = 0
        self._last_head = (0, 0)
        #: Heads read elsewhere than right after an envelope: (item index, seq).
        self._misplaced: list[tuple[int, int]] = []
        self._validator: ChainValidator | None = None
        self._started = False

    def envelope(self, index: int, envelope: Envelope, redacted: bool) -> None:
        seq = envelope.seq
        self._last_seq = seq
        if self.span.empty or seq < self.span.first:
            self.out.fail(
                index, self.direction, seq, Reason.RANGE, f"outside the range {self.span}"
            )
            return
        if seq > self.span.last and not redacted:
            self.out.fail(
                index,
                self.direction,
                seq,
                Reason.RANGE,
                "the hash path past the range holds headers only",
            )
        if seq in self.envelopes:
            self.out.fail(index, self.direction, seq, Reason.ORDER, f"envelope {seq} appears twice")
            if self.envelopes[seq][1].hash == envelope.hash:
                return
        validator = self._validator or self._start(index, envelope)
        if seq <= validator.tip.seq and seq not in self.hashes:
            self.out.fail(index, self.direction, seq, Reason.ORDER, f"envelope {seq} out of order")
            return
        try:
            validator.receive_envelope(envelope)
        except RejectionError as exc:
            self.out.refusal(index, self.direction, exc)
            self._validator = None
            if exc.reason not in (NackReason.GAP, NackReason.BROKEN_CHAIN):
                return
            # The chain goes on from this envelope: check the rest from its own link.
            self._start(index, envelope).receive_envelope(envelope)
        self.hashes.setdefault(seq, envelope.hash)
        self.envelopes.setdefault(seq, (index, envelope))
        self.top = max(self.top, seq)

    def _start(self, index: int, envelope: Envelope) -> ChainValidator:
        seq = envelope.seq
        if not self._started and seq != self.span.first:
            self.out.fail(
                index, self.direction, seq, Reason.GAP, f"the range starts at {self.span.first}"
            )
        self._started = True
        tip = ChainRef(seq - 1, envelope.header.prev_hash) if seq > 1 else GENESIS
        if tip.seq:
            self.hashes.setdefault(tip.seq, tip.hash)
        self._validator = ChainValidator(
            self.line_id, self.direction, self.keys, tip=tip, history=self.hashes.get
        )
        return self._validator

    def head(self, index: int, head: ChainHead) -> None:
        if self._started and head.seq != self._last_seq:
            self._misplaced.append((index, head.seq))  # (a missing envelope is a GAP instead)
        elif self._started and (head.seq, head.signed_at_ms) < self._last_head:
            self.out.fail(
                index, self.direction, head.seq, Reason.ORDER, "heads of one envelope by signed_at"
            )
        self._last_head = (head.seq, head.signed_at_ms)
        validator = self._validator
        if validator is None or (head.seq <= validator.tip.seq and head.seq not in self.hashes):
            if not self._started:
                self.out.fail(
                    index, self.direction, head.seq, Reason.ORDER, "a head before its envelope"
                )
            elif validator is not None:
                self.out.fail(
                    index,
                    self.direction,
                    head.seq,
                    Reason.RANGE,
                    "names an envelope not in the file",
                )
            self._verify_alone(index, head)
            return
        try:
            validator.receive_head(head)
        except RejectionError as exc:
            self.out.refusal(index, self.direction, exc)
            self._validator = None
            if exc.reason in (NackReason.BAD_SIGNATURE, NackReason.WRONG_LINE):
                return
        self.out.claim(index, self.direction, head.ref)
        self.head_seqs.append(head.seq)

    def _verify_alone(self, index: int, head: ChainHead) -> None:
        """A head the chain cannot place: its signature still counts, or fails."""
        if head.line_id != self.line_id:
            self.out.fail(index, self.direction, head.seq, Reason.WRONG_LINE, "another line's head")
        elif not head.verify(self.keys):
            self.out.fail(
                index, self.direction, head.seq, Reason.BAD_SIGNATURE, "the head does not verify"
            )
        else:
            self.out.claim(index, self.direction, head.ref)

    def finish(self, end_index: int, attested: int) -> None:
        """The file's items are all read: the chain must reach the range's end and stop at
        the first head at or past it and past ``attested``, the furthest seq the other
        station's items name (the path goes that far: §13)."""
        if self._validator is not None:
            try:
                self._validator.finish()
            except RejectionError as exc:
                self.out.refusal(end_index, self.direction, exc)
        for index, seq in self._misplaced:
            if seq in self.envelopes:
                self.out.fail(
                    index, self.direction, seq, Reason.ORDER, "a head not right after its envelope"
                )
        if self.span.empty:
            return
        if self.top < self.span.last:
            self.out.fail(
                None,
                self.direction,
                self.top + 1,
                Reason.RANGE,
                f"the range ends at {self.span.last}, the file's chain at {self.top}",
            )
        needed = max(self.span.last, attested)
        early = [seq for seq in self.head_seqs if needed <= seq < self.top]
        if early:
            self.out.fail(
                None,
                self.direction,
                min(early),
                Reason.RANGE,
                f"the hash path goes on past the head at {min(early)}",
            )

    def tip(self, seq: int) -> ChainRef | None:
        """The position at ``seq`` as the file shows it (``GENESIS`` at 0), None if unknown."""
        if seq == 0:
            return GENESIS
        known = self.hashes.get(seq)
        return None if known is None else ChainRef(seq, known)


def check_record(
    items: Sequence[ExportItem], line_id: bytes, keys: tuple[VerifyKeys, VerifyKeys]
) -> RecordReport:
    """Check every record item of an export (§14, steps 2 to 5).

    Args:
        items: the file's items, from :func:`split_export` (cards included: skipped here).
        line_id: the line id computed from the two cards (step 1).
        keys: the signing keys of the station of direction 0, then of direction 1.
    """
    out = _Findings()
    export_range = _range(items[2], line_id, out)
    spans = export_range.spans if export_range else (Span(0, 0), Span(0, 0))
    chains = tuple(_Chain(line_id, d, keys[d], spans[d], out) for d in Direction)
    receipts: list[tuple[int, Receipt]] = []
    nacks: list[tuple[int, Nack]] = []
    checkpoints: list[tuple[int, Checkpoint]] = []
    section = Direction.FIRST
    for item in items[3:-1]:
        try:
            value = decode_item(item)
        except MalformedError as exc:
            out.refusal(item.index, None, exc)
            continue
        if isinstance(value, Envelope | ChainHead):
            direction = value.header.direction if isinstance(value, Envelope) else value.direction
            if direction < section:
                out.fail(item.index, direction, None, Reason.ORDER, "direction 0 after direction 1")
            section = max(section, direction)
            if isinstance(value, Envelope):
                chains[direction].envelope(
                    item.index, value, item.type is ItemType.ENVELOPE_REDACTED
                )
            else:
                chains[direction].head(item.index, value)
        elif isinstance(value, Receipt):
            receipts.append((item.index, value))
        elif isinstance(value, Nack):
            nacks.append((item.index, value))
        elif isinstance(value, Checkpoint):
            checkpoints.append((item.index, value))
    attested = vouched_tops(
        [(envelope for _, envelope in chain.envelopes.values()) for chain in chains],
        (receipt for _, receipt in receipts),
        (checkpoint for _, checkpoint in checkpoints),
    )
    for chain in chains:
        chain.finish(items[-1].index, attested[chain.direction])
    _check_links(chains, out)
    verified = _check_receipts(receipts, chains, line_id=line_id, keys=keys, out=out)
    _check_nacks(nacks, line_id, keys, out)
    signed = _check_checkpoints(checkpoints, chains, line_id=line_id, keys=keys, out=out)
    _check_times(chains, signed, out)
    _check_equivocation(out)
    out.unchecked.report(out)
    return RecordReport(
        failures=out.summary(),
        notes=tuple(out.notes),
        export_range=export_range,
        record_hash_start=_record_hash(line_id, chains, lambda span: span.first - 1),
        record_hash_end=_record_hash(line_id, chains, lambda span: span.last),
        envelopes=tuple(
            envelope
            for chain in chains
            for seq, (_, envelope) in sorted(chain.envelopes.items())
            if seq <= chain.span.last
        ),
        refusals=tuple(out.refusals),
        attested=_attested(chains, verified, signed),
        contradicted=tuple(out.contradicted),
        stored_index=stored_index(verified),
    )


def _range(item: ExportItem, line_id: bytes, out: _Findings) -> ExportRange | None:
    try:
        value = ExportRange.decode(item.payload)
    except MalformedError as exc:
        out.refusal(item.index, None, exc)
        return None
    if value.line_id != line_id:
        out.fail(
            item.index, None, None, Reason.WRONG_LINE, "a range of another line than the cards'"
        )
    return value


def _record_hash(
    line_id: bytes, chains: Sequence[_Chain], seq_of: Callable[[Span], int]
) -> bytes | None:
    """The record hash at the seq ``seq_of`` picks in each span (an empty span counts as none)."""
    first, second = (
        GENESIS if chain.span.empty else chain.tip(seq_of(chain.span)) for chain in chains
    )
    if first is None or second is None:
        return None
    return record_hash(line_id, first, second)


def _reference(
    chains: Sequence[_Chain],
    ref: ChainRef,
    *,
    direction: Direction,
    place: tuple[int, Direction, int],
    what: str,
    out: _Findings,
    attested: bool = True,
) -> None:
    """Check that ``ref`` names what the file holds in ``direction``. A position before the
    file is noted unchecked; one past the file's chain fails if the other station named it
    (``attested``): the file leaves out what that station vouched for, as a history spliced
    from another would."""
    chain = chains[direction]
    held = chain.tip(ref.seq)
    index, item_direction, seq = place
    if held is None and attested and not chain.span.empty and ref.seq > chain.top:
        out.fail(
            index,
            item_direction,
            seq,
            Reason.RANGE,
            f"{what[:-1]} names #{ref.seq} of direction {int(direction)}, past the file's chain"
            f" (it ends at #{chain.top}): the file leaves out what the other station vouched for",
        )
    elif held is None:
        out.unchecked.add(what, item_direction, seq)
    elif held != ref:
        out.fail(
            index,
            item_direction,
            seq,
            Reason.CROSS_LINK if what.endswith("links") else Reason.HEAD_MISMATCH,
            f"{what[:-1]} names #{ref.seq} of direction {int(direction)},"
            " another envelope than the file holds",
        )


def _check_links(chains: Sequence[_Chain], out: _Findings) -> None:
    """Step 2: the cross-links and acknowledgements of every envelope accepted."""
    for chain in chains:
        other = chain.direction.other
        previous = GENESIS
        for seq in sorted(chain.envelopes):
            index, envelope = chain.envelopes[seq]
            place = (index, chain.direction, seq)
            cross = envelope.header.cross
            if cross != previous:
                _reference(chains, cross, direction=other, place=place, what="cross-links", out=out)
            previous = cross
            if isinstance(envelope.body, AckBody):
                acked = envelope.body.acked
                _reference(
                    chains,
                    acked,
                    direction=other,
                    place=place,
                    what="acknowledgement links",
                    out=out,
                )


def _in_order(
    items: Sequence[tuple[int, tuple[int, int]]], what: str, strict: bool, out: _Findings
) -> None:
    """Items of one section must be sorted by their key (§13); a duplicate key too if strict."""
    for (_, before), (index, key) in itertools.pairwise(items):
        if key < before or (strict and key == before):
            out.fail(index, Direction(key[0]), key[1], Reason.ORDER, f"{what} out of order")


def _check_receipts(
    receipts: Sequence[tuple[int, Receipt]],
    chains: Sequence[_Chain],
    *,
    line_id: bytes,
    keys: tuple[VerifyKeys, VerifyKeys],
    out: _Findings,
) -> list[Receipt]:
    """Step 3 for receipts; returns those whose signatures verified and that name what the
    file holds."""
    _in_order([(i, (r.direction, r.seq)) for i, r in receipts], "receipt", False, out)
    verified = []
    for index, receipt in receipts:
        direction = receipt.direction
        if receipt.line_id != line_id:
            out.fail(index, direction, receipt.seq, Reason.WRONG_LINE, "another line's receipt")
            continue
        if not receipt.verify(keys[direction.other]):
            out.fail(
                index,
                direction,
                receipt.seq,
                Reason.BAD_SIGNATURE,
                "the receipt does not verify with the receiving station's card",
            )
            continue
        verified.append(receipt)
        out.claim(index, direction, receipt.ref)
        out.claim(index, direction.other, receipt.own)
        place = (index, direction, receipt.seq)
        _reference(
            chains, receipt.ref, direction=direction, place=place, what="receipted heads", out=out
        )
        _reference(  # the receiving station's own chain: it may be ahead of the exporter's
            chains,
            receipt.own,
            direction=direction.other,
            place=place,
            what="receipt own heads",
            out=out,
            attested=False,
        )
    # Only a receipt of what the file holds says when it was stored (``--show``).
    return [r for r in verified if chains[r.direction].tip(r.seq) == r.ref]


def _nack_signers(nack: Nack) -> tuple[Direction, ...]:
    """Who may have signed a NACK (§7): the receiver of a refused envelope or head, the sender
    of a refused receipt's direction, either station for a checkpoint."""
    if nack.subject is Subject.RECEIPT:
        return (nack.direction,)
    if nack.subject is Subject.CHECKPOINT:
        return tuple(Direction)
    return (nack.direction.other,)


def _check_nacks(
    nacks: Sequence[tuple[int, Nack]],
    line_id: bytes,
    keys: tuple[VerifyKeys, VerifyKeys],
    out: _Findings,
) -> None:
    """Step 3 for NACKs: their signatures; a verified NACK is listed (a station refused)."""
    _in_order([(i, (n.direction, n.seq)) for i, n in nacks], "NACK", False, out)
    for index, nack in nacks:
        if nack.line_id != line_id:
            out.fail(index, nack.direction, nack.seq, Reason.WRONG_LINE, "another line's NACK")
            continue
        signers = [d for d in _nack_signers(nack) if nack.verify(keys[d])]
        if not signers:
            out.fail(
                index, nack.direction, nack.seq, Reason.BAD_SIGNATURE, "the NACK does not verify"
            )
            continue
        out.refusals.append(
            Finding(
                index,
                nack.direction,
                nack.seq,
                Reason.of(nack.reason),
                f"the station of direction {int(signers[0])} refused a {nack.subject.name}:"
                f" {nack.text}",
            )
        )


def _check_checkpoints(
    checkpoints: Sequence[tuple[int, Checkpoint]],
    chains: Sequence[_Chain],
    *,
    line_id: bytes,
    keys: tuple[VerifyKeys, VerifyKeys],
    out: _Findings,
) -> list[Checkpoint]:
    """Step 3 for checkpoints: the two stations' signatures, and the heads against the chains;
    returns those both signatures of which verified."""
    _in_order(
        [(i, (c.body.proposer, c.body.number)) for i, c in checkpoints], "checkpoint", True, out
    )
    signed: list[Checkpoint] = []
    for index, checkpoint in checkpoints:
        body = checkpoint.body
        if body.line_id != line_id:
            out.fail(index, body.proposer, None, Reason.WRONG_LINE, "another line's checkpoint")
            continue
        bad = [d for d in Direction if not body.verify_signature(keys[d], checkpoint.signatures[d])]
        for direction in bad:
            out.fail(
                index,
                body.proposer,
                None,
                Reason.BAD_SIGNATURE,
                f"checkpoint {body.number}: the signature of direction {int(direction)}'s station"
                " does not verify",
            )
        if bad:
            continue
        signed.append(checkpoint)
        for direction in Direction:
            head = body.head(direction)
            out.claim(index, direction, head)
            place = (index, direction, head.seq)
            _reference(
                chains, head, direction=direction, place=place, what="checkpoint heads", out=out
            )
    return signed


def _check_times(
    chains: Sequence[_Chain], checkpoints: Sequence[Checkpoint], out: _Findings
) -> None:
    """Step 3 for send times: each envelope's ``sequenced_at`` (the sender's word) within what
    the checkpoints both stations signed allow (§8). One covering it was proposed after it was
    sent; one its own sender proposed without it (that station's tip then) before. Each bound
    allows twice the clock bound: the two clocks, and a commit running while a proposal is made.
    A contradiction is kept apart, not a failure: the signatures hold, and the record keeps
    what a station said, even a clock's fault; the reader learns the time is disproved."""
    slack = 2 * CLOCK_SKEW_BOUND_MS
    for chain in chains:
        direction = chain.direction
        # Upper bounds: by head seq, the earliest proposal covering it (a suffix minimum).
        covering = sorted((c.body.head(direction).seq, c.body.proposed_at_ms) for c in checkpoints)
        seqs = [seq for seq, _ in covering]
        earliest: list[int] = []
        for _, at in reversed(covering):
            earliest.append(at if not earliest else min(at, earliest[-1]))
        earliest.reverse()
        # Lower bounds: by head seq, the latest proposal of this direction's own station.
        own = sorted(
            (c.body.head(direction).seq, c.body.proposed_at_ms)
            for c in checkpoints
            if c.body.proposer is direction
        )
        own_seqs = [seq for seq, _ in own]
        latest: list[int] = []
        for _, at in own:
            latest.append(at if not latest else max(at, latest[-1]))
        for seq, (index, envelope) in sorted(chain.envelopes.items()):
            sent = envelope.header.sequenced_at_ms
            after = bisect.bisect_left(seqs, seq)
            before = bisect.bisect_left(own_seqs, seq)
            why = None
            if after < len(seqs) and sent > earliest[after] + slack:
                why = f"after a checkpoint proposed at {earliest[after]} that both signed with it"
            elif before and sent < latest[before - 1] - slack:
                why = (
                    f"before a checkpoint its own station proposed at {latest[before - 1]}"
                    " without it"
                )
            if why is not None:
                out.contradicted.append(
                    Finding(
                        index, direction, seq, Reason.TIME, f"sent at {sent} by its header, {why}"
                    )
                )


def _attested(
    chains: Sequence[_Chain], receipts: Sequence[Receipt], checkpoints: Sequence[Checkpoint]
) -> tuple[int, int]:
    """Per direction, the furthest seq the *other* station vouched for as the file holds it:
    a receipt, a checkpoint (both signed), or a cross-link or acknowledgement of its
    envelopes, naming that position with the file's hash. The chain links everything before
    it, so each envelope up to it is attested by the station that did not send it."""
    tops = [0, 0]

    def vouch(direction: Direction, ref: ChainRef) -> None:
        if ref.seq > tops[direction] and chains[direction].tip(ref.seq) == ref:
            tops[direction] = ref.seq

    for receipt in receipts:
        vouch(receipt.direction, receipt.ref)
    for checkpoint in checkpoints:
        for direction in Direction:
            vouch(direction, checkpoint.body.head(direction))
    for chain in chains:
        for _, envelope in chain.envelopes.values():
            vouch(chain.direction.other, envelope.header.cross)
            if isinstance(envelope.body, AckBody):
                vouch(chain.direction.other, envelope.body.acked)
    return tops[0], tops[1]


def _check_equivocation(out: _Findings) -> None:
    """Step 4: two verified signed items naming different hashes for one position."""
    flagged = {
        (finding.direction, finding.seq)
        for finding in out.failures
        if finding.reason is Reason.EQUIVOCATION
    }
    for (direction, seq), hashes in sorted(out.claims.items()):
        if len(hashes) < 2 or (direction, seq) in flagged:
            continue
        groups = sorted(hashes.values())
        out.fail(
            groups[1][0],
            direction,
            seq,
            Reason.EQUIVOCATION,
            f"signed items name {len(groups)} different envelopes at this seq (items "
            + "; ".join(", ".join(str(i) for i in group) for group in groups)
            + ")",
        )
