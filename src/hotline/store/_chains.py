"""The two hash chains of every line at rest: each durable step of delivery, one transaction.

Delivery (issue 7) writes first and announces second; every step below is one commit:

- :meth:`Chains.sequence` turns queued outbox rows into our next envelopes and signs ONE head
  over them (docs/record-format.md §5), so nothing of the batch can leave uncovered;
- :meth:`Chains.deliver` stores the peer's covered envelopes, their heads and the receipt it
  signs for them (§6), so a receipt is never sent for what is not on disk;
- :meth:`Chains.accept_receipt` stores the peer's receipt (what it covers is receipted),
  :meth:`Chains.halt` and :meth:`Chains.resume` stop and restart a direction (§7),
  :meth:`Chains.recover` stores our own envelopes learned back from the peer after a
  restore, so no seq is ever reused (§2).

Signed items are stored as signed and read back byte for byte: ML-DSA signing is randomized,
so a receipt signed again would be another receipt. The validators checked every item before
it gets here; continuity is checked again anyway (a batch starts right after the stored tip,
links to it and is consecutive), so a caller's bug can never store a duplicate or a gap.
Batches use ``executemany`` and per-line indexes: no query per row on the hot path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hotline.constants import IN_FLIGHT_WINDOW, MAX_UNCOVERED_ENVELOPES
from hotline.record import (
    GENESIS,
    AckBody,
    ChainHead,
    ChainRef,
    ChainWriter,
    Checkpoint,
    Direction,
    Envelope,
    Kind,
    MessageBody,
    Nack,
    Precedence,
    Receipt,
    Signer,
)
from hotline.signatures import VerifyKeys

from ._audit import Audit, audit_chain
from ._db import transaction
from ._errors import HaltedError, StoreCorruptError, StoreError
from ._message_items import ack_body
from ._queue import QUEUED_ROWS, dequeue
from ._record import RecordItems, RecordWindow, read_record
from ._recovery import check_continuous, reconcile_outbox
from ._rows import (
    chain_tip,
    decoded,
    hash_at,
    insert_envelopes,
    insert_heads,
    insert_receipt,
    stored_hash,
)
from ._sealing import (
    ENVELOPE_COLUMNS,
    RowCipher,
    new_message_id,
    open_envelope,
    open_outbox,
)

#: ``hash_at`` lives in ._rows; ._store reads it from here.
__all__ = ["Chains", "LineBook", "Sequenced", "hash_at"]


#: The text a sequencing commit takes at most (at least one message): a FLASH queued during a
#: batch waits for that batch to be sent, so a batch of large texts on a slow path is bounded
#: in bytes, not only by the window's count.
MAX_BATCH_TEXT_BYTES: Final = 1024 * 1024


def _within_bytes(rows: list[Any], budget: int) -> list[Any]:
    """The first ``rows`` (outbox rows, sealed body last) whose texts fit in ``budget``."""
    total = 0
    for count, row in enumerate(rows):
        total += len(row[-1] or b"")  # a lost text fails when opened
        if total > budget and count:
            return rows[:count]
    return rows


def _body(kind: Kind, payload: bytes) -> MessageBody | AckBody:
    """The envelope body of an opened outbox row (an ACK's was encoded when queued).

    Raises:
        StoreCorruptError: an ACK row's payload is not an ACK body.
    """
    return ack_body(payload) if kind is Kind.ACK else MessageBody.create(payload.decode())


@dataclass(frozen=True, slots=True)
class LineBook:
    """What the store holds of one line, seen from this station: where a session starts.

    Attributes:
        own_tip: our last envelope (``GENESIS`` if none).
        own_cross: that envelope's cross-link.
        peer_tip: the peer's last envelope stored here.
        peer_cross: that envelope's cross-link.
        receipted: the position of the latest receipt received for our direction.
        last_receipt: the latest receipt we issued for the peer's direction, as stored (sent
            again as it is, never signed again).
        halted_out: the NACK that halted our direction, if it is halted.
        halted_in: the NACK that halted the peer's direction, if it is halted.
        queued: outbox rows of the line waiting to be sequenced.
        checkpoints: the highest number of a stored checkpoint each station proposed: ours,
            then the peer's (0 if none).
    """

    own_tip: ChainRef
    own_cross: ChainRef
    peer_tip: ChainRef
    peer_cross: ChainRef
    receipted: ChainRef
    last_receipt: Receipt | None
    halted_out: Nack | None
    halted_in: Nack | None
    queued: int
    checkpoints: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class Sequenced:
    """One sequencing commit: its envelopes in head groups (one head per at most
    ``MAX_UNCOVERED_ENVELOPES``), and their outbox ids."""

    groups: tuple[tuple[tuple[Envelope, ...], ChainHead], ...]
    message_ids: tuple[str, ...]

    @property
    def envelopes(self) -> tuple[Envelope, ...]:
        """Every envelope of the commit, in order."""
        return tuple(envelope for group, _ in self.groups for envelope in group)

    @property
    def head(self) -> ChainHead:
        """The last head: it covers the whole commit."""
        return self.groups[-1][1]


class Chains:
    """Both directions of every line, on one ``hotline.db`` connection (the store's thread)."""

    __slots__ = ("_cipher", "_db", "_path")

    def __init__(self, db: sqlite3.Connection, path: Path, cipher: RowCipher) -> None:
        """Args:
        db: a connection from :func:`hotline.store.connect`.
        path: the database file, for messages.
        cipher: seals and opens envelope bodies and outbox texts.
        """
        self._db = db
        self._path = path
        self._cipher = cipher

    def __repr__(self) -> str:
        return f"Chains({str(self._path)!r})"

    # --- Reading ------------------------------------------------------------------------------
    def book(self, line_id: bytes, direction: Direction) -> LineBook:
        """Return what the store holds of the line, for a session to start from.

        Args:
            line_id: the line.
            direction: the direction this station sends on it.

        Raises:
            StoreError: the store cannot be read.
            StoreCorruptError: a stored item does not decode.
        """
        peer = direction.other
        with transaction(self._db, self._path, write=False):
            own_tip, own_cross = chain_tip(self._db, line_id, direction)
            peer_tip, peer_cross = chain_tip(self._db, line_id, peer)
            received = self._latest_receipt(line_id, direction, issued=False)
            issued = self._latest_receipt(line_id, peer, issued=True)
            halts = self._halts(line_id)
            (queued,) = self._db.execute(
                "SELECT count(*) FROM queue WHERE line_id = ?", (line_id,)
            ).fetchone()
            numbers = dict(
                self._db.execute(
                    "SELECT proposer, max(number) FROM checkpoints WHERE line_id = ?"
                    " GROUP BY proposer",
                    (line_id,),
                ).fetchall()
            )
        return LineBook(
            own_tip=own_tip,
            own_cross=own_cross,
            peer_tip=peer_tip,
            peer_cross=peer_cross,
            receipted=GENESIS if received is None else received.ref,
            last_receipt=issued,
            halted_out=halts.get(direction),
            halted_in=halts.get(peer),
            queued=queued,
            checkpoints=(numbers.get(int(direction), 0), numbers.get(int(peer), 0)),
        )

    def hash_at(self, line_id: bytes, direction: Direction, seq: int) -> bytes | None:
        """Return the envelope hash stored at ``(line_id, direction, seq)``, or None."""
        return hash_at(self._db, self._path, line_id, direction, seq)

    def segment(
        self, line_id: bytes, direction: Direction, *, after_seq: int, limit: int
    ) -> list[tuple[tuple[Envelope, ...], ChainHead]]:
        """Return the stored envelopes of ``direction`` after ``after_seq``, head group by group.

        Each group ends exactly at a stored head, which covers it; groups are returned until
        one reaches ``limit`` envelopes in all (so at least one, if any head lies beyond
        ``after_seq``). Envelopes after the last stored head are not returned. Used to resend
        ours after a reconnect, and to give the peer back its own on a FETCH.

        Raises:
            ValueError: ``limit`` below 1.
            StoreError: the store cannot be read.
            StoreCorruptError: an envelope is missing, fails to open, or is not the one its
                head names.
        """
        if limit < 1:
            raise ValueError("a segment holds at least one envelope")
        heads: list[ChainHead] = []
        with transaction(self._db, self._path, write=False):
            cursor = self._db.execute(
                "SELECT item FROM heads WHERE line_id = ? AND direction = ? AND seq > ?"
                " ORDER BY seq",
                (line_id, int(direction), after_seq),
            )
            for (item,) in cursor:
                heads.append(decoded(ChainHead.decode, item, "chain head"))
                if heads[-1].seq - after_seq >= limit:
                    break
            cursor.close()
            if not heads:
                return []
            rows = self._db.execute(
                f"SELECT {ENVELOPE_COLUMNS} FROM envelopes"  # noqa: S608
                " WHERE line_id = ? AND direction = ? AND seq > ? AND seq <= ? ORDER BY seq",
                (line_id, int(direction), after_seq, heads[-1].seq),
            ).fetchall()
        envelopes = [open_envelope(self._cipher, row) for row in rows]
        if len(envelopes) != heads[-1].seq - after_seq:
            raise StoreCorruptError(
                f"the store misses envelopes of direction {direction.name} between"
                f" #{after_seq + 1} and #{heads[-1].seq}"
            )
        groups = []
        start = after_seq
        for head in heads:
            group = tuple(envelopes[start - after_seq : head.seq - after_seq])
            if group[-1].hash != head.envelope_hash:
                raise StoreCorruptError(
                    f"the store's chain head at {head.seq} names another envelope"
                )
            groups.append((group, head))
            start = head.seq
        return groups

    # --- Our direction ------------------------------------------------------------------------
    def sequence(
        self, line_id: bytes, direction: Direction, *, limit: int, signer: Signer, now_ms: int
    ) -> Sequenced | None:
        """Sequence up to ``limit`` queued messages of the line, highest precedence first.

        One commit: the envelopes (next seqs, linked to our tip, cross-linked to the peer's
        tip stored now), one head signed over every ``MAX_UNCOVERED_ENVELOPES`` of them (the
        receiver holds no more uncovered) and over the last, and the outbox rows taken off
        the queue (their envelopes now say they are sequenced). Only after it returns may
        anything of the batch be sent. Under load the courier asks for
        ``MAX_SEQUENCE_BATCH`` at a time: few fsyncs per message, and the receiver stores
        one batch while the next is sequenced.

        Args:
            line_id: the line.
            direction: the direction this station sends on it.
            limit: 1 to ``IN_FLIGHT_WINDOW`` envelopes.
            signer: this station's signing keys.
            now_ms: ``sequenced_at`` and the head's ``signed_at``, UTC ms.

        Returns:
            The batch, or None when our direction is halted or nothing of the line is queued.

        Raises:
            ValueError: ``limit`` out of range.
            StoreWriteError: the commit failed: nothing was sequenced.
            StoreCorruptError: a stored row fails to open.
        """
        if not 1 <= limit <= IN_FLIGHT_WINDOW:
            raise ValueError(f"a batch is 1 to {IN_FLIGHT_WINDOW} envelopes, not {limit}")
        with transaction(self._db, self._path):
            if self._halted(line_id, direction):
                return None
            rows = self._db.execute(
                f"{QUEUED_ROWS} ORDER BY q.precedence DESC, q.position LIMIT ?", (line_id, limit)
            ).fetchall()
            if not rows:
                return None
            rows = _within_bytes(rows, MAX_BATCH_TEXT_BYTES)
            tip, cross = chain_tip(self._db, line_id, direction)
            peer_tip, _ = chain_tip(self._db, line_id, direction.other)
            # Cross-links never go back: after a restore our recovered envelopes may name peer
            # envelopes this store lost (the peer resends them); until then keep the old one.
            if peer_tip.seq < cross.seq:
                peer_tip = cross
            writer = ChainWriter(line_id, direction, tip=tip, cross=cross)
            envelopes: list[Envelope] = []
            heads: list[ChainHead] = []
            for _, _, message_id, _, precedence, queued_at, code, nonce, body in rows:
                payload = open_outbox(self._cipher, line_id, message_id, nonce, body)
                kind = Kind(code)
                envelopes.append(
                    writer.append(
                        _body(kind, payload),
                        kind=kind,
                        precedence=Precedence(precedence),
                        queued_at_ms=queued_at,
                        sequenced_at_ms=now_ms,
                        cross=peer_tip,
                    )
                )
                if len(envelopes) % MAX_UNCOVERED_ENVELOPES == 0 or len(envelopes) == len(rows):
                    heads.append(writer.sign_head(signer, now_ms))
            ids = [row[2] for row in rows]
            insert_envelopes(
                self._db,
                self._cipher,
                line_id,
                envelopes,
                peers=[row[3] for row in rows],
                message_ids=ids,
                incoming=False,
                now_ms=now_ms,
            )
            insert_heads(self._db, heads)
            dequeue(self._db, line_id, direction, [(row[0], row[1]) for row in rows])
        groups = []
        start = tip.seq
        for head in heads:
            groups.append((tuple(envelopes[start - tip.seq : head.seq - tip.seq]), head))
            start = head.seq
        return Sequenced(tuple(groups), tuple(ids))

    def accept_receipt(self, line_id: bytes, receipt: Receipt, *, now_ms: int) -> tuple[str, ...]:
        """Store a verified receipt for our direction: what it covers is receipted.

        Receipts never go back: one not beyond the latest stored changes nothing.

        Returns:
            The ids of the outbox messages it receipted, in seq order.

        Raises:
            ValueError: the receipt is of another line.
            StoreError: it names an envelope this store does not hold (nothing written), or
                the write failed.
        """
        if receipt.line_id != line_id:
            raise ValueError("the receipt is of another line")
        with transaction(self._db, self._path):
            latest = self._latest_receipt(line_id, receipt.direction, issued=False)
            if latest is not None and receipt.seq <= latest.seq:
                return ()
            if (
                stored_hash(self._db, line_id, receipt.direction, receipt.seq)
                != receipt.envelope_hash
            ):
                raise StoreError(
                    f"a receipt names our envelope {receipt.seq}, which this store does not"
                    " hold: nothing was written"
                )
            insert_receipt(self._db, receipt, issued=False, now_ms=now_ms)
            # Nothing of the outbox is written: a row is receipted once a receipt covers its
            # envelope. These are the rows this one covers that the last one did not.
            covered = self._db.execute(
                "SELECT e.message_id FROM envelopes AS e JOIN outbox AS o ON o.id = e.message_id"
                " WHERE e.line_id = ? AND e.direction = ? AND e.seq > ? AND e.seq <= ?"
                " ORDER BY e.seq",
                (
                    line_id,
                    int(receipt.direction),
                    0 if latest is None else latest.seq,
                    receipt.seq,
                ),
            ).fetchall()
        return tuple(message_id for (message_id,) in covered)

    def recover(
        self,
        line_id: bytes,
        direction: Direction,
        *,
        envelopes: Sequence[Envelope],
        heads: Sequence[ChainHead],
        now_ms: int,
        peer: str | None = None,
    ) -> tuple[str, ...]:
        """Store our own envelopes, learned back from the peer after a restore, and reconcile.

        A recovered envelope was sent before this store was restored: the first outbox row of
        the line still queued with its kind, precedence, ``queued_at`` and text (an ACK's
        body) leaves the queue and takes that envelope as its own, so it is never sent twice.

        Args:
            line_id: the line.
            direction: the direction this station sends on it.
            envelopes: the next envelopes of that direction, verified, in order.
            heads: verified heads among them, the last covering the last envelope.
            now_ms: ``stored_at``, UTC ms.
            peer: the peer's station name, for rows no outbox row names (else the line's).

        Returns:
            The ids of the outbox messages reconciled, in seq order.

        Raises:
            StoreError: the envelopes do not continue our stored chain (nothing written).
            StoreCorruptError: an outbox row fails to open.
        """
        with transaction(self._db, self._path):
            tip, _ = chain_tip(self._db, line_id, direction)
            check_continuous(line_id, direction, tip, envelopes, heads)
            ids, peers, matched, taken = reconcile_outbox(
                self._db, self._cipher, line_id, envelopes, peer
            )
            insert_envelopes(
                self._db,
                self._cipher,
                line_id,
                envelopes,
                peers=peers,
                message_ids=ids,
                incoming=False,
                now_ms=now_ms,
            )
            insert_heads(self._db, heads)
            dequeue(self._db, line_id, direction, taken)
        return tuple(matched)

    # --- The peer's direction -----------------------------------------------------------------
    def deliver(
        self,
        line_id: bytes,
        direction: Direction,
        *,
        peer: str,
        envelopes: Sequence[Envelope],
        heads: Sequence[ChainHead],
        signer: Signer,
        now_ms: int,
        message_ids: Sequence[str] | None = None,
    ) -> Receipt:
        """Store the peer's covered envelopes and their heads, and sign the receipt, in one commit.

        Args:
            line_id: the line.
            direction: the peer's direction (the one received).
            peer: the peer's station name (the inbox lists by it).
            envelopes: the next envelopes of that direction, verified, in order.
            heads: the verified heads that cover them, the last covering the last envelope.
            signer: this station's signing keys.
            now_ms: ``stored_at`` and the receipt's ``receipted_at``, UTC ms.
            message_ids: the ids the envelopes get in the inbox (32 hex digits each; fresh
                random ones if None), so the caller can name them at once.

        Returns:
            The receipt, stored: send it only now (and again, as stored, after a crash).

        Raises:
            HaltedError: the direction is halted (nothing written).
            StoreError: the envelopes do not continue the stored chain (a duplicate or a gap:
                nothing written), or the write failed.
        """
        with transaction(self._db, self._path):
            if self._halted(line_id, direction):
                raise HaltedError(
                    f"direction {direction.name} of the line with {peer} is halted until an"
                    " operator resumes it: nothing was written"
                )
            tip, _ = chain_tip(self._db, line_id, direction)
            check_continuous(line_id, direction, tip, envelopes, heads)
            own_tip, _ = chain_tip(self._db, line_id, direction.other)
            ids = (
                [new_message_id().hex() for _ in envelopes]
                if message_ids is None
                else list(message_ids)
            )
            peers = [peer] * len(envelopes)
            insert_envelopes(
                self._db,
                self._cipher,
                line_id,
                envelopes,
                peers=peers,
                message_ids=ids,
                incoming=True,
                now_ms=now_ms,
            )
            insert_heads(self._db, heads)
            receipt = Receipt.create(
                signer,
                line_id=line_id,
                direction=direction,
                received=envelopes[-1].header.ref,
                receipted_at_ms=now_ms,
                own=own_tip,
            )
            insert_receipt(self._db, receipt, issued=True, now_ms=now_ms)
        return receipt

    # --- Halts --------------------------------------------------------------------------------
    def halt(
        self, line_id: bytes, direction: Direction, *, nack: Nack, issued: bool, now_ms: int
    ) -> None:
        """Store a NACK and halt the direction it names (unless already halted).

        Args:
            line_id: the line.
            direction: the direction the NACK refuses an item of.
            nack: the NACK, signed by us (``issued``) or verified from the peer.
            issued: whether this station signed it.
            now_ms: when, UTC ms.

        Raises:
            ValueError: the NACK is about another line or direction.
            StoreWriteError: the write failed.
        """
        if (nack.line_id, nack.direction) != (line_id, direction):
            raise ValueError("the NACK is about another line or direction")
        item = nack.encode()
        with transaction(self._db, self._path):
            # The refusing station re-sends its NACK at every session start while it stands:
            # the same NACK again changes nothing. In particular it does not halt again a
            # direction the operator resumed: a NACK halts once (docs/operations.md).
            known = self._db.execute(
                "SELECT 1 FROM nacks WHERE line_id = ? AND item = ?", (line_id, item)
            ).fetchone()
            if known is not None:
                return
            cursor = self._db.execute(
                "INSERT INTO nacks (line_id, direction, issued, item, stored_at_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (line_id, int(direction), int(issued), item, now_ms),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO halts (line_id, direction, nack_id, since_ms)"
                " VALUES (?, ?, ?, ?)",
                (line_id, int(direction), cursor.lastrowid, now_ms),
            )

    def audit(
        self, line_id: bytes, direction: Direction, keys: VerifyKeys, *, after: ChainRef = GENESIS
    ) -> Audit:
        """Walk the stored chain of ``direction`` after ``after`` (see :func:`audit_chain`)."""
        return audit_chain(
            self._db, self._path, self._cipher, line_id, direction=direction, keys=keys, after=after
        )

    def record(self, line_id: bytes, window: RecordWindow) -> RecordItems:
        """Read the line's record sequenced within ``window``, for an export (see
        :func:`read_record`)."""
        return read_record(self._db, self._path, self._cipher, line_id, window)

    def store_checkpoint(self, checkpoint: Checkpoint, *, now_ms: int) -> bool:
        """Store a checkpoint both stations signed (verified by the caller); once only.

        Returns:
            Whether the store holds it now: False when another checkpoint holds its number
            (one the store keeps: the first is never replaced).

        Raises:
            StoreWriteError: the commit failed.
        """
        body = checkpoint.body
        item = checkpoint.encode()
        key = (body.line_id, int(body.proposer), body.number)
        with transaction(self._db, self._path):
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO checkpoints (line_id, proposer, number, item,"
                " stored_at_ms) VALUES (?, ?, ?, ?, ?)",
                (*key, item, now_ms),
            )
            if cursor.rowcount:
                return True
            (held,) = self._db.execute(
                "SELECT item FROM checkpoints WHERE line_id = ? AND proposer = ? AND number = ?",
                key,
            ).fetchone()
        return bool(held == item)

    def checkpoint_items(
        self, line_id: bytes, proposer: Direction, *, above: int, limit: int
    ) -> list[tuple[int, bytes]]:
        """Return ``(number, item)`` of the stored checkpoints ``proposer`` numbered above
        ``above``, the first ``limit`` in number order, undecoded: what a proposer checks and
        sends again, one by one (docs/protocol.md §4.10).

        Raises:
            StoreError: the store cannot be read.
        """
        with transaction(self._db, self._path, write=False):
            rows = self._db.execute(
                "SELECT number, item FROM checkpoints WHERE line_id = ? AND proposer = ?"
                " AND number > ? ORDER BY number LIMIT ?",
                (line_id, int(proposer), above, limit),
            ).fetchall()
        return [(number, bytes(item)) for number, item in rows]

    def resume(self, line_id: bytes, direction: Direction | None = None) -> int:
        """Lift the halt of one direction of the line, or of both; the NACKs stay on record.

        Returns:
            How many directions were halted.
        """
        with transaction(self._db, self._path):
            cursor = self._db.execute(
                "DELETE FROM halts WHERE line_id = ?1 AND (?2 IS NULL OR direction = ?2)",
                (line_id, None if direction is None else int(direction)),
            )
        return cursor.rowcount

    # --- Inside a transaction -----------------------------------------------------------------
    def _latest_receipt(
        self, line_id: bytes, direction: Direction, *, issued: bool
    ) -> Receipt | None:
        row = self._db.execute(
            "SELECT item FROM receipts WHERE line_id = ? AND direction = ? AND issued = ?"
            " ORDER BY seq DESC LIMIT 1",
            (line_id, int(direction), int(issued)),
        ).fetchone()
        return None if row is None else decoded(Receipt.decode, row[0], "receipt")

    def _halts(self, line_id: bytes) -> dict[Direction, Nack]:
        rows = self._db.execute(
            "SELECT halts.direction, nacks.item FROM halts JOIN nacks ON nacks.id = halts.nack_id"
            " WHERE halts.line_id = ?",
            (line_id,),
        ).fetchall()
        return {Direction(d): decoded(Nack.decode, item, "NACK") for d, item in rows}

    def _halted(self, line_id: bytes, direction: Direction) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM halts WHERE line_id = ? AND direction = ?",
                (line_id, int(direction)),
            ).fetchone()
            is not None
        )
