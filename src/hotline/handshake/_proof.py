"""Identity proofs: post-quantum authentication on top of the hfs handshake.

hfs gives post-quantum forward secrecy, but the Noise handshake authenticates with X25519
statics only, which a quantum attacker could impersonate in real time. So once the Noise
messages are done, each side signs the handshake hash with both of its pinned signing keys:

    m     = role (1: 0x49 'I' or 0x52 'R') || u8 len(name) || name || line_id (64) || h (64)
    proof = Ed25519.sign(LABEL_HANDSHAKE_PROOF || m) (64) || ML-DSA-87.sign(m, ctx=LABEL) (4627)

which is exactly Hotline's one hybrid signature (:mod:`hotline.signatures`) under
``LABEL_HANDSHAKE_PROOF``, in its fixed encoding: the proof reuses it rather than repeating it.

``h`` is the final Noise handshake hash, which covers every byte both sides sent and the
prologue, so a proof cannot be moved to another session (channel binding); the role byte stops a
proof being reflected back at its signer; the label stops any other Hotline signature (card,
receipt, ...) standing in for a proof. Both signatures must verify: the pair is as strong as the
stronger of the two algorithms.

A proof travels as a PROOF frame (``version || 0x08 || proof``) encrypted as the first transport
message of the new session, in each direction.
"""

from __future__ import annotations

import enum
from typing import Final

from hotline.constants import FRAME_PROOF, FRAME_VERSION, LABEL_HANDSHAKE_PROOF, LINE_ID_LEN
from hotline.signatures import HYBRID_SIGNATURE_LEN, HybridSignature, sign, verify

from ._errors import ProofError
from ._keys import LocalCredentials, PeerKeys
from ._suite import PROTOCOL_NAME_BYTES

#: The PROOF frame header (the session's frame codec reserves the same type code).
_PROOF_HEADER: Final = bytes([FRAME_VERSION, FRAME_PROOF])
#: A PROOF frame is exactly this long; nothing shorter or longer is parsed.
PROOF_FRAME_LEN: Final = len(_PROOF_HEADER) + HYBRID_SIGNATURE_LEN
#: Final handshake hash length (SHA-512).
HANDSHAKE_HASH_LEN: Final = 64


class Role(enum.IntEnum):
    """Which side of a handshake signs: the byte that opens the signed message."""

    INITIATOR = 0x49  # 'I'
    RESPONDER = 0x52  # 'R'


def proof_message(role: Role, line_id: bytes, handshake_hash: bytes) -> bytes:
    """Return ``m``, the message both signatures of a proof cover.

    Raises:
        ValueError: ``line_id`` or ``handshake_hash`` has the wrong size (a bug, never input).
    """
    if len(line_id) != LINE_ID_LEN or len(handshake_hash) != HANDSHAKE_HASH_LEN:
        raise ValueError("line id and handshake hash are 64 bytes each")
    return bytes([role, len(PROTOCOL_NAME_BYTES)]) + PROTOCOL_NAME_BYTES + line_id + handshake_hash


def sign_proof(local: LocalCredentials, role: Role, line_id: bytes, handshake_hash: bytes) -> bytes:
    """Return the PROOF frame (plaintext) proving we are ``local`` in this handshake."""
    m = proof_message(role, line_id, handshake_hash)
    return _PROOF_HEADER + sign(local.ed25519, local.mldsa, LABEL_HANDSHAKE_PROOF, m).encode()


def verify_proof(
    peer: PeerKeys, role: Role, line_id: bytes, handshake_hash: bytes, frame: bytes
) -> None:
    """Check a PROOF frame against the peer's pinned keys.

    Args:
        peer: the keys pinned from the peer's card.
        role: the role the *peer* played in this handshake.
        line_id: the line's id.
        handshake_hash: the final Noise handshake hash.
        frame: the decrypted first transport message from the peer.

    Raises:
        ProofError: not a PROOF frame of the exact size, or either signature fails.
    """
    if len(frame) != PROOF_FRAME_LEN or frame[: len(_PROOF_HEADER)] != _PROOF_HEADER:
        raise ProofError("expected a PROOF frame of the exact size before anything else")
    signature = HybridSignature.decode(frame[len(_PROOF_HEADER) :])  # the size is checked
    m = proof_message(role, line_id, handshake_hash)
    if not verify(peer.ed25519, peer.mldsa, LABEL_HANDSHAKE_PROOF, m, signature):
        raise ProofError("identity proof does not verify against the pinned card")
