"""Checkpoints: both stations sign the heads of both directions with both times (§8).

    checkpoint_body = line_id (64) || u8 proposer || u64 number || head_0 (ref) || head_1 (ref)
                      || u64 proposed_at || u64 cosigned_at
    checkpoint      = checkpoint_body || sig_0 || sig_1     (LABEL_CHECKPOINT; sig_d by the
                                                              station of direction d)

The exchange is propose (the body with ``cosigned_at`` 0, unsigned) → co-sign (``cosigned_at``
and the co-signer's signature) → counter-sign (the proposer's signature over the same body).
Each side signs only if the other's time agrees with its clock (:func:`clock_agrees`). A
checkpoint signed by both fixes the shared history up to its heads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from hotline.constants import LABEL_CHECKPOINT, RECORD_HASH_LEN
from hotline.signatures import HYBRID_SIGNATURE_LEN, HybridSignature, VerifyKeys

from ._buffer import Reader, Writer, as_code, check_u64
from ._codes import Direction
from ._errors import MalformedError
from ._hashing import ChainRef, check_hash
from ._signed import Signer, pull_signature

#: line id, proposer, number, two refs, two times.
CHECKPOINT_BODY_LEN: Final = 64 + 1 + 8 + 2 * (8 + RECORD_HASH_LEN) + 8 + 8
CHECKPOINT_LEN: Final = CHECKPOINT_BODY_LEN + 2 * HYBRID_SIGNATURE_LEN
#: The highest checkpoint number (record-format §8). A station proposes at most one every few
#: seconds, so no honest number comes near it; a number past it is the word of a hostile peer.
#: It fits SQLite's signed 64-bit INTEGER and a JSON number exactly.
MAX_CHECKPOINT_NUMBER: Final = 2**53


@dataclass(frozen=True, slots=True)
class CheckpointBody:
    """What both stations sign: the heads of both directions and both times.

    Attributes:
        line_id: the line's id.
        proposer: the direction of the proposing station.
        number: the proposer's count of its checkpoints, 1 to ``MAX_CHECKPOINT_NUMBER`` (so
            crossing proposals never share a name).
        heads: the latest covered envelope of direction 0 and of direction 1 (``GENESIS`` for
            an empty direction).
        proposed_at_ms: the proposer's clock when it proposed (UTC ms).
        cosigned_at_ms: the co-signer's clock when it co-signed; 0 in a proposal.

    Raises:
        MalformedError: (on construction) a field breaks its rule.
    """

    line_id: bytes
    proposer: Direction
    number: int
    heads: tuple[ChainRef, ChainRef]
    proposed_at_ms: int
    cosigned_at_ms: int

    def __post_init__(self) -> None:
        check_hash(self.line_id, "line id")
        object.__setattr__(self, "proposer", as_code(Direction, self.proposer, "proposer"))
        if not 1 <= self.number <= MAX_CHECKPOINT_NUMBER:
            raise MalformedError(f"checkpoints are numbered 1 to 2**53, not {self.number}")
        if len(self.heads) != len(Direction):
            raise MalformedError("a checkpoint names the heads of both directions")
        check_u64(self.proposed_at_ms, "proposal time")
        check_u64(self.cosigned_at_ms, "co-signing time")

    def head(self, direction: Direction) -> ChainRef:
        """The head of ``direction`` this checkpoint fixes."""
        return self.heads[direction]

    def cosigned(self, cosigned_at_ms: int) -> CheckpointBody:
        """Return the body with the co-signer's time filled in (what both sides sign)."""
        return dataclasses.replace(self, cosigned_at_ms=cosigned_at_ms)

    def encode(self) -> bytes:
        """Return the 233-byte encoding, the signed message."""
        writer = Writer()
        writer.push_bytes(self.line_id)
        writer.push_u8(self.proposer)
        writer.push_u64(self.number)
        for head in self.heads:
            head.push(writer)
        writer.push_u64(self.proposed_at_ms)
        writer.push_u64(self.cosigned_at_ms)
        return writer.data

    @classmethod
    def pull(cls, reader: Reader) -> CheckpointBody:
        """Read a body."""
        return cls(
            line_id=reader.pull_bytes(RECORD_HASH_LEN),
            proposer=reader.pull_code(Direction, "proposer"),
            number=reader.pull_u64(),
            heads=(ChainRef.pull(reader), ChainRef.pull(reader)),
            proposed_at_ms=reader.pull_u64(),
            cosigned_at_ms=reader.pull_u64(),
        )

    @classmethod
    def decode(cls, data: bytes) -> CheckpointBody:
        """Decode a body alone (a proposal).

        Raises:
            MalformedError: not exactly 233 bytes, or a field breaks its rule.
            UnknownValueError: an unknown proposer direction.
        """
        if len(data) != CHECKPOINT_BODY_LEN:
            raise MalformedError(
                f"a checkpoint body is {CHECKPOINT_BODY_LEN} bytes, not {len(data)}"
            )
        reader = Reader(data, "checkpoint body")
        body = cls.pull(reader)
        reader.finish()
        return body

    def sign(self, signer: Signer) -> HybridSignature:
        """Return ``signer``'s signature over this body under ``LABEL_CHECKPOINT``."""
        return signer.sign(LABEL_CHECKPOINT, self.encode())

    def verify_signature(self, keys: VerifyKeys, signature: HybridSignature) -> bool:
        """Return whether ``signature`` over this body verifies with ``keys``."""
        return keys.verify(LABEL_CHECKPOINT, self.encode(), signature)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint signed by both stations.

    Attributes:
        body: what both signed.
        signatures: the signature of the station of direction 0, then of direction 1.
    """

    body: CheckpointBody
    signatures: tuple[HybridSignature, HybridSignature]

    def __repr__(self) -> str:
        heads = ", ".join(f"#{head.seq}" for head in self.body.heads)
        return f"Checkpoint({self.body.proposer.name} {self.body.number}: {heads})"

    def verify(self, keys: tuple[VerifyKeys, VerifyKeys]) -> bool:
        """Return whether both stations' signatures verify (four signatures in all).

        Args:
            keys: the signing keys of the station of direction 0, then of direction 1.
        """
        message = self.body.encode()
        return all(
            key.verify(LABEL_CHECKPOINT, message, signature)
            for key, signature in zip(keys, self.signatures, strict=True)
        )

    def encode(self) -> bytes:
        """Return ``body || sig_0 || sig_1``."""
        return self.body.encode() + b"".join(s.encode() for s in self.signatures)

    @classmethod
    def decode(cls, data: bytes) -> Checkpoint:
        """Decode a checkpoint (the signatures are *not* checked: see :meth:`verify`).

        Raises:
            MalformedError: not exactly 9615 bytes, or a field breaks its rule.
            UnknownValueError: an unknown proposer direction.
        """
        if len(data) != CHECKPOINT_LEN:
            raise MalformedError(f"a checkpoint is {CHECKPOINT_LEN} bytes, not {len(data)}")
        reader = Reader(data, "checkpoint")
        body = CheckpointBody.pull(reader)
        signatures = (pull_signature(reader), pull_signature(reader))
        reader.finish()
        return cls(body, signatures)
