"""HandshakeState: turns, the ERROR state, size limits, key checks, tampering, reprs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hotline.noise import (
    MAX_MESSAGE_LEN,
    DecryptError,
    HandshakeState,
    HandshakeStatus,
    LocalProtocolError,
    NoiseError,
    NoiseProtocol,
    RemoteProtocolError,
)

from .helpers import fixed_key, make_pair, public_key, run_handshake

KK = "Noise_KK_25519_AESGCM_SHA512"
NN = "Noise_NN_25519_ChaChaPoly_SHA256"


def assert_dead(state: HandshakeState) -> None:
    """ERROR is final: every call raises LocalProtocolError."""
    assert state.status is HandshakeStatus.ERROR
    assert not state.complete
    with pytest.raises(LocalProtocolError):
        state.write_message(b"")
    with pytest.raises(LocalProtocolError):
        state.read_message(b"x" * 100)
    with pytest.raises(LocalProtocolError):
        state.split()
    with pytest.raises(LocalProtocolError):
        _ = state.handshake_hash


def test_turns_and_status() -> None:
    initiator, responder = make_pair("Noise_XX_25519_AESGCM_SHA256")
    assert initiator.status is HandshakeStatus.WRITING and initiator.is_initiator
    assert responder.status is HandshakeStatus.READING and not responder.is_initiator
    responder.read_message(initiator.write_message(b"a"))
    assert initiator.status is HandshakeStatus.READING
    assert responder.status is HandshakeStatus.WRITING
    initiator.read_message(responder.write_message(b"b"))
    responder.read_message(initiator.write_message(b"c"))
    assert initiator.complete and responder.complete
    assert initiator.handshake_hash == responder.handshake_hash
    assert len(initiator.handshake_hash) == 32


@pytest.mark.parametrize("call", ["read_first", "write_first", "write_after_complete"])
def test_wrong_turn_is_local_error_and_final(call: str) -> None:
    initiator, responder = make_pair(NN)
    if call == "read_first":
        victim = initiator
        with pytest.raises(LocalProtocolError):
            initiator.read_message(b"\x00" * 48)
    elif call == "write_first":
        victim = responder
        with pytest.raises(LocalProtocolError):
            responder.write_message(b"")
    else:
        run_handshake(initiator, responder)
        victim = initiator
        with pytest.raises(LocalProtocolError):
            initiator.write_message(b"")
    assert_dead(victim)


def test_handshake_hash_and_split_need_completion() -> None:
    initiator, _ = make_pair(NN)
    with pytest.raises(LocalProtocolError):
        _ = initiator.handshake_hash
    assert_dead(initiator)
    initiator, _ = make_pair(NN)
    with pytest.raises(LocalProtocolError):
        initiator.split()
    assert_dead(initiator)


def test_split_only_once() -> None:
    initiator, responder = make_pair(NN)
    run_handshake(initiator, responder)
    initiator.split()
    with pytest.raises(LocalProtocolError, match="already"):
        initiator.split()


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m[:-1],  # too short for the tag
        lambda m: m[:10],  # too short for e
        lambda m: m + b"\x00",  # trailing byte: the tag no longer verifies
        lambda m: m[:-1] + bytes([m[-1] ^ 0x80]),  # bad tag
        lambda m: bytes(32) + m[32:],  # all-zero (low-order) e: no usable DH
    ],
)
def test_bad_message_is_remote_error_and_final(damage: Callable[[bytes], bytes]) -> None:
    initiator, responder = make_pair(KK)
    message = initiator.write_message(b"hi")
    with pytest.raises(RemoteProtocolError):
        responder.read_message(damage(message))
    assert_dead(responder)
    with pytest.raises(LocalProtocolError):
        responder.read_message(message)  # the genuine message cannot revive it


def test_decrypt_error_class() -> None:
    initiator, responder = make_pair(KK)
    message = bytearray(initiator.write_message(b"payload"))
    message[-1] ^= 1
    with pytest.raises(DecryptError):
        responder.read_message(bytes(message))


def test_handshake_write_limit() -> None:
    # NN message 1 is "e" + clear payload; message 2 is "e, ee" + encrypted payload.
    initiator, responder = make_pair(NN)
    with pytest.raises(LocalProtocolError):
        initiator.write_message(bytes(MAX_MESSAGE_LEN - 32 + 1))
    assert_dead(initiator)
    initiator, responder = make_pair(NN)
    first = initiator.write_message(bytes(MAX_MESSAGE_LEN - 32))
    assert len(first) == MAX_MESSAGE_LEN
    responder.read_message(first)
    second = responder.write_message(bytes(MAX_MESSAGE_LEN - 32 - 16))
    assert len(second) == MAX_MESSAGE_LEN
    initiator.read_message(second)
    initiator, responder = make_pair(NN)
    responder.read_message(initiator.write_message())
    with pytest.raises(LocalProtocolError):
        responder.write_message(bytes(MAX_MESSAGE_LEN - 32 - 16 + 1))


def test_handshake_read_limit() -> None:
    _, responder = make_pair(NN)
    with pytest.raises(RemoteProtocolError):
        responder.read_message(bytes(MAX_MESSAGE_LEN + 1))
    assert_dead(responder)


def test_prologue_mismatch_fails() -> None:
    initiator, responder = make_pair(NN, init_prologue=b"hotline/1", resp_prologue=b"hotline/2")
    responder.read_message(initiator.write_message())
    with pytest.raises(DecryptError):
        initiator.read_message(responder.write_message())


def test_static_keys_are_learned() -> None:
    initiator, responder = make_pair("Noise_XX_25519_ChaChaPoly_BLAKE2b")
    assert initiator.remote_static is None and responder.remote_static is None
    run_handshake(initiator, responder)
    assert initiator.remote_static == responder.local_static_public
    assert responder.remote_static == initiator.local_static_public
    assert initiator.local_static_public is not None


def test_one_way_pattern_has_no_return_path() -> None:
    initiator, responder = make_pair("Noise_X_25519_AESGCM_SHA256")
    run_handshake(initiator, responder, [b"one way"])
    sent, received = initiator.split(), responder.split()
    assert received.receive.decrypt_with_ad(b"", sent.send.encrypt_with_ad(b"", b"x")) == b"x"
    with pytest.raises(LocalProtocolError, match="one-way"):
        received.send.encrypt_with_ad(b"", b"back")
    with pytest.raises(LocalProtocolError, match="one-way"):
        sent.receive.decrypt_with_ad(b"", bytes(16))
    assert responder.remote_static == initiator.local_static_public


def test_transport_directions_are_distinct() -> None:
    initiator, responder = make_pair(KK)
    run_handshake(initiator, responder)
    ours, theirs = initiator.split(), responder.split()
    to_responder = ours.send.encrypt_with_ad(b"", b"ping")
    assert theirs.receive.decrypt_with_ad(b"", to_responder) == b"ping"
    assert ours.receive.decrypt_with_ad(b"", theirs.send.encrypt_with_ad(b"", b"pong")) == b"pong"
    with pytest.raises(DecryptError):  # a reflected message is not accepted as the peer's
        ours.receive.decrypt_with_ad(b"", to_responder)


# --- Key checks at construction -------------------------------------------------------------

KK_PROTOCOL = NoiseProtocol.from_name(KK)
S = fixed_key("s", 32)
RS = public_key(KK_PROTOCOL, fixed_key("rs", 32))


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        (KK, {"rs": RS}, "needs s"),
        (KK, {"s": S}, "needs rs"),
        (NN, {"s": S}, "never uses s"),
        (NN, {"rs": RS}, "never uses rs"),
        (NN, {"re": RS}, "never uses re"),
        (KK, {"s": S.hex(), "rs": RS}, "bytes"),
        (KK, {"s": bytearray(S), "rs": RS}, "bytes"),
        (KK, {"s": S[:31], "rs": RS}, "32 bytes"),
        (KK, {"s": S, "rs": RS + b"\x00"}, "32 bytes"),
        (KK, {"s": S, "rs": RS, "e": S[:5]}, "32 bytes"),
        (KK, {"s": S, "rs": RS, "psks": [bytes(32)]}, "PSK"),
        ("Noise_KKpsk0_25519_AESGCM_SHA512", {"s": S, "rs": RS}, "PSK"),
        ("Noise_KKpsk0_25519_AESGCM_SHA512", {"s": S, "rs": RS, "psks": [b"x" * 31]}, "32"),
        ("Noise_KKpsk0_25519_AESGCM_SHA512", {"s": S, "rs": RS, "psks": ["x" * 32]}, "bytes"),
        (KK, {"s": S, "rs": RS, "prologue": "hotline"}, "bytes"),
        (KK, {"s": S, "rs": RS, "e1": bytes(64)}, "no e1"),
    ],
)
def test_key_checks(name: str, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        HandshakeState(NoiseProtocol.from_name(name), initiator=True, **kwargs)


def test_payload_must_be_bytes() -> None:
    initiator, _ = make_pair(NN)
    with pytest.raises(LocalProtocolError):
        initiator.write_message("text")  # type: ignore[arg-type]
    assert_dead(initiator)


def test_reprs_hold_no_key_bytes() -> None:
    protocol = NoiseProtocol.from_name("Noise_IKpsk2_25519_AESGCM_SHA256")
    s, e, psk = fixed_key("repr s", 32), fixed_key("repr e", 32), fixed_key("repr psk", 32)
    responder_s = fixed_key("repr responder s", 32)
    state = HandshakeState(
        protocol,
        initiator=True,
        s=s,
        e=e,
        rs=public_key(protocol, responder_s),
        psks=[psk],
    )
    responder = HandshakeState(protocol, initiator=False, s=responder_s, psks=[psk])
    run_handshake(state, responder)
    transport = state.split()
    keypair = protocol.dh.generate(s)
    secrets = [s, e, psk, state.handshake_hash]
    for shown in (state, transport, transport.send, keypair, protocol):
        text = repr(shown)
        for secret in secrets:
            assert secret.hex() not in text
            assert repr(secret)[2:-1] not in text


# --- Tampering ------------------------------------------------------------------------------

TAMPER_PROTOCOLS = [
    KK,
    "Noise_IK_25519_ChaChaPoly_SHA256",
    "Noise_XXpsk3_25519_AESGCM_BLAKE2s",
    "Noise_NN_448_ChaChaPoly_BLAKE2b",
    "Noise_X_25519_AESGCM_SHA256",
    "Noise_KKhfs_25519+MLKEM1024_AESGCM_SHA512",
]


PAYLOADS = [b"payload %d" % index for index in range(3)]


def run_with_flip(name: str, target: int, position: int) -> NoiseError | None:
    """Run a handshake flipping one bit of byte ``position`` of message ``target``."""
    initiator, responder = make_pair(name, fixed_ephemeral=True)
    index = 0
    try:
        while not (initiator.complete and responder.complete):
            writer, reader = (
                (initiator, responder)
                if initiator.status is HandshakeStatus.WRITING
                else (responder, initiator)
            )
            message = writer.write_message(PAYLOADS[index])
            if index == target:
                damaged = bytearray(message)
                damaged[position] ^= 1 << (position % 8)
                message = bytes(damaged)
            reader.read_message(message)
            index += 1
    except NoiseError as exc:
        return exc
    return None


@pytest.mark.parametrize("name", TAMPER_PROTOCOLS)
def test_any_flipped_handshake_bit_fails_the_handshake(name: str) -> None:
    initiator, responder = make_pair(name, fixed_ephemeral=True)
    lengths = [len(m) for m in run_handshake(initiator, responder, PAYLOADS)]
    assert run_with_flip(name, target=-1, position=0) is None  # the control run completes
    for target, length in enumerate(lengths):
        for position in range(length):
            error = run_with_flip(name, target, position)
            assert isinstance(error, RemoteProtocolError), (target, position, error)
