"""Envelope bodies: what the operator wrote, after a random salt (docs/record-format.md §3.2).

    MESSAGE, TEST:  salt (32) || text(MAX_TEXT_LEN) || u8 attachment_count (0 in version 1)
    ACK:            salt (32) || acked (ref) || text operator (1..64) || text note (0..1024)

The salt makes a body redacted to its hash unguessable: without it, the hash of "received" would
give a short body away. A body is hashed (``H(LABEL_BODY, body)``) into its envelope header, so
it can be dropped from an export without breaking any link or signature.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import ClassVar, Final

from hotline.constants import (
    BODY_SALT_LEN,
    MAX_ACK_NOTE_LEN,
    MAX_ATTACHMENTS,
    MAX_OPERATOR_NAME_LEN,
    MAX_TEXT_LEN,
    RECORD_HASH_LEN,
)

from ._buffer import Reader, Writer, encode_text
from ._codes import Kind
from ._errors import MalformedError
from ._hashing import ChainRef

#: Largest body of each kind: salt, then every field at its maximum with its length prefix.
MAX_MESSAGE_BODY_LEN: Final = BODY_SALT_LEN + 4 + MAX_TEXT_LEN + 1
MAX_ACK_BODY_LEN: Final = (
    BODY_SALT_LEN + 8 + RECORD_HASH_LEN + 4 + MAX_OPERATOR_NAME_LEN + 4 + MAX_ACK_NOTE_LEN
)
#: The largest body of any kind.
MAX_BODY_LEN: Final = max(MAX_MESSAGE_BODY_LEN, MAX_ACK_BODY_LEN)


def new_salt() -> bytes:
    """Return a fresh random salt for a body."""
    return secrets.token_bytes(BODY_SALT_LEN)


def _check_salt(salt: bytes) -> None:
    if len(salt) != BODY_SALT_LEN:
        raise MalformedError(f"a body salt is {BODY_SALT_LEN} bytes, not {len(salt)}")


@dataclass(frozen=True, slots=True)
class MessageBody:
    """The body of a MESSAGE or a TEST: the operator's text.

    Attributes:
        text: what the operator wrote, at most ``MAX_TEXT_LEN`` bytes of UTF-8 (not normalised:
            the bytes typed are the bytes signed).
        salt: 32 random bytes (see :meth:`create`).

    Raises:
        MalformedError: (on construction) the text is too long or not encodable, or the salt has
            the wrong size.
    """

    KINDS: ClassVar[frozenset[Kind]] = frozenset({Kind.MESSAGE, Kind.TEST})

    text: str
    salt: bytes = field(repr=False)
    #: The encoding, made once: a body is hashed, sealed at rest and sent, each from it.
    _encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_salt(self.salt)
        object.__setattr__(self, "salt", bytes(self.salt))  # immutable, as the encoding is
        writer = Writer()
        writer.push_bytes(self.salt)
        writer.push_vbytes(encode_text(self.text, MAX_TEXT_LEN, "text"))
        writer.push_u8(0)  # attachment_count: none in version 1
        object.__setattr__(self, "_encoded", writer.data)

    def __repr__(self) -> str:
        # What operators wrote is encrypted at rest: it never reaches a log through a repr.
        return f"MessageBody({len(self.text)} characters)"

    @classmethod
    def create(cls, text: str) -> MessageBody:
        """Return the body of ``text`` with a fresh random salt."""
        return cls(text, new_salt())

    def encode(self) -> bytes:
        """Return the body's encoding (what ``body_hash`` hashes)."""
        return self._encoded

    @classmethod
    def pull(cls, reader: Reader) -> MessageBody:
        """Read a message body (the caller checks that nothing trails)."""
        salt = reader.pull_bytes(BODY_SALT_LEN)
        text = reader.pull_text(MAX_TEXT_LEN, "text")
        count = reader.pull_u8()
        if count > MAX_ATTACHMENTS:
            raise reader.fail(f"{count} attachments; version 1 carries none")
        return cls(text, salt)


@dataclass(frozen=True, slots=True)
class AckBody:
    """The body of an ACK: an operator's "seen and acted on" for an envelope of the other
    direction.

    Attributes:
        acked: the acknowledged envelope (of the other direction): its seq (≥ 1) and hash.
        operator: who acknowledged, 1 to ``MAX_OPERATOR_NAME_LEN`` bytes of UTF-8.
        note: an optional note, at most ``MAX_ACK_NOTE_LEN`` bytes of UTF-8.
        salt: 32 random bytes.

    Raises:
        MalformedError: (on construction) a field breaks its rule.
    """

    KINDS: ClassVar[frozenset[Kind]] = frozenset({Kind.ACK})

    acked: ChainRef
    operator: str
    note: str
    salt: bytes = field(repr=False)
    #: The encoding, made once (as a message body's).
    _encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_salt(self.salt)
        object.__setattr__(self, "salt", bytes(self.salt))  # immutable, as the encoding is
        if self.acked.seq == 0:
            raise MalformedError("an acknowledgement names an envelope (seq ≥ 1)")
        operator = encode_text(self.operator, MAX_OPERATOR_NAME_LEN, "operator name")
        if not operator:
            raise MalformedError("an acknowledgement names its operator")
        writer = Writer()
        writer.push_bytes(self.salt)
        self.acked.push(writer)
        writer.push_vbytes(operator)
        writer.push_vbytes(encode_text(self.note, MAX_ACK_NOTE_LEN, "note"))
        object.__setattr__(self, "_encoded", writer.data)

    def __repr__(self) -> str:
        return f"AckBody(of #{self.acked.seq}, {len(self.note)} characters of note)"

    @classmethod
    def create(cls, acked: ChainRef, operator: str, note: str = "") -> AckBody:
        """Return an acknowledgement of ``acked`` with a fresh random salt."""
        return cls(acked, operator, note, new_salt())

    def encode(self) -> bytes:
        """Return the body's encoding (what ``body_hash`` hashes)."""
        return self._encoded

    @classmethod
    def pull(cls, reader: Reader) -> AckBody:
        """Read an acknowledgement body (the caller checks that nothing trails)."""
        salt = reader.pull_bytes(BODY_SALT_LEN)
        acked = ChainRef.pull(reader)
        operator = reader.pull_text(MAX_OPERATOR_NAME_LEN, "operator name")
        note = reader.pull_text(MAX_ACK_NOTE_LEN, "note")
        return cls(acked, operator, note, salt)


#: Any body.
Body = MessageBody | AckBody

#: The largest body each kind may have: a header announcing more is refused unread.
MAX_BODY_LEN_BY_KIND: Final = {
    Kind.MESSAGE: MAX_MESSAGE_BODY_LEN,
    Kind.TEST: MAX_MESSAGE_BODY_LEN,
    Kind.ACK: MAX_ACK_BODY_LEN,
}


def decode_body(kind: Kind, data: bytes) -> Body:
    """Decode the body of an envelope of ``kind``.

    Raises:
        MalformedError: the bytes are not a body of that kind, or bytes trail.
    """
    reader = Reader(data, f"{kind.name.lower()} body")
    body: Body = AckBody.pull(reader) if kind is Kind.ACK else MessageBody.pull(reader)
    reader.finish()
    return body
