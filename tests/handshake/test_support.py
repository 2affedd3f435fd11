"""The start-up check of the crypto backend, the crossing rule, timestamps, the public surface.

(The session package's own surface is checked in ``tests/session/test_surface.py``.)
"""

from __future__ import annotations

import math

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem

import hotline.handshake
from hotline.constants import MAX_NOISE_MESSAGE_LEN, REJECT_AFTER_MESSAGES, REKEY_AFTER_MESSAGES
from hotline.errors import HotlineError
from hotline.handshake import (
    CryptoSupportError,
    LocalProtocolError,
    RemoteProtocolError,
    check_crypto_support,
    next_timestamp,
    preferred_initiator,
    prologue,
)
from hotline.handshake._timestamps import decode_timestamp, encode_timestamp


def test_this_build_supports_the_suite() -> None:
    check_crypto_support()


def _unsupported(*args: object) -> None:
    raise UnsupportedAlgorithm("not in this OpenSSL")


@pytest.mark.parametrize(
    ("target", "name"),
    [(mlkem.MLKEM1024PrivateKey, "ML-KEM-1024"), (mldsa.MLDSA87PrivateKey, "ML-DSA-87")],
)
def test_a_build_without_ml_kem_or_ml_dsa_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, target: type, name: str
) -> None:
    monkeypatch.setattr(target, "generate", classmethod(_unsupported))
    with pytest.raises(CryptoSupportError) as raised:
        check_crypto_support()
    message = str(raised.value)
    assert name in message and "\n" not in message
    assert isinstance(raised.value, HotlineError) and raised.value.exit_code not in (0, 1)


def test_preferred_initiator_is_the_lower_key_from_both_sides() -> None:
    low, high = bytes(31) + b"\x01", b"\x01" + bytes(31)
    assert preferred_initiator(low, high) == preferred_initiator(high, low) == low
    with pytest.raises(LocalProtocolError):
        preferred_initiator(low, low)


def test_the_prologue_is_version_and_line_id() -> None:
    assert prologue(bytes(range(64))) == b"hotline/1" + bytes(range(64))
    with pytest.raises(LocalProtocolError):
        prologue(bytes(63))


def test_message_limits_fit_aes_gcm() -> None:
    """REKEY/REJECT_AFTER_MESSAGES are for AES-256-GCM, not WireGuard's ChaCha20 (2**60).

    GCM's margin depends on the AES blocks under one key. RFC 8446 §5.5 allows 2**24.5 records
    of 2**14 bytes, about 2**34.5 blocks, for a ~2**-57 margin: a session rekeys within that
    budget at our largest message (65535 bytes), and is cut off within twice it.
    """
    blocks = math.ceil(MAX_NOISE_MESSAGE_LEN / 16) + 1  # + the block that makes the tag
    tls_budget = 2**24.5 * (2**14 // 16 + 1)
    assert REKEY_AFTER_MESSAGES * blocks <= tls_budget
    assert REKEY_AFTER_MESSAGES < REJECT_AFTER_MESSAGES <= 2 * REKEY_AFTER_MESSAGES
    assert REJECT_AFTER_MESSAGES * blocks <= 2 * tls_budget  # margin ~2**-56 (bound is quadratic)


def test_timestamps() -> None:
    assert next_timestamp(0, 1.0015) == 1001
    assert next_timestamp(5000, 1.0) == 5001  # the clock went back: still rising
    assert decode_timestamp(encode_timestamp(2**64 - 1)) == 2**64 - 1
    with pytest.raises(RemoteProtocolError):
        decode_timestamp(bytes(7))
    with pytest.raises(LocalProtocolError):
        next_timestamp(2**64 - 1, 0.0)


def _public(module: object) -> set[str]:
    return {name for name in dir(module) if not name.startswith("_")}


def test_the_public_surface() -> None:
    assert _public(hotline.handshake) == {
        "CryptoSupportError", "Established", "Initiator", "KatHooks", "LocalCredentials",
        "LocalProtocolError", "PROTOCOL", "PairedPeer", "PeerKeys", "PeerTable", "ProofError",
        "RemoteProtocolError", "ReplayError", "Responder", "Role", "Stage", "StaleTimestampError",
        "UnknownPeerError", "check_crypto_support", "mac1", "mac1_key", "next_timestamp",
        "preferred_initiator", "proof_message", "prologue",
    }  # fmt: skip
