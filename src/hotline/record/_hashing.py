"""Hashes of the record, and :class:`ChainRef`, a position in one direction's chain.

Every hash is ``SHA-512(label || encoding)`` with its own label (docs/record-format.md §1), so a
hash computed for one purpose can never be presented as another. A position is ``u64 seq ||
hash`` (72 bytes); ``GENESIS`` = ``(0, ZERO)`` is "nothing yet", before envelope 1.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from hotline.constants import LABEL_RECORD, RECORD_HASH_LEN

from ._buffer import Reader, Writer, check_u64
from ._errors import MalformedError

#: "No hash": the previous hash of envelope 1, the hash of an empty position.
ZERO_HASH: Final = bytes(RECORD_HASH_LEN)


def tagged_hash(label: bytes, data: bytes) -> bytes:
    """Return ``SHA-512(label || data)``, 64 bytes."""
    digest = hashlib.sha512(label)
    digest.update(data)
    return digest.digest()


def check_hash(value: bytes, field: str) -> None:
    """Refuse a hash that is not 64 bytes (a line id is a SHA-512 hash too).

    Raises:
        MalformedError: wrong length.
    """
    if len(value) != RECORD_HASH_LEN:
        raise MalformedError(f"{field} is {len(value)} bytes, not {RECORD_HASH_LEN}")


@dataclass(frozen=True, slots=True)
class ChainRef:
    """A position in one direction's chain: a sequence number and the envelope hash there.

    Attributes:
        seq: the sequence number; 0 means "no envelope yet".
        hash: the envelope hash at ``seq``; :data:`ZERO_HASH` exactly when ``seq`` is 0.

    Raises:
        MalformedError: (on construction) sizes out of range, or a zero seq with a hash (or a
            non-zero seq without one).
    """

    seq: int
    hash: bytes

    def __post_init__(self) -> None:
        check_u64(self.seq, "seq")
        check_hash(self.hash, "hash")
        if (self.seq == 0) != (self.hash == ZERO_HASH):
            raise MalformedError("a position has seq 0 exactly when its hash is zero")

    def __repr__(self) -> str:
        return f"ChainRef({self.seq}, {self.hash[:8].hex()}…)"

    def push(self, writer: Writer) -> None:
        """Write the 72-byte encoding: ``u64 seq || hash``."""
        writer.push_u64(self.seq)
        writer.push_bytes(self.hash)

    @classmethod
    def pull(cls, reader: Reader) -> ChainRef:
        """Read a position.

        Raises:
            MalformedError: truncated, or seq and hash disagree about being empty.
        """
        return cls(reader.pull_u64(), reader.pull_bytes(RECORD_HASH_LEN))


#: The position before envelope 1 of any chain.
GENESIS: Final = ChainRef(0, ZERO_HASH)


def record_hash(line_id: bytes, tip_first: ChainRef, tip_second: ChainRef) -> bytes:
    """Return the record hash of a line (docs/record-format.md §10).

    ``SHA-512(LABEL_RECORD || line_id || tip_0 || tip_1)``: two stations holding the same
    envelopes in both directions compute the same 64 bytes, because each tip's hash commits to
    every header and body of its chain.

    Args:
        line_id: the line's id (64 bytes).
        tip_first: the last envelope of direction 0 (``GENESIS`` if none).
        tip_second: the last envelope of direction 1 (``GENESIS`` if none).

    Raises:
        MalformedError: the line id is not 64 bytes.
    """
    check_hash(line_id, "line id")
    writer = Writer()
    writer.push_bytes(line_id)
    tip_first.push(writer)
    tip_second.push(writer)
    return tagged_hash(LABEL_RECORD, writer.data)
