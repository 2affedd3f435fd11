"""Protocol names: the suite they select, psk placement, and what is refused."""

from __future__ import annotations

import pytest

from hotline.noise import LocalProtocolError, NoiseProtocol, UnsupportedProtocolError


def test_fields() -> None:
    protocol = NoiseProtocol.from_name("Noise_XXpsk3_448_ChaChaPoly_BLAKE2b")
    assert protocol.name == "Noise_XXpsk3_448_ChaChaPoly_BLAKE2b"
    assert protocol.pattern.name == "XXpsk3"
    assert (protocol.dh.name, protocol.dh.dhlen) == ("448", 56)
    assert protocol.cipher.name == "ChaChaPoly"
    assert (protocol.hash.name, protocol.hash.hashlen) == ("BLAKE2b", 64)
    assert protocol.kem is None
    assert not protocol.pattern.one_way
    assert NoiseProtocol.from_name("Noise_K_25519_AESGCM_SHA256").pattern.one_way


def tokens(name: str) -> list[str]:
    pattern = NoiseProtocol.from_name(f"Noise_{name}_25519_AESGCM_SHA256").pattern
    return [", ".join(token.value for token in message) for message in pattern.messages]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NNpsk0", ["psk, e", "e, ee"]),
        ("NNpsk2", ["e", "e, ee, psk"]),
        ("NNpsk0+psk2", ["psk, e", "e, ee, psk"]),
        ("XXpsk3", ["e", "e, ee, s, es", "s, se, psk"]),
        ("XXpsk0+psk1+psk2+psk3", ["psk, e, psk", "e, ee, s, es, psk", "s, se, psk"]),
        ("Npsk0", ["psk, e, es"]),
        ("Xpsk1", ["e, es, s, ss, psk"]),
    ],
)
def test_psk_placement(name: str, expected: list[str]) -> None:
    assert tokens(name) == expected
    assert NoiseProtocol.from_name(f"Noise_{name}_25519_AESGCM_SHA256").pattern.psk_count == (
        name.count("psk")
    )


@pytest.mark.parametrize(
    "name",
    [
        "Noise_NN_25519_AESGCM",
        "Noise_NN_25519_AESGCM_SHA256_extra",
        "Nois_NN_25519_AESGCM_SHA256",
        "Noise_nn_25519_AESGCM_SHA256",
        "Noise__25519_AESGCM_SHA256",
        "Noise_NNpsk0+_25519_AESGCM_SHA256",
        "Noise_NNpsk0+psk0_25519_AESGCM_SHA256",
        "Noise_NNpsk3_25519_AESGCM_SHA256",  # NN has two messages
        "Noise_NN_25519_AESGCM_SHA256\u00e9",
    ],
)
def test_malformed_names(name: str) -> None:
    with pytest.raises(LocalProtocolError) as raised:
        NoiseProtocol.from_name(name)
    assert not isinstance(raised.value, UnsupportedProtocolError)


@pytest.mark.parametrize(
    "name",
    [
        "Noise_X1K1_25519_AESGCM_SHA256",  # deferred
        "Noise_XXfallback_25519_AESGCM_SHA256",
        "Noise_QQ_25519_AESGCM_SHA256",
        "Noise_NN_25519_AESGCM_SHA3",
        "Noise_NN_25519_Salsa_SHA256",
        "Noise_NN_P256_AESGCM_SHA256",
        "Noise_NNpsk_25519_AESGCM_SHA256",
    ],
)
def test_unsupported_names(name: str) -> None:
    with pytest.raises(UnsupportedProtocolError):
        NoiseProtocol.from_name(name)


def test_name_must_be_str() -> None:
    with pytest.raises(LocalProtocolError):
        NoiseProtocol.from_name(b"Noise_NN_25519_AESGCM_SHA256")  # type: ignore[arg-type]
