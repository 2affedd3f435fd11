"""First contact on a listening socket: find the paired peer behind a msg1, or drop it silently.

The I/O layer gives each accepted stream an :class:`Acceptor` until it yields a result. It holds
nothing but the bytes of one msg1 (2 + 1672 bytes at most: the length prefix is checked the
moment it arrives), and deciding costs one HMAC-SHA512 per paired peer: no DH, no KEM, no
handshake object, no reply. Only for an identified peer does the caller build a
:class:`~hotline.session.Connection` (with that peer's stored timestamps) and feed it
:attr:`Identified.data`, which starts with the msg1 again; the connection re-checks the mac1
against that one peer.

Splitting first contact from the connection keeps the connection simple (one known peer from
its first byte) and keeps the per-peer store lookup in the caller, where the store lives.

The acceptor keeps no time: a client that sends one byte and stalls would hold it forever. The
I/O layer owns that deadline: its listener resets a stream that is not established
``HANDSHAKE_DEADLINE`` after accept, first contact included (docs/line.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.constants import LENGTH_PREFIX_LEN, MSG1_LEN
from hotline.handshake import PairedPeer, PeerTable
from hotline.noise import RemoteProtocolError

from ._wire import ReceiveBuffer, with_length


@dataclass(frozen=True, slots=True)
class Identified:
    """The first message came from a paired peer.

    Attributes:
        peer: who.
        data: every byte received so far (msg1 first), to feed to the new connection.
    """

    peer: PairedPeer
    data: bytes

    def __repr__(self) -> str:
        return f"Identified({self.peer!r}, {len(self.data)} bytes)"


@dataclass(frozen=True, slots=True)
class Rejected:
    """The first message was not a paired peer's msg1: close the stream without a word.

    Attributes:
        reason: for a debug counter, never for the peer.
    """

    reason: str


class Acceptor:
    """Reads the first message of an accepted stream and names the paired peer that sent it."""

    __slots__ = ("_buffer", "_table")

    def __init__(self, table: PeerTable) -> None:
        """Read against ``table`` (shared by every acceptor; it is immutable)."""
        self._table = table
        self._buffer = ReceiveBuffer()

    def __repr__(self) -> str:
        return f"Acceptor({len(self._buffer)} bytes)"

    def receive_data(self, data: bytes) -> Identified | Rejected | None:
        """Take bytes from the stream.

        Returns:
            ``None`` until the first message is complete, then the verdict. Call no more after
            a verdict.
        """
        needed = LENGTH_PREFIX_LEN + MSG1_LEN - len(self._buffer)
        self._buffer.feed(data[:needed])  # never more than one msg1 and its prefix
        rest = data[needed:]
        try:
            message = self._buffer.next_message(MSG1_LEN, MSG1_LEN)
        except RemoteProtocolError:
            self._buffer.take()
            return Rejected("first message has the wrong length")
        if message is None:
            return None
        peer = self._table.identify(message)
        if peer is None:
            return Rejected("no paired peer's mac1")
        return Identified(peer, with_length(message) + rest)
