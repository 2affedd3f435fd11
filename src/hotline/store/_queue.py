"""The queue: outbox rows waiting to be sequenced, and the lines this station sends on.

An outbox row never changes after it is queued (docs/api.md §4). Queueing also puts its
position in ``queue``, keyed in sending order (line, precedence highest first, position);
sequencing takes rows from the front and deletes them in the commit that stores their
envelopes, and recovery deletes the rows it matches to recovered envelopes. So a message is
queued exactly while its row is in ``queue``, and every statement here touches one small row,
not the outbox row with its indexes. A queue row copies its outbox row's peer and queue time:
the watch counts the backlog every second from the queue alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Final

from hotline.record import Direction

#: A line's queued rows with their texts: ``(queue precedence, position, id, peer,
#: precedence, queued_at_ms, kind, nonce, body)``; the caller orders them. The queue's copy of
#: the precedence orders and names the queue row; the envelope takes the outbox row's. The
#: text is LEFT JOINed, so a row that lost it reaches :func:`~._sealing.open_outbox`, which
#: reports it.
QUEUED_ROWS: Final = (
    "SELECT q.precedence, q.position, o.id, o.peer, o.precedence, o.queued_at_ms, o.kind,"
    " t.nonce, t.body"
    " FROM queue AS q JOIN outbox AS o ON o.position = q.position"
    " LEFT JOIN outbox_texts AS t ON t.position = q.position WHERE q.line_id = ?"
)


def dequeue(
    db: sqlite3.Connection, line_id: bytes, direction: Direction, taken: Iterable[tuple[int, int]]
) -> None:
    """Take ``(precedence, position)`` rows of the line off the queue, now that envelopes of
    ``direction`` hold them (inside the caller's write transaction)."""
    db.executemany(
        "DELETE FROM queue WHERE line_id = ? AND precedence = ? AND position = ?",
        [(line_id, precedence, position) for precedence, position in taken],
    )
    db.execute(
        "INSERT OR IGNORE INTO sending (line_id, direction) VALUES (?, ?)",
        (line_id, int(direction)),
    )
