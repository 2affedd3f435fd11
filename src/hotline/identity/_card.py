"""The card: a station's public identity, self-signed, exchanged out of band at pairing.

Encoding (docs/identity.md §2), all integers big-endian, ``vecN`` = N-byte length then bytes::

    body = u8 version (1)
         || vec1 name || vec2 x25519 || vec2 ed25519 || vec2 mldsa87     (the "identity")
         || u8 count || count * vec1 address
    card = body || vec2 ed25519_signature || vec2 mldsa87_signature

Ed25519 signs ``LABEL_CARD || body``; ML-DSA-87 signs ``body`` with context ``LABEL_CARD``.
The encoding is canonical: one card has exactly one byte string, and decoding accepts nothing
else (fixed sizes, no trailing bytes), so ``Card.decode(b).encode() == b``.

A :class:`Card` object always holds two valid self-signatures: the constructor verifies them,
so code that receives a ``Card`` never has to ask whether it was checked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from hotline.constants import (
    ED25519_SIGNATURE_LEN,
    LABEL_CARD,
    LABEL_LINE_ID,
    MLDSA87_SIGNATURE_LEN,
    X25519_KEY_LEN,
)

from ._armour import armour, dearmour
from ._codec import Reader, encode_uint, encode_vec
from ._constants import (
    CARD_VERSION,
    ED25519_PUBLIC_LEN,
    MAX_ADDRESS_LEN,
    MAX_ADDRESSES,
    MAX_CARD_LEN,
    MAX_KEY_FIELD_LEN,
    MAX_NAME_LEN,
    MLDSA87_PUBLIC_LEN,
)
from ._errors import CardFormatError, CardPostQuantumError, CardSignatureError, CardVersionError
from ._fingerprint import Fingerprint, encode_identity
from ._keys import PublicKeys, StationKeys
from ._names import check_address, check_station_name


def encode_card_body(name: str, keys: PublicKeys, addresses: tuple[str, ...]) -> bytes:
    """Return the signed part of a card (everything but the two signatures)."""
    return (
        encode_uint(CARD_VERSION, 1)
        + encode_identity(name, keys)
        + encode_uint(len(addresses), 1)
        + b"".join(encode_vec(address.encode("ascii"), 1) for address in addresses)
    )


def _check_fields(name: str, addresses: tuple[str, ...]) -> None:
    """Apply the name and address rules, as a card format error."""
    try:
        check_station_name(name)
        for address in addresses:
            check_address(address)
    except ValueError as exc:
        raise CardFormatError(f"malformed card: {exc}") from None
    if len(addresses) > MAX_ADDRESSES:
        raise CardFormatError(f"malformed card: more than {MAX_ADDRESSES} addresses")
    if len(set(addresses)) != len(addresses):
        raise CardFormatError("malformed card: an address is listed twice")


@dataclass(frozen=True, slots=True)
class Card:
    """A station's self-signed public identity.

    Attributes:
        name: the station name (``[a-z0-9][a-z0-9._-]*``, at most 64 bytes).
        keys: the three public keys.
        addresses: where the station listens, ``host:port``, at most 8, in preference order.
        ed25519_signature: Ed25519 over ``LABEL_CARD || body``.
        mldsa87_signature: ML-DSA-87 over ``body``, context ``LABEL_CARD``.

    Raises:
        CardFormatError: (on construction) a name or address breaks the rules.
        CardSignatureError: (on construction) a self-signature does not verify.
    """

    name: str
    keys: PublicKeys
    addresses: tuple[str, ...]
    ed25519_signature: bytes = field(repr=False)
    mldsa87_signature: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_fields(self.name, self.addresses)
        if not self.keys.verify(
            LABEL_CARD, self.body, self.ed25519_signature, self.mldsa87_signature
        ):
            raise CardSignatureError(
                f"the card of {self.name!r} has a bad self-signature: it was altered or forged"
            )

    @classmethod
    def create(cls, keys: StationKeys, name: str, addresses: tuple[str, ...]) -> Card:
        """Return the card of a station, signed with its keys.

        Raises:
            CardFormatError: a name or address breaks the rules.
        """
        _check_fields(name, addresses)
        ed25519_sig, mldsa87_sig = keys.sign(
            LABEL_CARD, encode_card_body(name, keys.public, addresses)
        )
        return cls(name, keys.public, addresses, ed25519_sig, mldsa87_sig)

    @property
    def body(self) -> bytes:
        """The signed bytes: everything but the signatures."""
        return encode_card_body(self.name, self.keys, self.addresses)

    @property
    def fingerprint(self) -> Fingerprint:
        """The fingerprint of the station's name and public keys (not its addresses)."""
        return Fingerprint.of(self.name, self.keys)

    def encode(self) -> bytes:
        """Return the canonical encoding of the card, signatures included."""
        return (
            self.body
            + encode_vec(self.ed25519_signature, 2)
            + encode_vec(self.mldsa87_signature, 2)
        )

    def armour(self) -> str:
        """Return the card as text that survives e-mail and copy-paste (see :func:`armour`)."""
        return armour(self.encode())

    @classmethod
    def from_armour(cls, text: str) -> Card:
        """Decode and verify an armoured card, tolerant of what mail clients do to text.

        Raises:
            CardFormatError: no armour, a damaged checksum, or a malformed card.
            CardVersionError, CardPostQuantumError, CardSignatureError: as :meth:`decode`.
        """
        return cls.decode(dearmour(text))

    @classmethod
    def decode(cls, data: bytes) -> Card:
        """Decode and verify a card.

        Checks run in the order that gives the most useful message: the version first (a
        future card is "unknown version", not "malformed"), then the structure, then the
        presence of the post-quantum key and signature, then both signatures.

        Raises:
            CardVersionError: the version byte is not 1.
            CardFormatError: a field is malformed, too long, or bytes trail.
            CardPostQuantumError: the ML-DSA-87 key or signature is absent (empty).
            CardSignatureError: a self-signature does not verify.
        """
        if data and data[0] != CARD_VERSION:
            raise CardVersionError(
                f"unknown card version {data[0]} (this station reads version {CARD_VERSION})"
            )
        if len(data) > MAX_CARD_LEN:
            raise CardFormatError(f"malformed card: more than {MAX_CARD_LEN} bytes")
        reader = Reader(data, CardFormatError, "card")
        reader.pull_uint(1)
        name = _ascii(reader, reader.pull_vec(1, MAX_NAME_LEN, "name"), "name")
        x25519 = _key(reader, "X25519 key", X25519_KEY_LEN)
        ed25519 = _key(reader, "Ed25519 key", ED25519_PUBLIC_LEN)
        mldsa87 = _key(reader, "ML-DSA-87 key", MLDSA87_PUBLIC_LEN, post_quantum=True)
        count = reader.pull_uint(1)
        if count > MAX_ADDRESSES:
            raise reader.fail(f"{count} addresses, more than {MAX_ADDRESSES}")
        addresses = tuple(
            _ascii(reader, reader.pull_vec(1, MAX_ADDRESS_LEN, "address"), "address")
            for _ in range(count)
        )
        ed25519_sig = _key(reader, "Ed25519 signature", ED25519_SIGNATURE_LEN)
        mldsa87_sig = _key(reader, "ML-DSA-87 signature", MLDSA87_SIGNATURE_LEN, post_quantum=True)
        reader.finish()
        keys = PublicKeys(x25519=x25519, ed25519=ed25519, mldsa87=mldsa87)
        return cls(name, keys, addresses, ed25519_sig, mldsa87_sig)


def _key(reader: Reader, field_name: str, size: int, *, post_quantum: bool = False) -> bytes:
    """Pull a 2-byte-prefixed key or signature of exactly ``size`` bytes."""
    value = reader.pull_vec(2, MAX_KEY_FIELD_LEN, field_name)
    if not value and post_quantum:
        raise CardPostQuantumError(
            f"the card has no {field_name}: refused, a card must be post-quantum signed"
        )
    if len(value) != size:
        raise reader.fail(f"{field_name} is {len(value)} bytes, expected {size}")
    return value


def _ascii(reader: Reader, value: bytes, field_name: str) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise reader.fail(f"the {field_name} is not ASCII") from None


def line_id(a: Card, b: Card) -> bytes:
    """Return the 64-byte id of the line between two stations, the same seen from either end.

    ``SHA-512(LABEL_LINE_ID || min(da, db) || max(da, db))`` where ``da``, ``db`` are the raw
    64-byte fingerprint digests of the two cards, ordered as byte strings.
    """
    low, high = sorted((a.fingerprint.digest, b.fingerprint.digest))
    return hashlib.sha512(LABEL_LINE_ID + low + high).digest()
