"""The hfs modifier: token placement, round trips, message sizes, the KEM hook."""

from __future__ import annotations

import pytest

from hotline.noise import (
    MLKEM768,
    MLKEM1024,
    DecryptError,
    HandshakeState,
    Kem,
    LocalProtocolError,
    NoiseProtocol,
    RemoteProtocolError,
    UnsupportedProtocolError,
)

from .helpers import RecordingKem, fixed_key, make_pair, run_handshake

# HFS_NOTES.md "Resulting patterns, as snow and Signal's noise-c build them", plus the four
# patterns whose first message has no DH (e1 straight after e).
PLACEMENT = {
    "NN": ["e, e1", "e, ee, ekem1"],
    "XX": ["e, e1", "e, ee, ekem1, s, es", "s, se"],
    "NK": ["e, es, e1", "e, ee, ekem1"],
    "XK": ["e, es, e1", "e, ee, ekem1", "s, se"],
    "IK": ["e, es, e1, s, ss", "e, ee, ekem1, se"],
    "KK": ["e, es, e1, ss", "e, ee, ekem1, se"],
    "NX": ["e, e1", "e, ee, ekem1, s, es"],
    "XN": ["e, e1", "e, ee, ekem1", "s, se"],
    "KN": ["e, e1", "e, ee, ekem1, se"],
    "KX": ["e, e1", "e, ee, ekem1, se, s, es"],
    "IN": ["e, e1, s", "e, ee, ekem1, se"],
    "IX": ["e, e1, s", "e, ee, ekem1, se, s, es"],
}


def tokens(name: str) -> list[str]:
    pattern = NoiseProtocol.from_name(name).pattern
    return [", ".join(token.value for token in message) for message in pattern.messages]


@pytest.mark.parametrize("base", sorted(PLACEMENT))
def test_token_placement(base: str) -> None:
    assert tokens(f"Noise_{base}hfs_25519+MLKEM1024_AESGCM_SHA512") == PLACEMENT[base]


def test_placement_with_psk() -> None:
    name = "Noise_NNpsk0+hfs_25519+MLKEM768_ChaChaPoly_SHA256"
    assert tokens(name) == ["psk, e, e1", "e, ee, ekem1"]
    assert tokens(name.replace("psk0+hfs", "hfs+psk2")) == ["e, e1", "e, ee, ekem1, psk"]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Noise_NNhfs_25519_AESGCM_SHA512", LocalProtocolError),  # hfs without a KEM
        ("Noise_NN_25519+MLKEM1024_AESGCM_SHA512", LocalProtocolError),  # KEM without hfs
        ("Noise_Nhfs_25519+MLKEM1024_AESGCM_SHA512", LocalProtocolError),  # one-way
        ("Noise_XXhfs+hfs_25519+MLKEM1024_AESGCM_SHA512", LocalProtocolError),
        ("Noise_XXhfs_25519+Kyber1024_AESGCM_SHA512", UnsupportedProtocolError),
    ],
)
def test_bad_hfs_names(name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        NoiseProtocol.from_name(name)


def test_kem_is_parsed() -> None:
    assert NoiseProtocol.from_name("Noise_KKhfs_25519+MLKEM1024_AESGCM_SHA512").kem is MLKEM1024
    assert NoiseProtocol.from_name("Noise_KKhfs_25519+MLKEM768_AESGCM_SHA512").kem is MLKEM768
    assert NoiseProtocol.from_name("Noise_KK_25519_AESGCM_SHA512").kem is None


# HFS_NOTES.md message-size table (empty payloads, 16-byte tags).
SIZES = {
    ("NN", "MLKEM768"): [1216, 1152],
    ("NN", "MLKEM1024"): [1600, 1632],
    ("XX", "MLKEM768"): [1216, 1200, 64],
    ("XX", "MLKEM1024"): [1600, 1680, 64],
    ("KK", "MLKEM768"): [1248, 1152],
    ("KK", "MLKEM1024"): [1632, 1632],
    ("IK", "MLKEM768"): [1296, 1152],
    ("IK", "MLKEM1024"): [1680, 1632],
}


@pytest.mark.parametrize(("base", "kem"), sorted(SIZES))
@pytest.mark.parametrize("suite", ["AESGCM_SHA512", "ChaChaPoly_SHA256"])
def test_round_trip_and_sizes(base: str, kem: str, suite: str) -> None:
    initiator, responder = make_pair(f"Noise_{base}hfs_25519+{kem}_{suite}")
    assert [len(m) for m in run_handshake(initiator, responder)] == SIZES[(base, kem)]
    assert initiator.handshake_hash == responder.handshake_hash
    ours, theirs = initiator.split(), responder.split()
    for payload in (b"", b"over", b"x" * 1000):
        assert theirs.receive.decrypt_with_ad(b"", ours.send.encrypt_with_ad(b"", payload)) == (
            payload
        )
        assert ours.receive.decrypt_with_ad(b"", theirs.send.encrypt_with_ad(b"", payload)) == (
            payload
        )


@pytest.mark.parametrize("kem", [MLKEM768, MLKEM1024])
def test_kem_hook_sees_one_exchange(kem: Kem) -> None:
    name = f"Noise_KKhfs_25519+{kem.name}_AESGCM_SHA512"
    init_kem, resp_kem = RecordingKem(kem), RecordingKem(kem)
    initiator, responder = make_pair(name, init_kem=init_kem, resp_kem=resp_kem)
    run_handshake(initiator, responder)
    assert len(init_kem.generated) == 1 and not init_kem.encapsulations
    assert len(init_kem.decapsulations) == 1
    assert not resp_kem.generated and not resp_kem.decapsulations
    assert len(resp_kem.encapsulations) == 1
    public, ciphertext, shared = resp_kem.encapsulations[0]
    assert public == init_kem.generated[0].public  # encapsulated to the initiator's e1
    assert init_kem.decapsulations[0] == (ciphertext, shared)


def test_the_kem_secret_matters() -> None:
    """A KEM that hands the responder a different secret breaks the handshake: the KEM output
    really is mixed into the keys (MixKey after ekem1)."""

    class LyingKem(RecordingKem):
        def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
            ciphertext, shared = super().encapsulate(public_key)
            return ciphertext, bytes(len(shared))

    name = "Noise_NNhfs_25519+MLKEM1024_ChaChaPoly_SHA256"
    initiator, responder = make_pair(name, resp_kem=LyingKem(MLKEM1024))
    responder.read_message(initiator.write_message())
    with pytest.raises(DecryptError):
        initiator.read_message(responder.write_message())


def test_fixed_seed_fixes_e1() -> None:
    name = "Noise_NNhfs_25519+MLKEM1024_ChaChaPoly_SHA256"
    seed = fixed_key("seed", 64)
    first = [make_pair(name, fixed_ephemeral=True, init_e1=seed)[0].write_message() for _ in "ab"]
    other = make_pair(name, fixed_ephemeral=True, init_e1=fixed_key("other", 64))[0]
    assert first[0] == first[1] != other.write_message()
    assert first[0][32:] == MLKEM1024.generate(seed).public  # sent in clear: no key yet in NN


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"init_e1": bytes(63)}, "64 bytes"),
        ({"resp_e1": bytes(64)}, "no e1"),
        ({"init_kem": RecordingKem(MLKEM768)}, "kem override"),
    ],
)
def test_hfs_argument_checks(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        make_pair("Noise_NNhfs_25519+MLKEM1024_ChaChaPoly_SHA256", **kwargs)


def test_kem_override_refused_without_hfs() -> None:
    protocol = NoiseProtocol.from_name("Noise_NN_25519_ChaChaPoly_SHA256")
    with pytest.raises(LocalProtocolError):
        HandshakeState(protocol, initiator=True, kem=MLKEM1024)


def test_bad_kem_public_key_is_remote_error() -> None:
    """An e1 that is not a valid ML-KEM key (fails the FIPS 203 modulus check)."""
    initiator, responder = make_pair("Noise_NNhfs_25519+MLKEM1024_ChaChaPoly_SHA256")
    message = initiator.write_message()
    responder.read_message(message[:32] + b"\xff" * 1568)
    with pytest.raises(RemoteProtocolError):
        responder.write_message()


def test_kem_primitives() -> None:
    for kem, sizes in ((MLKEM768, (1184, 1088)), (MLKEM1024, (1568, 1568))):
        keypair = kem.generate()
        assert (len(keypair.public), kem.public_key_len) == (sizes[0], sizes[0])
        ciphertext, shared = kem.encapsulate(keypair.public)
        assert (len(ciphertext), len(shared)) == (sizes[1], kem.shared_secret_len)
        assert kem.decapsulate(keypair, ciphertext) == shared
        with pytest.raises(RemoteProtocolError):
            kem.decapsulate(keypair, ciphertext[:-1])
        with pytest.raises(RemoteProtocolError):
            kem.encapsulate(keypair.public[:-1])
        assert "private=<hidden>" in repr(keypair)
    with pytest.raises(LocalProtocolError):
        MLKEM768.decapsulate(MLKEM1024.generate(), bytes(1088))
