"""The two hash chains of every line at rest: each durable step of delivery, one transaction.

Delivery (issue 7) writes first and announces second; every step below is one commit:

- :meth:`Chains.sequence` turns queued outbox rows into our next envelopes and signs ONE head
  over them (docs/record-format.md §5), so nothing of the batch can leave uncovered;
- :meth:`Chains.deliver` stores the peer's covered envelopes, their heads and the receipt it
  signs for them (§6), so a receipt is never sent for what is not on disk;
- :meth:`Chains.accept_receipt` moves the outbox forward, :meth:`Chains.halt` and
  :meth:`Chains.resume` stop and restart a direction (§7), :meth:`Chains.recover` stores our
  own envelopes learned back from the peer after a restore, so no seq is ever reused (§2).

Signed items are stored as signed and read back byte for byte: ML-DSA signing is randomized,
so a receipt signed again would be another receipt. The validators checked every item before
it gets here; continuity is checked again anyway (a batch starts right after the stored tip,
links to it and is consecutive), so a caller's bug can never store a duplicate or a gap.
Batches use ``executemany`` and per-line indexes: no query per row on the hot path.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from hotline.constants import MAX_UNCOVERED_ENVELOPES
from hotline.record import (
    GENESIS,
    ChainHead,
    ChainRef,
    ChainWriter,
    Direction,
    Envelope,
    EnvelopeHeader,
    Kind,
    MessageBody,
    Nack,
    Precedence,
    Receipt,
    RecordError,
    Signer,
)

from ._db import transaction
from ._errors import HaltedError, StoreCorruptError, StoreError
from ._sealing import (
    ENVELOPE_COLUMNS,
    MESSAGE_ID_LEN,
    RowCipher,
    open_envelope,
    open_outbox,
    seal_envelope,
)

_Item = TypeVar("_Item")

_INSERT_ENVELOPE: Final = (
    "INSERT INTO envelopes (line_id, peer, direction, incoming, seq, hash, header, kind,"
    " precedence, sequenced_at_ms, stored_at_ms, message_id, nonce, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_QUEUED: Final = "SELECT position, id, peer, precedence, queued_at_ms, nonce, body FROM outbox"
_SEQUENCE_ROW: Final = "UPDATE outbox SET state = 'sequenced', seq = ? WHERE position = ?"


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


@dataclass(frozen=True, slots=True)
class Sequenced:
    """One sequencing commit: the envelopes, the head that covers them, their outbox ids."""

    envelopes: tuple[Envelope, ...]
    head: ChainHead
    message_ids: tuple[str, ...]


def stored_hash(db: sqlite3.Connection, line_id: bytes, direction: int, seq: int) -> bytes | None:
    """Return the envelope hash stored at ``(line_id, direction, seq)`` (inside a transaction)."""
    row = db.execute(
        "SELECT hash FROM envelopes WHERE line_id = ? AND direction = ? AND seq = ?",
        (line_id, int(direction), seq),
    ).fetchone()
    return None if row is None else bytes(row[0])


def hash_at(
    db: sqlite3.Connection, path: Path, line_id: bytes, direction: Direction, seq: int
) -> bytes | None:
    """Return the envelope hash stored at ``(line_id, direction, seq)``, or None: one read.

    Raises:
        StoreError: the store cannot be read.
    """
    with transaction(db, path, write=False):
        return stored_hash(db, line_id, direction, seq)


def _decoded(decode: Callable[[bytes], _Item], data: bytes, what: str) -> _Item:
    try:
        return decode(data)
    except (RecordError, ValueError) as exc:
        raise StoreCorruptError(f"the store's {what} does not decode: {exc}") from None


def _check_continuous(
    line_id: bytes,
    direction: Direction,
    tip: ChainRef,
    envelopes: Sequence[Envelope],
    heads: Sequence[ChainHead],
) -> None:
    """Refuse a batch that would leave a duplicate, a gap or an uncovered tail in the store.

    Raises:
        ValueError: no envelopes.
        StoreError: the batch does not continue the stored chain, or its heads do not cover it.
    """
    if not envelopes:
        raise ValueError("a batch holds at least one envelope")
    held: dict[int, bytes] = {}
    previous = tip
    for envelope in envelopes:
        header = envelope.header
        if header.line_id != line_id or header.direction != direction or envelope.body is None:
            raise StoreError(
                f"envelope {header.seq} is not a whole envelope of direction {direction.name}"
                " of this line: nothing was written"
            )
        if header.seq != previous.seq + 1 or header.prev_hash != previous.hash:
            raise StoreError(
                f"envelope {header.seq} does not follow #{previous.seq} of direction"
                f" {direction.name} (a duplicate or a gap): nothing was written"
            )
        held[header.seq] = header.hash
        previous = header.ref
    for head in heads:
        if (head.line_id, head.direction) != (line_id, direction) or held.get(
            head.seq
        ) != head.envelope_hash:
            raise StoreError(
                f"the chain head at {head.seq} names no envelope of the batch: nothing was written"
            )
    if previous.seq not in {head.seq for head in heads}:
        raise StoreError(f"no chain head covers envelope {previous.seq}: nothing was written")


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
            own_tip, own_cross = self._tip(line_id, direction)
            peer_tip, peer_cross = self._tip(line_id, peer)
            received = self._latest_receipt(line_id, direction, issued=False)
            issued = self._latest_receipt(line_id, peer, issued=True)
            halts = self._halts(line_id)
            (queued,) = self._db.execute(
                "SELECT count(*) FROM outbox WHERE line_id = ? AND state = 'queued'", (line_id,)
            ).fetchone()
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
                heads.append(_decoded(ChainHead.decode, item, "chain head"))
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
        tip stored now), ONE head signed over the last of them, and the outbox rows marked
        ``sequenced``. Only after it returns may anything of the batch be sent.

        Args:
            line_id: the line.
            direction: the direction this station sends on it.
            limit: 1 to ``MAX_UNCOVERED_ENVELOPES`` envelopes (the receiver's window).
            signer: this station's signing keys.
            now_ms: ``sequenced_at`` and the head's ``signed_at``, UTC ms.

        Returns:
            The batch, or None when our direction is halted or nothing of the line is queued.

        Raises:
            ValueError: ``limit`` out of range.
            StoreWriteError: the commit failed: nothing was sequenced.
            StoreCorruptError: a stored row fails to open.
        """
        if not 1 <= limit <= MAX_UNCOVERED_ENVELOPES:
            raise ValueError(f"a batch is 1 to {MAX_UNCOVERED_ENVELOPES} envelopes, not {limit}")
        with transaction(self._db, self._path):
            if self._halted(line_id, direction):
                return None
            rows = self._db.execute(
                f"{_QUEUED} WHERE line_id = ? AND state = 'queued'"
                " ORDER BY precedence DESC, position LIMIT ?",
                (line_id, limit),
            ).fetchall()
            if not rows:
                return None
            tip, cross = self._tip(line_id, direction)
            peer_tip, _ = self._tip(line_id, direction.other)
            writer = ChainWriter(line_id, direction, tip=tip, cross=cross)
            envelopes = [
                writer.append(
                    MessageBody.create(
                        open_outbox(self._cipher, line_id, message_id, nonce, body).decode()
                    ),
                    kind=Kind.MESSAGE,
                    precedence=Precedence(precedence),
                    queued_at_ms=queued_at,
                    sequenced_at_ms=now_ms,
                    cross=peer_tip,
                )
                for _, message_id, _, precedence, queued_at, nonce, body in rows
            ]
            head = writer.sign_head(signer, now_ms)
            ids = [row[1] for row in rows]
            self._insert(
                line_id, envelopes, [row[2] for row in rows], ids, incoming=False, now_ms=now_ms
            )
            self._insert_heads([head])
            self._db.executemany(
                _SEQUENCE_ROW, [(e.seq, row[0]) for e, row in zip(envelopes, rows, strict=True)]
            )
        return Sequenced(tuple(envelopes), head, tuple(ids))

    def accept_receipt(self, line_id: bytes, receipt: Receipt, *, now_ms: int) -> tuple[str, ...]:
        """Store a verified receipt for our direction and mark what it covers ``receipted``.

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
            self._insert_receipt(receipt, issued=False, now_ms=now_ms)
            moved = self._db.execute(
                "UPDATE outbox SET state = 'receipted'"
                " WHERE line_id = ? AND state = 'sequenced' AND seq <= ? RETURNING id, seq",
                (line_id, receipt.seq),
            ).fetchall()
        return tuple(message_id for message_id, _ in sorted(moved, key=lambda row: row[1]))

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

        A recovered MESSAGE was sent before this store was restored: the first outbox row of
        the line still ``queued`` with its precedence, ``queued_at`` and text becomes
        ``sequenced`` at its seq, so it is never sent twice.

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
            tip, _ = self._tip(line_id, direction)
            _check_continuous(line_id, direction, tip, envelopes, heads)
            candidates: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
            for row in self._db.execute(
                f"{_QUEUED} WHERE line_id = ? AND state = 'queued' ORDER BY position",
                (line_id,),
            ):
                candidates.setdefault((row[3], row[4]), []).append(row)
            fallback = peer if peer is not None else self._peer_of(line_id)
            ids, peers, matched, updates = [], [], [], []
            for envelope in envelopes:
                row = self._match(line_id, envelope, candidates)
                if row is None:
                    ids.append(secrets.token_hex(MESSAGE_ID_LEN))
                    peers.append(fallback)
                else:
                    ids.append(row[1])
                    peers.append(row[2])
                    matched.append(row[1])
                    updates.append((envelope.seq, row[0]))
            self._insert(line_id, envelopes, peers, ids, incoming=False, now_ms=now_ms)
            self._insert_heads(heads)
            self._db.executemany(_SEQUENCE_ROW, updates)
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
            tip, _ = self._tip(line_id, direction)
            _check_continuous(line_id, direction, tip, envelopes, heads)
            own_tip, _ = self._tip(line_id, direction.other)
            ids = [secrets.token_hex(MESSAGE_ID_LEN) for _ in envelopes]
            peers = [peer] * len(envelopes)
            self._insert(line_id, envelopes, peers, ids, incoming=True, now_ms=now_ms)
            self._insert_heads(heads)
            receipt = Receipt.create(
                signer,
                line_id=line_id,
                direction=direction,
                received=envelopes[-1].header.ref,
                receipted_at_ms=now_ms,
                own=own_tip,
            )
            self._insert_receipt(receipt, issued=True, now_ms=now_ms)
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
        with transaction(self._db, self._path):
            cursor = self._db.execute(
                "INSERT INTO nacks (line_id, direction, issued, item, stored_at_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (line_id, int(direction), int(issued), nack.encode(), now_ms),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO halts (line_id, direction, nack_id, since_ms)"
                " VALUES (?, ?, ?, ?)",
                (line_id, int(direction), cursor.lastrowid, now_ms),
            )

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
    def _tip(self, line_id: bytes, direction: Direction) -> tuple[ChainRef, ChainRef]:
        """The last stored envelope of ``direction`` and its cross-link (GENESIS if none)."""
        row = self._db.execute(
            "SELECT seq, hash, header FROM envelopes WHERE line_id = ? AND direction = ?"
            " ORDER BY seq DESC LIMIT 1",
            (line_id, int(direction)),
        ).fetchone()
        if row is None:
            return GENESIS, GENESIS
        header = _decoded(EnvelopeHeader.decode, row[2], "envelope header")
        if header.ref != ChainRef(row[0], row[1]):
            raise StoreCorruptError(f"the store's envelope #{row[0]} holds another header")
        return header.ref, header.cross

    def _latest_receipt(
        self, line_id: bytes, direction: Direction, *, issued: bool
    ) -> Receipt | None:
        row = self._db.execute(
            "SELECT item FROM receipts WHERE line_id = ? AND direction = ? AND issued = ?"
            " ORDER BY seq DESC LIMIT 1",
            (line_id, int(direction), int(issued)),
        ).fetchone()
        return None if row is None else _decoded(Receipt.decode, row[0], "receipt")

    def _halts(self, line_id: bytes) -> dict[Direction, Nack]:
        rows = self._db.execute(
            "SELECT halts.direction, nacks.item FROM halts JOIN nacks ON nacks.id = halts.nack_id"
            " WHERE halts.line_id = ?",
            (line_id,),
        ).fetchall()
        return {Direction(d): _decoded(Nack.decode, item, "NACK") for d, item in rows}

    def _halted(self, line_id: bytes, direction: Direction) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM halts WHERE line_id = ? AND direction = ?",
                (line_id, int(direction)),
            ).fetchone()
            is not None
        )

    def _peer_of(self, line_id: bytes) -> str:
        """The peer's name as the line's rows give it ('' when the store holds none)."""
        row = self._db.execute(
            "SELECT peer FROM envelopes WHERE line_id = ?1"
            " UNION ALL SELECT peer FROM outbox WHERE line_id = ?1 LIMIT 1",
            (line_id,),
        ).fetchone()
        return "" if row is None else str(row[0])

    def _match(
        self,
        line_id: bytes,
        envelope: Envelope,
        candidates: dict[tuple[int, int], list[tuple[Any, ...]]],
    ) -> tuple[Any, ...] | None:
        """Take the first queued outbox row ``envelope`` was made from, if any."""
        header, body = envelope.header, envelope.body
        if header.kind is not Kind.MESSAGE or not isinstance(body, MessageBody):
            return None
        rows = candidates.get((int(header.precedence), header.queued_at_ms), [])
        text = body.text.encode("utf-8")
        for index, row in enumerate(rows):
            if open_outbox(self._cipher, line_id, row[1], row[5], row[6]) == text:
                return rows.pop(index)
        return None

    def _insert(
        self,
        line_id: bytes,
        envelopes: Sequence[Envelope],
        peers: Sequence[str],
        message_ids: Sequence[str],
        *,
        incoming: bool,
        now_ms: int,
    ) -> None:
        rows = []
        for envelope, peer, message_id in zip(envelopes, peers, message_ids, strict=True):
            header = envelope.header
            nonce, sealed = seal_envelope(self._cipher, envelope)
            rows.append(
                (
                    line_id,
                    peer,
                    int(header.direction),
                    int(incoming),
                    header.seq,
                    header.hash,
                    header.encoded,
                    int(header.kind),
                    int(header.precedence),
                    header.sequenced_at_ms,
                    now_ms,
                    message_id,
                    nonce,
                    sealed,
                )
            )
        self._db.executemany(_INSERT_ENVELOPE, rows)

    def _insert_heads(self, heads: Sequence[ChainHead]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO heads (line_id, direction, seq, item) VALUES (?, ?, ?, ?)",
            [(h.line_id, int(h.direction), h.seq, h.encode()) for h in heads],
        )

    def _insert_receipt(self, receipt: Receipt, *, issued: bool, now_ms: int) -> None:
        self._db.execute(
            "INSERT INTO receipts (line_id, direction, seq, issued, item, stored_at_ms)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                receipt.line_id,
                int(receipt.direction),
                receipt.seq,
                int(issued),
                receipt.encode(),
                now_ms,
            ),
        )
