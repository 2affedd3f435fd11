"""Envelopes: the hash-chained wire form of a message (docs/record-format.md §3).

    header   = u8 version || line_id (64) || u8 direction || u64 seq || prev_hash (64)
               || cross (ref: u64 seq || hash) || u64 queued_at || u64 sequenced_at
               || u8 precedence || u8 kind || u32 body_len || body_hash (64)      (296 bytes)
    envelope = header || body

The header is what is hashed and chained (``H(LABEL_ENVELOPE, header)``); the body is committed
to by its hash and length, so an envelope redacted to its header still verifies. An
:class:`EnvelopeHeader` or :class:`Envelope` object always satisfies every rule of the format:
the constructors check them, so code holding one never has to ask.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

from hotline.constants import LABEL_BODY, LABEL_ENVELOPE, RECORD_VERSION

from ._body import MAX_BODY_LEN, MAX_BODY_LEN_BY_KIND, Body, decode_body
from ._buffer import Reader, as_code, check_time, check_u64
from ._codes import Direction, Kind, Precedence
from ._errors import BodyMismatchError, MalformedError, UnknownVersionError
from ._hashing import ZERO_HASH, ChainRef, check_hash, tagged_hash

#: The header is one fixed layout, so it is packed and unpacked in one step, field for field
#: as the table of docs/record-format.md §3.1 lists them (``s`` fields are fixed-size bytes).
#: version, line_id, direction, seq, prev_hash, cross.seq, cross.hash, queued_at,
#: sequenced_at, precedence, kind, body_len, body_hash.
_HEADER: Final = struct.Struct(">B64sBQ64sQ64sQQBBI64s")
#: The fixed size of an envelope header: 296 bytes.
ENVELOPE_HEADER_LEN: Final = _HEADER.size
#: The largest envelope on the wire: a header and the largest body.
MAX_ENVELOPE_LEN: Final = ENVELOPE_HEADER_LEN + MAX_BODY_LEN


@dataclass(frozen=True, slots=True)
class EnvelopeHeader:
    """The hashed, chained part of an envelope.

    Attributes:
        line_id: the line's id (64 bytes).
        direction: the chain this envelope belongs to.
        seq: its sequence number in that chain, from 1.
        prev_hash: the envelope hash of ``seq - 1``; 64 zero bytes for ``seq`` 1.
        cross: the latest envelope of the other direction its sender had stored when it
            sequenced this one (``GENESIS`` if none): the causal cross-link.
        queued_at_ms: when the message was durably queued (sender's clock, UTC ms).
        sequenced_at_ms: when it was sequenced (sender's clock, UTC ms).
        precedence: how urgently it goes.
        kind: what the body is.
        body_len: the body's length in bytes.
        body_hash: ``H(LABEL_BODY, body)``.
        encoded: the 296-byte encoding (derived).
        hash: the envelope hash, ``H(LABEL_ENVELOPE, encoded)`` (derived).
        ref: this envelope's position, its seq and hash (derived, asked for often).

    Raises:
        MalformedError: (on construction) a field breaks its rule (docs/record-format.md §3.1).
    """

    line_id: bytes
    direction: Direction
    seq: int
    prev_hash: bytes
    cross: ChainRef
    queued_at_ms: int
    sequenced_at_ms: int
    precedence: Precedence
    kind: Kind
    body_len: int
    body_hash: bytes
    encoded: bytes = field(init=False, repr=False, compare=False)
    hash: bytes = field(init=False, repr=False, compare=False)
    ref: ChainRef = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_hash(self.line_id, "line id")
        check_u64(self.seq, "seq")
        if self.seq == 0:
            raise MalformedError("envelope sequence numbers start at 1")
        check_hash(self.prev_hash, "previous hash")
        if (self.seq == 1) != (self.prev_hash == ZERO_HASH):
            raise MalformedError("the previous hash is zero exactly for envelope 1")
        check_time(self.queued_at_ms, "queued time")
        check_time(self.sequenced_at_ms, "sequenced time")
        # Codes arrive as enum members from the decoder; a caller's plain int is converted (or
        # refused), so the encoding below never writes a value outside its table.
        object.__setattr__(self, "direction", as_code(Direction, self.direction, "direction"))
        object.__setattr__(self, "precedence", as_code(Precedence, self.precedence, "precedence"))
        object.__setattr__(self, "kind", as_code(Kind, self.kind, "kind"))
        if not 0 <= self.body_len <= MAX_BODY_LEN_BY_KIND[self.kind]:
            raise MalformedError(
                f"a {self.kind.name} body is at most {MAX_BODY_LEN_BY_KIND[self.kind]} bytes,"
                f" not {self.body_len}"
            )
        check_hash(self.body_hash, "body hash")
        encoded = _HEADER.pack(
            RECORD_VERSION,
            self.line_id,
            self.direction,
            self.seq,
            self.prev_hash,
            self.cross.seq,
            self.cross.hash,
            self.queued_at_ms,
            self.sequenced_at_ms,
            self.precedence,
            self.kind,
            self.body_len,
            self.body_hash,
        )
        envelope_hash = tagged_hash(LABEL_ENVELOPE, encoded)
        object.__setattr__(self, "encoded", encoded)
        object.__setattr__(self, "hash", envelope_hash)
        object.__setattr__(self, "ref", ChainRef(self.seq, envelope_hash))

    def __repr__(self) -> str:
        return (
            f"EnvelopeHeader({self.direction.name} #{self.seq} {self.kind.name}"
            f" {self.precedence.name}, {self.hash[:8].hex()}…)"
        )

    @classmethod
    def decode(cls, data: bytes) -> EnvelopeHeader:
        """Decode a header alone (a redacted envelope).

        Raises:
            UnknownVersionError: the first byte is not ``RECORD_VERSION``.
            UnknownValueError: an unknown direction, precedence or kind.
            MalformedError: not exactly 296 bytes, or a field breaks its rule.
        """
        reader = _reader(data, "envelope header")
        header = cls.pull(reader)
        reader.finish()
        return header

    @classmethod
    def pull(cls, reader: Reader) -> EnvelopeHeader:
        """Read a header, version byte included."""
        (
            version,
            line_id,
            direction,
            seq,
            prev_hash,
            cross_seq,
            cross_hash,
            queued_at_ms,
            sequenced_at_ms,
            precedence,
            kind,
            body_len,
            body_hash,
        ) = _HEADER.unpack(reader.pull_bytes(ENVELOPE_HEADER_LEN))
        if version != RECORD_VERSION:
            raise UnknownVersionError(
                f"unknown record version {version} (this station reads version {RECORD_VERSION})"
            )
        return cls(
            line_id=line_id,
            direction=direction,
            seq=seq,
            prev_hash=prev_hash,
            cross=ChainRef(cross_seq, cross_hash),
            queued_at_ms=queued_at_ms,
            sequenced_at_ms=sequenced_at_ms,
            precedence=precedence,
            kind=kind,
            body_len=body_len,
            body_hash=body_hash,
        )


def _check_kind(header: EnvelopeHeader, body: Body) -> None:
    """Refuse a body that is not of the header's kind.

    Raises:
        BodyMismatchError: it is not.
    """
    if header.kind not in body.KINDS:
        raise BodyMismatchError(
            f"a {header.kind.name} envelope with another kind of body",
            seq=header.seq,
            item_hash=header.hash,
        )


def _reader(data: bytes, what: str) -> Reader:
    """Return a reader over ``data`` after the checks that come before any field."""
    if len(data) > MAX_ENVELOPE_LEN:
        raise MalformedError(f"malformed {what}: more than {MAX_ENVELOPE_LEN} bytes")
    if not data:
        raise MalformedError(f"malformed {what}: empty")
    return Reader(data, what)


@dataclass(frozen=True, slots=True)
class Envelope:
    """An envelope: its header and, unless redacted, its body.

    Attributes:
        header: the hashed, chained header.
        body: the body, or None when redacted (only in an export: on the wire it is always
            present).

    Raises:
        BodyMismatchError: (on construction) the body is not of the header's kind, or does not
            match ``body_len`` and ``body_hash``.
    """

    header: EnvelopeHeader
    body: Body | None

    def __post_init__(self) -> None:
        if self.body is None:
            return
        seq = self.header.seq
        _check_kind(self.header, self.body)
        data = self.body.encode()
        if (
            len(data) != self.header.body_len
            or tagged_hash(LABEL_BODY, data) != self.header.body_hash
        ):
            raise BodyMismatchError(
                f"the body of envelope {seq} does not match its header",
                seq=seq,
                item_hash=self.header.hash,
            )

    @classmethod
    def create(
        cls,
        *,
        line_id: bytes,
        direction: Direction,
        seq: int,
        prev_hash: bytes,
        cross: ChainRef,
        queued_at_ms: int,
        sequenced_at_ms: int,
        precedence: Precedence,
        kind: Kind,
        body: Body,
    ) -> Envelope:
        """Build an envelope around ``body``, computing its length and hash.

        Raises:
            MalformedError: a field breaks its rule.
            BodyMismatchError: the body does not suit ``kind``.
        """
        data = body.encode()
        header = EnvelopeHeader(
            line_id=line_id,
            direction=direction,
            seq=seq,
            prev_hash=prev_hash,
            cross=cross,
            queued_at_ms=queued_at_ms,
            sequenced_at_ms=sequenced_at_ms,
            precedence=precedence,
            kind=kind,
            body_len=len(data),
            body_hash=tagged_hash(LABEL_BODY, data),
        )
        _check_kind(header, body)
        # The header was just made from this body's encoding: the constructor's check would
        # only hash the body a second time (a sender does this for every message it sends).
        envelope = object.__new__(cls)
        object.__setattr__(envelope, "header", header)
        object.__setattr__(envelope, "body", body)
        return envelope

    @property
    def hash(self) -> bytes:
        """The envelope hash (of the header, which commits to the body)."""
        return self.header.hash

    @property
    def seq(self) -> int:
        """The envelope's sequence number."""
        return self.header.seq

    def encode(self) -> bytes:
        """Return the wire form, ``header || body``.

        Raises:
            ValueError: the envelope is redacted (it has no wire form; export it as a header).
        """
        if self.body is None:
            raise ValueError("a redacted envelope has no wire form")
        return self.header.encoded + self.body.encode()

    def redacted(self) -> Envelope:
        """Return this envelope without its body: every hash and signature still verifies."""
        return Envelope(self.header, None)

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        """Decode an envelope in wire form (body present).

        Raises:
            UnknownVersionError: the first byte is not ``RECORD_VERSION``.
            UnknownValueError: an unknown direction, precedence or kind.
            MalformedError: too long, truncated, a field breaking its rule, or trailing bytes.
            BodyMismatchError: the body does not match ``body_len`` or ``body_hash``.
        """
        reader = _reader(data, "envelope")
        header = EnvelopeHeader.pull(reader)
        if reader.remaining != header.body_len:
            raise BodyMismatchError(
                f"envelope {header.seq} announces a {header.body_len}-byte body,"
                f" {reader.remaining} bytes follow",
                seq=header.seq,
                item_hash=header.hash,
            )
        try:
            body = decode_body(header.kind, reader.pull_bytes(header.body_len))
        except MalformedError as exc:
            exc.seq, exc.item_hash = header.seq, header.hash
            raise
        return cls(header, body)
