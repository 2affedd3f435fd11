"""A second, deliberately naive implementation of docs/identity.md, written from the document.

Tests compare the real codecs with these functions, so a change to either the code or the
document that makes them disagree fails; and they build malformed cards the real encoder
refuses to produce.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

LABEL_CARD = b"hotline/1 card"
LABEL_FINGERPRINT = b"hotline/1 fingerprint"
LABEL_LINE_ID = b"hotline/1 line id"


def vec(data: bytes, prefix: int) -> bytes:
    """``prefix``-byte big-endian length, then the bytes."""
    return struct.pack({1: ">B", 2: ">H", 4: ">I"}[prefix], len(data)) + data


def identity(name: bytes, x25519: bytes, ed25519: bytes, mldsa87: bytes) -> bytes:
    return vec(name, 1) + vec(x25519, 2) + vec(ed25519, 2) + vec(mldsa87, 2)


def card_body(  # noqa: PLR0917 (the fields in specification order)
    name: bytes,
    x25519: bytes,
    ed25519: bytes,
    mldsa87: bytes,
    addresses: list[bytes],
    version: int = 1,
) -> bytes:
    return (
        bytes([version])
        + identity(name, x25519, ed25519, mldsa87)
        + bytes([len(addresses)])
        + b"".join(vec(a, 1) for a in addresses)
    )


def card(body: bytes, ed25519_sig: bytes, mldsa87_sig: bytes) -> bytes:
    return body + vec(ed25519_sig, 2) + vec(mldsa87_sig, 2)


def fingerprint_digits(name: bytes, x25519: bytes, ed25519: bytes, mldsa87: bytes) -> str:
    digest = hashlib.sha512(LABEL_FINGERPRINT + identity(name, x25519, ed25519, mldsa87)).digest()
    number = int.from_bytes(digest, "big") % 10**40
    return str(number).zfill(40)


def line_id(digest_a: bytes, digest_b: bytes) -> bytes:
    low, high = sorted([digest_a, digest_b])
    return hashlib.sha512(LABEL_LINE_ID + low + high).digest()


def peers_mac(key: bytes, rows: list[tuple[bytes, str, str | None]]) -> str:
    message = struct.pack(">BI", 1, len(rows))
    for card_bytes, paired_at, revoked_at in rows:
        message += (
            vec(card_bytes, 4) + vec(paired_at.encode(), 1) + vec((revoked_at or "").encode(), 1)
        )
    return hmac.new(key, message, hashlib.sha512).hexdigest()
