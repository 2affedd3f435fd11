"""Two fixed stations, a line between them, and chains built the way a sender builds them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA87PrivateKey

from hotline.record import (
    GENESIS,
    ChainHead,
    ChainRef,
    ChainWriter,
    Direction,
    Envelope,
    Kind,
    MessageBody,
    Precedence,
)
from hotline.signatures import SigningKeys, VerifyKeys

#: 2025-06-15T14:40:00Z in milliseconds: every test time counts from here.
T0 = 1_750_000_000_000


def fixed(label: str, n: int) -> bytes:
    """``n`` fixed bytes named by ``label`` (SHA-512 based, so anyone can regenerate them)."""
    return hashlib.sha512(b"hotline record kat " + label.encode()).digest()[:n]


def signing_keys(name: str) -> SigningKeys:
    """Deterministic signing keys for a test station."""
    return SigningKeys(
        Ed25519PrivateKey.from_private_bytes(fixed(f"{name} ed25519", 32)),
        MLDSA87PrivateKey.from_seed_bytes(fixed(f"{name} mldsa87", 32)),
    )


@dataclass(frozen=True)
class Station:
    name: str
    keys: SigningKeys
    public: VerifyKeys
    direction: Direction


def make_station(name: str, direction: Direction) -> Station:
    keys = signing_keys(name)
    return Station(name, keys, keys.public(), direction)


FIRST = make_station("alpha", Direction.FIRST)
SECOND = make_station("bravo", Direction.SECOND)
LINE_ID = fixed("line id", 64)
OTHER_LINE_ID = fixed("another line", 64)


def message(text: str, index: int = 0) -> MessageBody:
    """A message body with a fixed salt, so runs are reproducible."""
    return MessageBody(text, fixed(f"salt {text} {index}", 32))


def build_chain(
    count: int,
    *,
    station: Station = FIRST,
    crosses: Sequence[ChainRef] | None = None,
    start: ChainRef = GENESIS,
    line_id: bytes = LINE_ID,
) -> list[Envelope]:
    """``count`` MESSAGE envelopes of ``station``'s direction, one per millisecond."""
    writer = ChainWriter(line_id, station.direction, tip=start)
    envelopes = []
    for i in range(count):
        envelopes.append(
            writer.append(
                message(f"message {start.seq + i + 1}", i),
                kind=Kind.MESSAGE,
                precedence=Precedence(i % 4),
                queued_at_ms=T0 + i,
                sequenced_at_ms=T0 + i + 1,
                cross=crosses[i] if crosses else GENESIS,
            )
        )
    return envelopes


def head_of(envelope: Envelope, station: Station = FIRST, *, line_id: bytes = LINE_ID) -> ChainHead:
    """The signed head at ``envelope``, by ``station``."""
    return ChainHead.create(
        station.keys,
        line_id=line_id,
        direction=envelope.header.direction,
        head=envelope.header.ref,
        signed_at_ms=envelope.header.sequenced_at_ms + 1,
    )
