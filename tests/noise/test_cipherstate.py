"""CipherState: nonce encodings, no advance on failure, exhaustion, rekey, size limits, repr."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from hotline.noise import (
    MAX_MESSAGE_LEN,
    CipherState,
    DecryptError,
    LocalProtocolError,
    NoiseProtocol,
    RemoteProtocolError,
)

KEY = bytes(range(32))
MAX_NONCE = 2**64 - 1


def cipher_state(cipher: str, key: bytes | None = KEY) -> CipherState:
    protocol = NoiseProtocol.from_name(f"Noise_NN_25519_{cipher}_SHA256")
    return CipherState(protocol.cipher, key)


def pyca_encrypt(cipher: str, key: bytes, n: int, ad: bytes, plaintext: bytes) -> bytes:
    """Spec §12.3/§12.4 nonce layouts, written out independently of the code under test."""
    if cipher == "ChaChaPoly":
        return ChaCha20Poly1305(key).encrypt(bytes(4) + n.to_bytes(8, "little"), plaintext, ad)
    return AESGCM(key).encrypt(bytes(4) + n.to_bytes(8, "big"), plaintext, ad)


CIPHERS = ["ChaChaPoly", "AESGCM"]


@pytest.mark.parametrize("cipher", CIPHERS)
def test_nonce_encoding_matches_spec(cipher: str) -> None:
    state = cipher_state(cipher)
    n = 0x0102030405060708  # asymmetric, so a byte-order mix-up cannot pass
    state.set_nonce(n)
    assert state.encrypt_with_ad(b"ad", b"hello") == pyca_encrypt(cipher, KEY, n, b"ad", b"hello")
    assert state.nonce == n + 1


@pytest.mark.parametrize("cipher", CIPHERS)
def test_failed_decrypt_does_not_advance_nonce(cipher: str) -> None:
    sender, receiver = cipher_state(cipher), cipher_state(cipher)
    first = sender.encrypt_with_ad(b"", b"one")
    second = sender.encrypt_with_ad(b"", b"two")
    for position in range(len(first)):
        forged = bytearray(first)
        forged[position] ^= 0x01
        with pytest.raises(DecryptError):
            receiver.decrypt_with_ad(b"", bytes(forged))
        assert receiver.nonce == 0
    with pytest.raises(DecryptError):
        receiver.decrypt_with_ad(b"other ad", first)
    assert receiver.decrypt_with_ad(b"", first) == b"one"
    assert receiver.decrypt_with_ad(b"", second) == b"two"
    assert receiver.nonce == 2


@pytest.mark.parametrize("cipher", CIPHERS)
def test_nonce_exhaustion(cipher: str) -> None:
    sender, receiver = cipher_state(cipher), cipher_state(cipher)
    sender.set_nonce(MAX_NONCE - 1)
    receiver.set_nonce(MAX_NONCE - 1)
    last = sender.encrypt_with_ad(b"", b"last")
    assert receiver.decrypt_with_ad(b"", last) == b"last"
    with pytest.raises(LocalProtocolError, match="exhausted"):
        sender.encrypt_with_ad(b"", b"one too many")
    with pytest.raises(LocalProtocolError, match="exhausted"):
        receiver.decrypt_with_ad(b"", last)
    assert sender.nonce == receiver.nonce == MAX_NONCE


def test_set_nonce_range() -> None:
    state = cipher_state("AESGCM")
    for bad in (-1, 2**64):
        with pytest.raises(LocalProtocolError):
            state.set_nonce(bad)


@pytest.mark.parametrize("cipher", CIPHERS)
def test_rekey_is_encrypt_at_max_nonce(cipher: str) -> None:
    state = cipher_state(cipher)
    state.encrypt_with_ad(b"", b"advance")
    state.rekey()
    expected_key = pyca_encrypt(cipher, KEY, MAX_NONCE, b"", bytes(32))[:32]
    assert state.nonce == 1  # rekey leaves n alone (spec §11.3)
    assert state.encrypt_with_ad(b"", b"x") == pyca_encrypt(cipher, expected_key, 1, b"", b"x")


def test_rekey_needs_a_key() -> None:
    with pytest.raises(LocalProtocolError):
        cipher_state("AESGCM", key=None).rekey()


@pytest.mark.parametrize("cipher", CIPHERS)
def test_message_length_limit(cipher: str) -> None:
    sender, receiver = cipher_state(cipher), cipher_state(cipher)
    biggest = sender.encrypt_with_ad(b"", bytes(MAX_MESSAGE_LEN - 16))
    assert len(biggest) == MAX_MESSAGE_LEN
    assert receiver.decrypt_with_ad(b"", biggest) == bytes(MAX_MESSAGE_LEN - 16)
    with pytest.raises(LocalProtocolError):
        sender.encrypt_with_ad(b"", bytes(MAX_MESSAGE_LEN - 15))
    assert sender.nonce == 1
    with pytest.raises(RemoteProtocolError) as too_long:
        receiver.decrypt_with_ad(b"", biggest + b"\x00")
    assert not isinstance(too_long.value, DecryptError)
    with pytest.raises(RemoteProtocolError):
        receiver.decrypt_with_ad(b"", bytes(15))
    assert receiver.nonce == 1


def test_keyless_state_is_identity_and_bounded() -> None:
    state = cipher_state("ChaChaPoly", key=None)
    assert not state.has_key
    assert state.encrypt_with_ad(b"ad", b"clear") == b"clear"
    assert state.decrypt_with_ad(b"ad", b"clear") == b"clear"
    assert state.nonce == 0
    with pytest.raises(LocalProtocolError):
        state.encrypt_with_ad(b"", bytes(MAX_MESSAGE_LEN + 1))
    with pytest.raises(RemoteProtocolError):
        state.decrypt_with_ad(b"", bytes(MAX_MESSAGE_LEN + 1))


@pytest.mark.parametrize("key", ["00" * 32, bytearray(32), bytes(31), bytes(33)])
def test_key_must_be_32_bytes(key: object) -> None:
    with pytest.raises(LocalProtocolError):
        cipher_state("AESGCM", key=key)  # type: ignore[arg-type]


def test_repr_holds_no_key() -> None:
    state = cipher_state("AESGCM")
    text = repr(state)
    assert KEY.hex() not in text and repr(KEY) not in text and str(KEY) not in text
    assert "AESGCM" in text and "nonce=0" in text
