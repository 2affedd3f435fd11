"""The handshake timestamps: what the line layer must find again after a restart.

The replay defence (docs/protocol.md §2.4) needs, per paired peer, the last msg1 timestamp we
sent and the last we accepted, across restarts: otherwise a restarted station would accept a
recorded msg1 again. Each value only ever grows, so every write is ``max(old, new)`` in SQL:
two connections of one line reporting out of order cannot move a value back.

One transaction per method; each commits (with fsync, ``synchronous=FULL``) before returning,
so a timestamp is on disk before the msg1 carrying it is written to the network. This object
is used from the daemon's event loop (a timestamp must be durable before the msg1 leaves);
the operator's messages live in :class:`~hotline.store.Messages`, behind the store's thread.
A failed write raises :class:`~hotline.store.StoreWriteError` and changes nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from hotline.record import Direction

from ._chains import hash_at
from ._db import connect, transaction


@dataclass(frozen=True, slots=True)
class HandshakeRecord:
    """What the store knows about the handshakes with one peer.

    Attributes:
        last_sent: the last msg1 timestamp sent to the peer (0: none).
        last_accepted: the last msg1 timestamp accepted from the peer (0: none).
        last_handshake: when the last handshake with the peer completed, seconds since the
            epoch, or ``None``.
    """

    last_sent: int = 0
    last_accepted: int = 0
    last_handshake: float | None = None


class Store:
    """``hotline.db``, opened through :func:`hotline.store.connect`."""

    __slots__ = ("_db", "_path")

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        """Use :meth:`open`."""
        self._db = db
        self._path = path

    def __repr__(self) -> str:
        return f"Store({str(self._path)!r})"

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (or create) the store at ``path``.

        Raises:
            StoreError: see :func:`hotline.store.connect`.
        """
        return cls(connect(path), path)

    def close(self) -> None:
        """Close the database (a WAL checkpoint happens on the last close)."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def handshakes(self, peer_static: bytes) -> HandshakeRecord:
        """Return what is stored for the peer with static key ``peer_static`` (zeros if none).

        Raises:
            StoreError: the store cannot be read.
        """
        with transaction(self._db, self._path, write=False):
            row = self._db.execute(
                "SELECT last_sent, last_accepted, last_handshake FROM peer_handshake"
                " WHERE peer_static = ?",
                (peer_static,),
            ).fetchone()
        return HandshakeRecord() if row is None else HandshakeRecord(*row)

    def hash_at(self, line_id: bytes, direction: Direction, seq: int) -> bytes | None:
        """Return the envelope hash stored at ``(line_id, direction, seq)``, or None.

        Read on the event loop: an indexed lookup in WAL mode, which the store thread's
        commits never block.

        Raises:
            StoreError: the store cannot be read.
        """
        return hash_at(self._db, self._path, line_id, direction, seq)

    def record_sent(self, peer_static: bytes, timestamp: int) -> None:
        """Persist that a msg1 with ``timestamp`` was sent to the peer (kept if higher)."""
        self._upsert(peer_static, "last_sent", "MAX(last_sent, excluded.last_sent)", timestamp)

    def record_accepted(self, peer_static: bytes, timestamp: int) -> None:
        """Persist that a msg1 with ``timestamp`` was accepted from the peer (kept if higher)."""
        self._upsert(
            peer_static,
            "last_accepted",
            "MAX(last_accepted, excluded.last_accepted)",
            timestamp,
        )

    def record_handshake(self, peer_static: bytes, at: float) -> None:
        """Persist that a handshake with the peer completed at ``at`` (seconds since the epoch)."""
        self._upsert(peer_static, "last_handshake", "excluded.last_handshake", at)

    def _upsert(self, peer_static: bytes, column: str, merge: str, value: float) -> None:
        # ``column`` and ``merge`` come from the methods above, never from outside.
        statement = (
            f"INSERT INTO peer_handshake (peer_static, {column}) VALUES (?, ?)"  # noqa: S608
            f" ON CONFLICT (peer_static) DO UPDATE SET {column} = {merge}"
        )
        with transaction(self._db, self._path):
            self._db.execute(statement, (peer_static, value))
