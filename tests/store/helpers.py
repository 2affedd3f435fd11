"""Constants, a raw connection, and a peer sending real signed envelopes, for the store tests."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from hotline.record import (
    ChainHead,
    ChainWriter,
    Direction,
    Envelope,
    GapError,
    Kind,
    MessageBody,
    Nack,
    Precedence,
    Receipt,
    Subject,
)
from hotline.store import Chains

from ..record.helpers import signing_keys

#: Two lines (64-byte ids) and the key the tests seal with.
LINE = bytes(range(64))
OTHER_LINE = bytes(range(64, 128))
KEY = bytes(range(32))

#: This station ("washington") sends direction FIRST; its peer "moscow" sends SECOND.
OWN = signing_keys("washington")
PEER = signing_keys("moscow")
OWN_DIRECTION = Direction.FIRST
PEER_DIRECTION = Direction.SECOND
#: 2025-06-15T14:40:00Z in milliseconds.
T0 = 1_750_000_000_000


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, as someone with the file but not the keys would open it."""
    return sqlite3.connect(path, isolation_level=None)


def count(path: Path, table: str) -> int:
    """Rows of ``table``, read through a connection of its own (what is on disk)."""
    db = raw(path)
    try:
        value: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return value
    finally:
        db.close()


def peer_batch(
    chains: Chains,
    texts: Sequence[str],
    *,
    line: bytes = LINE,
    precedence: Precedence = Precedence.ROUTINE,
    kind: Kind = Kind.MESSAGE,
    sent_at_ms: int = T0,
) -> tuple[list[Envelope], ChainHead]:
    """The peer's next envelopes after what ``chains`` holds of its direction, and their head,
    as the peer sequences them: linked to the stored tip, cross-linked to our tip."""
    book = chains.book(line, OWN_DIRECTION)
    writer = ChainWriter(line, PEER_DIRECTION, tip=book.peer_tip, cross=book.peer_cross)
    envelopes = [
        writer.append(
            MessageBody.create(text),
            kind=kind,
            precedence=precedence,
            queued_at_ms=sent_at_ms - 5,
            sequenced_at_ms=sent_at_ms,
            cross=book.own_tip,
        )
        for text in texts
    ]
    return envelopes, writer.sign_head(PEER, sent_at_ms)


def deliver(
    chains: Chains,
    texts: Sequence[str],
    *,
    line: bytes = LINE,
    peer: str = "moscow",
    precedence: Precedence = Precedence.ROUTINE,
    kind: Kind = Kind.MESSAGE,
    sent_at_ms: int = T0,
    now_ms: int = T0 + 100,
) -> Receipt:
    """Deliver ``texts`` from the peer in one commit, as the courier does; return the receipt."""
    envelopes, head = peer_batch(
        chains, texts, line=line, precedence=precedence, kind=kind, sent_at_ms=sent_at_ms
    )
    return chains.deliver(
        line,
        PEER_DIRECTION,
        peer=peer,
        envelopes=envelopes,
        heads=[head],
        signer=OWN,
        now_ms=now_ms,
    )


def nack(direction: Direction, seq: int = 3, *, line: bytes = LINE) -> Nack:
    """A signed NACK refusing envelope ``seq`` of ``direction`` (a gap), by this station."""
    error = GapError(f"envelope {seq} arrived after {seq - 2}", seq=seq, item_hash=bytes(64))
    return Nack.refusing(
        OWN,
        error,
        line_id=line,
        direction=direction,
        subject=Subject.ENVELOPE,
        refused_at_ms=T0,
    )
