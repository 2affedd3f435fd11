"""The ``.hstmt`` file: a signed statement with the card of its signer (record-format.md §9).

    hstmt = magic "\\x89HLS\\r\\n\\x1a\\n" || u8 version (1)
            || vbytes(card) (≤ 1 MiB) || vbytes(statement) (§9)

One self-contained file, like an export: whoever receives it holds the card to check the
signatures against, and compares the card's fingerprint with the one pinned out of band. The
card stays bytes here (the identity layer decodes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ._buffer import Reader, Writer
from ._errors import MalformedError, UnknownVersionError
from ._export import MAX_EXPORT_ITEM_LEN
from ._statement import MAX_STATEMENT_LEN, Statement

#: The export's magic with S for statement: a file says what it is before any byte is parsed.
STATEMENT_MAGIC: Final = b"\x89HLS\r\n\x1a\n"
STATEMENT_FILE_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class StatementFile:
    """A statement and the encoded card of the station that signed it.

    Attributes:
        card: the signer's card, as docs/identity.md §3 encodes it.
        statement: the signed statement.
    """

    card: bytes
    statement: Statement

    def encode(self) -> bytes:
        """Return the file's bytes."""
        writer = Writer()
        writer.push_bytes(STATEMENT_MAGIC)
        writer.push_u8(STATEMENT_FILE_VERSION)
        writer.push_vbytes(self.card)
        writer.push_vbytes(self.statement.encode())
        return writer.data

    @classmethod
    def decode(cls, data: bytes) -> StatementFile:
        """Decode a statement file (neither the card nor the signature is checked here).

        Raises:
            MalformedError: wrong magic, truncated, a length over its limit, trailing
                bytes, or a statement that does not decode.
            UnknownVersionError: a version other than 1.
        """
        if not data.startswith(STATEMENT_MAGIC):
            raise MalformedError("not a Hotline statement (wrong magic)")
        reader = Reader(data, "statement file")
        reader.pull_bytes(len(STATEMENT_MAGIC))
        if not reader.remaining:
            raise MalformedError("the statement file ends after its magic")
        version = reader.pull_u8()
        if version != STATEMENT_FILE_VERSION:
            raise UnknownVersionError(f"unknown statement file version {version}")
        card = reader.pull_vbytes(MAX_EXPORT_ITEM_LEN, "card")
        statement = Statement.decode(reader.pull_vbytes(MAX_STATEMENT_LEN, "statement"))
        reader.finish()
        return cls(card, statement)
