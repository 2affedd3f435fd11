"""Recovery: our own envelopes learned back from the peer, checked and matched to the outbox.

A station restored from an older copy of its store does not know the envelopes it sent after
that copy; the peer gives them back (docs/protocol.md §4.6) and :meth:`Chains.recover` stores
them, so no seq is ever reused (docs/record-format.md §2). Two things are done here, inside
that one transaction:

- :func:`check_continuous`: a batch of envelopes (recovered, or the peer's delivered ones)
  must start right after the stored tip, link to it, be consecutive, and end under a head, so
  a caller's bug can never store a duplicate, a gap or an uncovered tail;
- :func:`reconcile_outbox`: each recovered envelope (a MESSAGE, TEST or ACK) takes the first
  outbox row still queued with its kind, precedence, ``queued_at`` and text (an ACK's body),
  which leaves the queue and gets the envelope as its own: a message sent before the restore
  is never sent twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from hotline.record import AckBody, ChainHead, ChainRef, Direction, Envelope, MessageBody

from ._errors import StoreError
from ._queue import QUEUED_ROWS
from ._sealing import RowCipher, new_message_id, open_outbox

#: Outbox rows by ``(precedence, queued_at_ms, kind)``: what an envelope header is matched on.
_Candidates = dict[tuple[int, int, int], list[tuple[Any, ...]]]


def check_continuous(
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


def reconcile_outbox(
    db: sqlite3.Connection,
    cipher: RowCipher,
    line_id: bytes,
    envelopes: Sequence[Envelope],
    peer: str | None,
) -> tuple[list[str], list[str], list[str], list[tuple[int, int]]]:
    """Match recovered envelopes to the line's queued outbox rows (inside a transaction).

    Args:
        db: the connection, in a write transaction.
        cipher: opens the outbox texts.
        line_id: the line.
        envelopes: our recovered envelopes, in order.
        peer: the peer's name for envelopes no row names (else the line's, from its rows).

    Returns:
        Per envelope its message id and peer name (a fresh id when no row matched); the ids
        of the rows matched; and their ``(precedence, position)``, to take off the queue.

    Raises:
        StoreCorruptError: an outbox row fails to open.
    """
    candidates: _Candidates = {}
    for row in db.execute(f"{QUEUED_ROWS} ORDER BY q.position", (line_id,)):
        candidates.setdefault((row[4], row[5], row[6]), []).append(row)
    fallback = peer if peer is not None else _peer_of(db, line_id)
    ids, peers, matched, taken = [], [], [], []
    for envelope in envelopes:
        row = _match(cipher, line_id, envelope, candidates)
        if row is None:
            ids.append(new_message_id().hex())
            peers.append(fallback)
        else:
            ids.append(row[2])
            peers.append(row[3])
            matched.append(row[2])
            taken.append((row[0], row[1]))
    return ids, peers, matched, taken


def _peer_of(db: sqlite3.Connection, line_id: bytes) -> str:
    """The peer's name as the line's rows give it ('' when the store holds none)."""
    row = db.execute(
        "SELECT peer FROM envelopes WHERE line_id = ?1"
        " UNION ALL SELECT peer FROM outbox WHERE line_id = ?1 LIMIT 1",
        (line_id,),
    ).fetchone()
    return "" if row is None else str(row[0])


def _match(
    cipher: RowCipher, line_id: bytes, envelope: Envelope, candidates: _Candidates
) -> tuple[Any, ...] | None:
    """Take the first queued outbox row ``envelope`` was made from, if any: one of its kind,
    precedence and queue time, whose sealed payload is the envelope's text (an ACK's: its
    body, salt included, which was made when it was queued)."""
    header, body = envelope.header, envelope.body
    if isinstance(body, AckBody):
        payload = body.encode()
    elif isinstance(body, MessageBody):
        payload = body.text.encode("utf-8")
    else:
        return None
    rows = candidates.get((int(header.precedence), header.queued_at_ms, int(header.kind)), [])
    for index, row in enumerate(rows):
        if open_outbox(cipher, line_id, row[2], row[7], row[8]) == payload:
            return rows.pop(index)
    return None
