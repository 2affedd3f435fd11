"""The store checks its own record: every stored envelope where its chain says it is.

Someone who can write ``hotline.db`` but holds no key can still delete a message, move one, or
insert one. Each leaves a mark the chain makes visible: a missing seq (``GAP``), a header or
body that is not the one of its row (a move: the sealed body is bound to its place, §12), a
``prev_hash`` that does not link (``BROKEN_CHAIN``), a tip no stored head signed for
(``UNCOVERED``, ``BAD_SIGNATURE``). The courier runs this walk when a line's first session
starts and from where it stopped at every later one, and refuses to go on over a damaged record.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hotline.record import (
    GENESIS,
    BadSignatureError,
    BrokenChainError,
    ChainHead,
    ChainRef,
    Direction,
    GapError,
    MalformedError,
    RejectionError,
    UncoveredError,
)
from hotline.signatures import VerifyKeys

from ._db import transaction
from ._errors import StoreCorruptError
from ._rows import decoded
from ._sealing import ENVELOPE_COLUMNS, RowCipher, open_envelope


@dataclass(frozen=True, slots=True)
class Audit:
    """What a walk over one direction found.

    Attributes:
        good: the last envelope that checked (where the next walk may start).
        damage: the first problem found, as the refusal a peer would get for it, or None.
    """

    good: ChainRef
    damage: RejectionError | None


def audit_chain(
    db: sqlite3.Connection,
    path: Path,
    cipher: RowCipher,
    line_id: bytes,
    *,
    direction: Direction,
    keys: VerifyKeys,
    after: ChainRef = GENESIS,
) -> Audit:
    """Walk the stored envelopes of ``direction`` after ``after``; check links and the last head.

    Args:
        db: the store's connection; path and cipher as for the other store calls.
        line_id: the line.
        direction: the direction to walk.
        keys: the signing keys of the station that sends ``direction`` (its last head's).
        after: an envelope a previous walk checked (``GENESIS``: from the start).
    """
    previous = after
    with transaction(db, path, write=False):
        rows = db.execute(
            f"SELECT {ENVELOPE_COLUMNS} FROM envelopes"  # noqa: S608
            " WHERE line_id = ? AND direction = ? AND seq > ? ORDER BY seq",
            (line_id, int(direction), after.seq),
        )
        for row in rows:
            seq = row[2]
            if seq != previous.seq + 1:
                return Audit(
                    previous, GapError(f"the stored chain lacks #{previous.seq + 1}", seq=seq)
                )
            try:
                envelope = open_envelope(cipher, row)
            except StoreCorruptError as exc:
                return Audit(previous, MalformedError(str(exc), seq=seq))
            if envelope.header.prev_hash != previous.hash:
                return Audit(
                    previous,
                    BrokenChainError(
                        f"stored envelope #{seq} does not link to #{previous.seq}",
                        seq=seq,
                        item_hash=envelope.hash,
                    ),
                )
            previous = envelope.header.ref
        if previous == after:
            return Audit(previous, None)
        item = db.execute(
            "SELECT item FROM heads WHERE line_id = ? AND direction = ? ORDER BY seq DESC LIMIT 1",
            (line_id, int(direction)),
        ).fetchone()
    return Audit(previous, _check_head(item, previous, keys))


def _check_head(
    item: tuple[bytes] | None, tip: ChainRef, keys: VerifyKeys
) -> RejectionError | None:
    """The last stored head must sign the stored tip: an envelope inserted after it has none."""
    if item is None:
        return UncoveredError(f"no stored head covers #{tip.seq}", seq=tip.seq, item_hash=tip.hash)
    head = decoded(ChainHead.decode, item[0], "chain head")
    if head.ref != tip:
        return UncoveredError(
            f"the last stored head names #{head.seq}, the stored chain ends at #{tip.seq}",
            seq=tip.seq,
            item_hash=tip.hash,
        )
    if not head.verify(keys):
        return BadSignatureError(
            f"the stored head at #{head.seq} does not verify", seq=head.seq, item_hash=tip.hash
        )
    return None
