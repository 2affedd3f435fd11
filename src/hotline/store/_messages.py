"""The operator's messages at rest: the outbox (queued to send) and the inbox (received).

The inbox is not a table of its own: it is the peer's MESSAGE and TEST envelopes, which
:meth:`~hotline.store.Chains.deliver` stored (with their heads and the receipt) in one commit.

"Queued" means durable (DESIGN.md, reliability contract): :meth:`Messages.queue` returns only
after its transaction committed with ``synchronous=FULL``, so the operator is told the id of a
message that survives a crash or a power cut. Every method is one transaction.

An **idempotency key** names one request for ever: queueing again with the same key returns
the message it first queued (a retry after a timeout never queues twice), and the same key
with another peer, text or precedence is refused (:class:`DuplicateKeyError`), since it means
the caller mixed two requests up.

Texts are sealed at rest (:mod:`._sealing`); peers, times, precedence and states stay in clear
for the daemon to schedule without the data key in every query. A row that fails to decrypt
raises :class:`StoreCorruptError`, never shows as garbage or as another row's text.
"""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Final

from hotline.record import (
    AckBody,
    ChainRef,
    Kind,
    MessageBody,
    Precedence,
    RecordError,
)

from ._db import transaction
from ._errors import DuplicateKeyError, MessageUnknownError, StoreCorruptError
from ._message_items import (
    AckReceived,
    InboxMessage,
    OutboxMessage,
    OutboxState,
    Queued,
    ToQueue,
    ack_body,
    ack_text,
    outbox_text,
)
from ._sealing import (
    ENVELOPE_COLUMNS,
    RowCipher,
    new_message_id,
    open_envelope,
    open_outbox,
    outbox_ad,
)


def _same(existing: OutboxMessage, item: ToQueue, precedence: Precedence) -> OutboxMessage:
    """Return ``existing`` if ``item`` asks for the very message its key already queued (an
    ACK: the same operator and note; its salt is new each time).

    Raises:
        DuplicateKeyError: the key queued another peer, text or precedence.
    """
    if (
        existing.line_id == item.line_id
        and existing.peer == item.peer
        and existing.precedence == precedence
        and existing.kind == item.kind
        and hmac.compare_digest(existing.text.encode("utf-8"), item.text.encode("utf-8"))
    ):
        return existing
    raise DuplicateKeyError(
        f"the idempotency key {item.idempotency_key!r} already queued message"
        f" {existing.id}, with another peer, text or precedence"
    )


#: Idempotency keys looked up per query: below SQLite's oldest limit of bound parameters (999).
_KEYS_PER_QUERY: Final = 500


def _latest_receipt(of: str) -> str:
    """The seq of the latest receipt of the line and direction of the row aliased ``of``, or
    NULL (a scalar subquery: the receipts' key read backwards, one row)."""
    return (
        "(SELECT r.seq FROM receipts AS r"  # noqa: S608 (an alias of this module's queries)
        f" WHERE r.line_id = {of}.line_id AND r.direction = {of}.direction"
        " ORDER BY r.seq DESC LIMIT 1)"
    )


#: An outbox row's state is read, not stored (docs/api.md §4): a row still in ``queue`` is
#: queued; one with an envelope is sequenced at its seq, and receipted once the latest
#: receipt of that direction reaches it. A row that is both, or neither, was altered.
_OUTBOX_COLUMNS: Final = (
    "o.id, o.line_id, o.peer, o.precedence, o.queued_at_ms,"  # noqa: S608 (constants only)
    " EXISTS (SELECT 1 FROM queue AS w WHERE w.line_id = o.line_id"
    " AND w.precedence = o.precedence AND w.position = o.position),"
    f" e.seq, e.seq <= coalesce({_latest_receipt('e')}, 0), o.kind, t.nonce, t.body"
)
#: An outbox row ``o``'s text (a LEFT JOIN: a row that lost its text reaches
#: :func:`open_outbox`, which reports it) and its envelope, if sequenced.
_TEXT: Final = " LEFT JOIN outbox_texts AS t ON t.position = o.position"
_TEXT_AND_ENVELOPE: Final = (
    f"{_TEXT} LEFT JOIN envelopes AS e ON e.message_id = o.id AND e.incoming = 0"
)
#: Our envelopes after the latest receipt of each line we send on, with their outbox rows
#: (not their texts: the watch counts these every second): what is in flight. A CROSS JOIN
#: keeps ``sending`` the outer loop, so the envelopes are searched by index from each line's
#: receipt on (the planner may otherwise scan them all).
_IN_FLIGHT: Final = (
    " FROM sending AS s CROSS JOIN envelopes AS e ON e.line_id = s.line_id"
    " AND e.direction = s.direction"
    f" AND e.seq > coalesce({_latest_receipt('s')}, 0)"
    " JOIN outbox AS o ON o.id = e.message_id"
)
#: The position the next outbox row takes, less one: what AUTOINCREMENT reads.
_LAST_POSITION: Final = (
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),"
    " coalesce((SELECT max(position) FROM outbox), 0))"
)
#: The inbox is the peer's MESSAGE and TEST envelopes (kinds 1 and 2), as they were stored,
#: each with the ACK this station queued for it, if any (its key names the message).
_INBOX: Final = (
    "SELECT e.message_id, e.peer, e.stored_at_ms,"
    " e.line_id, e.direction, e.seq, e.hash, e.header, e.nonce, e.body,"
    " a.id, a.line_id, a.queued_at_ms, a.kind, t.nonce, t.body"
    " FROM envelopes AS e LEFT JOIN outbox AS a"
    " ON a.idempotency_key = 'ack ' || e.message_id AND a.kind = 3"
    " LEFT JOIN outbox_texts AS t ON t.position = a.position"
    " WHERE e.incoming = 1 AND e.kind IN (1, 2) AND (?1 IS NULL OR e.peer = ?1)"
    " AND e.rowid > ?2 ORDER BY e.rowid"
)
#: The idempotency key of the ACK of an inbox message: one acknowledgement per message. The
#: space keeps it apart from every client's key (those are printable ASCII without spaces).
ACK_KEY_PREFIX: Final = "ack "


class Messages:
    """The outbox and inbox of one ``hotline.db`` connection (one thread: see StoreThread)."""

    __slots__ = ("_cipher", "_db", "_path")

    def __init__(self, db: sqlite3.Connection, path: Path, cipher: RowCipher) -> None:
        """Args:
        db: a connection from :func:`hotline.store.connect`.
        path: the database file, for messages.
        cipher: seals and opens the texts.
        """
        self._db = db
        self._path = path
        self._cipher = cipher

    def __repr__(self) -> str:
        return f"Messages({str(self._path)!r})"

    def queue(
        self,
        *,
        line_id: bytes,
        peer: str,
        precedence: Precedence,
        text: str,
        idempotency_key: str,
        now_ms: int,
    ) -> Queued:
        """Queue a message durably, or return the one ``idempotency_key`` already queued.

        Args:
            line_id: the line to the peer (64 bytes).
            peer: the peer's station name.
            precedence: the message's precedence.
            text: 1 to ``MAX_TEXT_LEN`` bytes of UTF-8.
            idempotency_key: names this request (1-64 characters: the API checks its form).
            now_ms: the time to record as ``queued_at``, UTC milliseconds.

        Returns:
            The message, and whether this call created it.

        Raises:
            ValueError: a text that is empty, too long or not Unicode (the API checks first).
            DuplicateKeyError: the key names another message.
            StoreWriteError: the write failed (full, read-only): nothing was queued.
            StoreCorruptError: the message the key names fails to decrypt.
        """
        item = ToQueue(line_id, peer, precedence, text, idempotency_key)
        (queued,) = self.queue_many([item], now_ms=now_ms)
        return queued

    def queue_many(self, items: Sequence[ToQueue], *, now_ms: int) -> list[Queued]:
        """Queue many messages in ONE transaction (one fsync), each as :meth:`queue` would.

        Each item keeps the idempotency rules of :meth:`queue` (an item whose key already
        queued the same message is returned with ``created=False``, also when an earlier item
        of the same batch queued it), but the batch is all or nothing: one refused item
        (a conflicting key, a bad text) and nothing of the batch is queued.

        Args:
            items: the messages, in the order the operator gave them (the queue's order).
            now_ms: the time to record as ``queued_at`` of every new one, UTC milliseconds.

        Returns:
            One :class:`Queued` per item, in order.

        Raises:
            ValueError: no items, or a text that is empty, too long or not Unicode.
            DuplicateKeyError: a key names another message: nothing was queued.
            StoreWriteError: the write failed (full, read-only): nothing was queued.
            StoreCorruptError: a message a key names fails to decrypt.
        """
        if not items:
            raise ValueError("a batch holds at least one message")
        data = [item.payload for item in items]
        with transaction(self._db, self._path):
            found = self._by_keys({item.idempotency_key for item in items})
            # The positions AUTOINCREMENT would give, named here so the texts and the queue
            # need no lookup by id (the write lock is held: no one else inserts).
            (position,) = self._db.execute(_LAST_POSITION).fetchone()
            results: list[Queued] = []
            rows, texts, queue = [], [], []
            for item, payload in zip(items, data, strict=True):
                precedence = Precedence(item.precedence)
                existing = found.get(item.idempotency_key)
                if existing is not None:
                    results.append(Queued(_same(existing, item, precedence), created=False))
                    continue
                message_id = new_message_id()
                nonce, body = self._cipher.seal(outbox_ad(item.line_id, message_id), payload)
                position += 1
                rows.append(
                    (
                        position,
                        message_id.hex(),
                        item.line_id,
                        item.peer,
                        int(precedence),
                        item.idempotency_key,
                        now_ms,
                        int(item.kind),
                    )
                )
                texts.append((position, nonce, body))
                queue.append((item.line_id, int(precedence), position, item.peer, now_ms))
                message = OutboxMessage(
                    message_id.hex(),
                    item.line_id,
                    item.peer,
                    precedence,
                    item.text,
                    now_ms,
                    OutboxState.QUEUED,
                    None,
                    item.kind,
                )
                found[item.idempotency_key] = message
                results.append(Queued(message, created=True))
            self._db.executemany(
                "INSERT INTO outbox (position, id, line_id, peer, precedence, idempotency_key,"
                " queued_at_ms, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.executemany(
                "INSERT INTO outbox_texts (position, nonce, body) VALUES (?, ?, ?)", texts
            )
            self._db.executemany(
                "INSERT INTO queue (line_id, precedence, position, peer, queued_at_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                queue,
            )
        return results

    def outbox(self, peer: str | None = None) -> list[OutboxMessage]:
        """Return the messages not yet receipted, in sending order.

        Sending order: the sequenced ones by ``seq``, then the queued ones by precedence
        (FLASH first), oldest first within a precedence.

        Args:
            peer: only this peer's, if given.

        Raises:
            StoreError: the store cannot be read.
            StoreCorruptError: a row fails to decrypt.
        """
        with transaction(self._db, self._path, write=False):
            rows = self._db.execute(
                f"SELECT {_OUTBOX_COLUMNS}{_IN_FLIGHT}{_TEXT}"
                " WHERE ?1 IS NULL OR o.peer = ?1 ORDER BY e.seq, o.position",
                (peer,),
            ).fetchall()
            rows += self._db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM queue AS q"  # noqa: S608 (constants only)
                f" JOIN outbox AS o ON o.position = q.position{_TEXT_AND_ENVELOPE}"
                " WHERE ?1 IS NULL OR o.peer = ?1 ORDER BY q.precedence DESC, q.position",
                (peer,),
            ).fetchall()
        return [self._outbox_message(row) for row in rows]

    def ack(
        self,
        message_id: str,
        *,
        operator: str,
        note: str,
        now_ms: int,
        active_lines: Collection[bytes],
    ) -> Queued:
        """Queue the acknowledgement of a received message, by ``operator``: an ACK envelope
        naming it, sent to its sender at its precedence. Once per message: the same operator
        and note again returns the ACK queued before (``created=False``).

        Args:
            active_lines: the lines of the active pairings; an ACK on any other could never
                be sent (the pairing was revoked), so it is refused, not queued for ever.

        Raises:
            MessageUnknownError: no received message has that id.
            ValueError: an operator name or note an ACK cannot carry, or a message from a
                station no longer paired.
            DuplicateKeyError: the message was acknowledged already, by someone else or with
                another note.
            StoreWriteError: the write failed: nothing was queued.
        """
        with transaction(self._db, self._path, write=False):
            row = self._db.execute(
                "SELECT line_id, peer, seq, hash, precedence FROM envelopes"
                " WHERE message_id = ? AND incoming = 1 AND kind IN (1, 2)",
                (message_id,),
            ).fetchone()
        if row is None:
            raise MessageUnknownError(f"no received message has the id {message_id!r}")
        line_id, peer, seq, envelope_hash, precedence = row
        if line_id not in active_lines:
            raise ValueError(
                f"message {message_id} came from {peer}, no longer paired: an acknowledgement"
                " could not be sent"
            )
        try:
            body = AckBody.create(ChainRef(seq, envelope_hash), operator, note)
        except RecordError as exc:
            raise ValueError(str(exc)) from None
        item = ToQueue(
            line_id,
            peer,
            Precedence(precedence),
            ack_text(body),
            ACK_KEY_PREFIX + message_id,
            kind=Kind.ACK,
            ack=body,
        )
        try:
            (queued,) = self.queue_many([item], now_ms=now_ms)
        except DuplicateKeyError:
            raise DuplicateKeyError(
                f"message {message_id} was already acknowledged (see inbox)"
            ) from None
        return queued

    def outbox_summary(self) -> dict[str, tuple[int, int]]:
        """Per peer: how many of our messages are not receipted yet, and when the oldest of
        them was queued (UTC ms)."""
        with transaction(self._db, self._path, write=False):
            # By line, in the queue's own order (grouping by peer would sort the whole backlog
            # every second); a line whose rows name two peers (a pairing renamed) is split.
            rows = []
            for line_id, first, last, count, oldest in self._db.execute(
                "SELECT line_id, min(peer), max(peer), count(*), min(queued_at_ms) FROM queue"
                " GROUP BY line_id"
            ).fetchall():
                if first == last:
                    rows.append((first, count, oldest))
                else:
                    rows += self._db.execute(
                        "SELECT peer, count(*), min(queued_at_ms) FROM queue WHERE line_id = ?"
                        " GROUP BY peer",
                        (line_id,),
                    ).fetchall()
            rows += self._db.execute(
                f"SELECT o.peer, count(*), min(o.queued_at_ms){_IN_FLIGHT} GROUP BY o.peer"
            ).fetchall()
        summary: dict[str, tuple[int, int]] = {}
        for peer, count, oldest in rows:
            before = summary.get(peer, (0, oldest))
            summary[peer] = (before[0] + count, min(before[1], oldest))
        return summary

    def receipted(self, message_id: str) -> bool:
        """Whether our message ``message_id`` is covered by the peer's receipt."""
        with transaction(self._db, self._path, write=False):
            row = self._db.execute(
                f"SELECT e.seq <= coalesce({_latest_receipt('e')}, 0) FROM envelopes AS e"  # noqa: S608
                " WHERE e.message_id = ? AND e.incoming = 0",
                (message_id,),
            ).fetchone()
        return row is not None and bool(row[0])

    def last_tests(self) -> dict[str, int]:
        """When the latest test message from each peer was stored here, UTC ms."""
        with transaction(self._db, self._path, write=False):
            rows = self._db.execute(
                "SELECT peer, max(stored_at_ms) FROM envelopes"
                " WHERE incoming = 1 AND kind = ? GROUP BY peer",
                (int(Kind.TEST),),
            ).fetchall()
        return dict(rows)

    def lines_tested(self) -> set[bytes]:
        """The lines this station ever queued a test message on."""
        with transaction(self._db, self._path, write=False):
            rows = self._db.execute(
                "SELECT DISTINCT line_id FROM outbox WHERE kind = ?", (int(Kind.TEST),)
            ).fetchall()
        return {line_id for (line_id,) in rows}

    def awaiting_ack(self, *, since_ms: int) -> list[tuple[str, bytes, int, int, int]]:
        """The FLASH and IMMEDIATE messages stored since ``since_ms`` that no operator here
        acknowledged: ``(id, line_id, seq, precedence, stored_at_ms)``, oldest first. Clear
        columns only: nothing is decrypted."""
        with transaction(self._db, self._path, write=False):
            return self._db.execute(
                "SELECT e.message_id, e.line_id, e.seq, e.precedence, e.stored_at_ms"
                " FROM envelopes AS e WHERE e.incoming = 1 AND e.kind = ? AND e.precedence >= ?"
                " AND e.stored_at_ms >= ? AND NOT EXISTS (SELECT 1 FROM outbox"
                " WHERE idempotency_key = ? || e.message_id AND kind = 3) ORDER BY e.rowid",
                (int(Kind.MESSAGE), int(Precedence.IMMEDIATE), since_ms, ACK_KEY_PREFIX),
            ).fetchall()

    def acks_received(
        self, peer: str | None = None, *, latest_only: bool = False
    ) -> list[AckReceived]:
        """Return the peer operators' acknowledgements of our messages, as they arrived (only
        each peer's latest, if ``latest_only``).

        Raises:
            StoreError: the store cannot be read.
            StoreCorruptError: a row fails to open.
        """
        with transaction(self._db, self._path, write=False):
            rows = self._db.execute(
                f"SELECT peer, stored_at_ms, {ENVELOPE_COLUMNS} FROM envelopes"  # noqa: S608
                " WHERE incoming = 1 AND kind = 3 AND (?1 IS NULL OR peer = ?1) AND (NOT ?2"
                " OR rowid IN (SELECT max(rowid) FROM envelopes WHERE incoming = 1 AND kind = 3"
                " GROUP BY peer)) ORDER BY rowid",
                (peer, latest_only),
            ).fetchall()
            result = []
            for name, stored_at, *place in rows:
                envelope = open_envelope(self._cipher, place)
                body = envelope.body
                if not isinstance(body, AckBody):
                    raise StoreCorruptError("the store's ACK envelope holds another body")
                ours = self._db.execute(
                    "SELECT message_id FROM envelopes WHERE line_id = ? AND direction = ?"
                    " AND seq = ? AND hash = ? AND incoming = 0",
                    (
                        envelope.header.line_id,
                        int(envelope.header.direction.other),
                        body.acked.seq,
                        body.acked.hash,
                    ),
                ).fetchone()
                result.append(
                    AckReceived(
                        name,
                        "" if ours is None else ours[0],
                        body.acked.seq,
                        body.operator,
                        body.note,
                        envelope.header.sequenced_at_ms,
                        stored_at,
                    )
                )
        return result

    def inbox(self, peer: str | None = None, *, after: str | None = None) -> list[InboxMessage]:
        """Return the received messages in the order they were delivered.

        Args:
            peer: only this peer's, if given.
            after: only those delivered after the received message with this id (to follow
                the inbox: the last id seen).

        Raises:
            MessageUnknownError: no received message has the id ``after``.
            StoreError: the store cannot be read.
            StoreCorruptError: a row fails to decrypt.
        """
        with transaction(self._db, self._path, write=False):
            start = 0
            if after is not None:
                found = self._db.execute(
                    "SELECT rowid FROM envelopes WHERE message_id = ? AND incoming = 1",
                    (after,),
                ).fetchone()
                if found is None:
                    raise MessageUnknownError(f"no received message has the id {after!r}")
                start = found[0]
            rows = self._db.execute(_INBOX, (peer, start)).fetchall()
        return [self._inbox_message(row) for row in rows]

    def _by_keys(self, keys: set[str]) -> dict[str, OutboxMessage]:
        """The messages already queued under any of ``keys`` (inside a transaction)."""
        found: dict[str, OutboxMessage] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), _KEYS_PER_QUERY):
            chunk = ordered[start : start + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            for key, *row in self._db.execute(
                f"SELECT o.idempotency_key, {_OUTBOX_COLUMNS}"  # noqa: S608 (constants only)
                f" FROM outbox AS o{_TEXT_AND_ENVELOPE} WHERE o.idempotency_key IN ({marks})",
                chunk,
            ):
                found[key] = self._outbox_message(tuple(row))
        return found

    def _outbox_message(self, row: tuple[Any, ...]) -> OutboxMessage:
        message_id, line_id, peer, precedence, queued_at, queued, seq, receipted, kind = row[:9]
        payload = open_outbox(self._cipher, line_id, message_id, *row[9:])
        if queued == (seq is not None):
            where = "both queued and sequenced" if queued else "neither queued nor sequenced"
            raise StoreCorruptError(
                f"the store's outbox message {message_id} is {where}: the store was damaged"
                " or altered"
            )
        if seq is None:
            state = OutboxState.QUEUED
        else:
            state = OutboxState.RECEIPTED if receipted else OutboxState.SEQUENCED
        return OutboxMessage(
            message_id,
            line_id,
            peer,
            Precedence(precedence),
            outbox_text(Kind(kind), payload),
            queued_at,
            state,
            seq,
            Kind(kind),
        )

    def _open_ack(self, row: tuple[Any, ...]) -> tuple[str, int]:
        """The operator and queue time of an ACK's outbox row."""
        message_id, line_id, queued_at, kind, nonce, body = row
        if kind != Kind.ACK:
            raise StoreCorruptError(f"the store's ACK {message_id} is not an ACK")
        payload = open_outbox(self._cipher, line_id, message_id, nonce, body)
        return ack_body(payload).operator, queued_at

    def _inbox_message(self, row: tuple[Any, ...]) -> InboxMessage:
        message_id, peer, stored_at, *place = row[:10]
        ack = None if row[10] is None else self._open_ack(row[10:])
        envelope = open_envelope(self._cipher, place)
        header, body = envelope.header, envelope.body
        if not isinstance(body, MessageBody):  # the clear ``kind`` column was altered
            raise StoreCorruptError(f"the store's inbox message {message_id} is not a message")
        return InboxMessage(
            message_id,
            header.line_id,
            peer,
            header.direction,
            header.seq,
            header.precedence,
            body.text,
            header.sequenced_at_ms,
            stored_at,
            header.kind,
            None if ack is None else ack[0],
            None if ack is None else ack[1],
        )
