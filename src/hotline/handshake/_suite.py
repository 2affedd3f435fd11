"""The one suite, the prologue, and who initiates when two stations dial at once.

Hotline is cryptographically opinionated (WireGuard's phrase): one Noise protocol name, parsed
once at import, and nothing else accepted at run time. A new suite is a new protocol version,
which changes the prologue, so old and new stations fail closed instead of meeting halfway.
"""

from __future__ import annotations

from typing import Final

from hotline.constants import LINE_ID_LEN, NOISE_PROTOCOL_NAME, PROTOCOL_VERSION
from hotline.noise import LocalProtocolError, NoiseProtocol

#: The parsed suite: Noise_KKhfs_25519+MLKEM1024_AESGCM_SHA512, and only that.
PROTOCOL: Final = NoiseProtocol.from_name(NOISE_PROTOCOL_NAME)

#: The protocol name as the proofs sign it.
PROTOCOL_NAME_BYTES: Final = NOISE_PROTOCOL_NAME.encode("ascii")


def require_line_id(line_id: object) -> bytes:
    """Return ``line_id`` if it is 64 bytes.

    Raises:
        LocalProtocolError: it is not.
    """
    if not isinstance(line_id, bytes) or len(line_id) != LINE_ID_LEN:
        raise LocalProtocolError(f"a line id must be {LINE_ID_LEN} bytes")
    return line_id


def prologue(line_id: bytes) -> bytes:
    """Return the Noise prologue: ``b"hotline/1" || line_id``.

    The version makes every future protocol version a different transcript; the line id binds
    the handshake to this pair of cards, so a msg1 meant for one line never completes on another.

    Raises:
        LocalProtocolError: ``line_id`` is not 64 bytes.
    """
    return PROTOCOL_VERSION + require_line_id(line_id)


def preferred_initiator(static_a: bytes, static_b: bytes) -> bytes:
    """Return which of two static public keys initiates when both sides dial at once.

    The lower key (lexicographically, as raw bytes) wins, so both stations reach the same
    answer without talking: the I/O layer keeps the connection this station's key says, and
    the session settles crossing rekeys the same way.

    Args:
        static_a: one raw X25519 static public key.
        static_b: the other.

    Returns:
        the winning key (one of the two arguments).

    Raises:
        LocalProtocolError: the two keys are equal (a station never pairs with itself).
    """
    if static_a == static_b:
        raise LocalProtocolError("both sides have the same static key")
    return min(static_a, static_b)
