"""The key file: private keys at rest under Argon2id, and every way it refuses to open."""

from __future__ import annotations

import struct
import unicodedata

import pytest

from hotline.errors import ExitCode
from hotline.identity import (
    KDF_PROFILES,
    KdfParams,
    KeyFileCorruptError,
    PassphraseUnavailableError,
    StationKeys,
    UnlockedKeys,
    WrongPassphraseError,
    normalise_passphrase,
    open_key_file,
    seal_key_file,
)

TEST = KDF_PROFILES["test"]
PASSPHRASE = normalise_passphrase("correct horse battery staple")
MAGIC = b"\x89HLK\r\n\x1a\n"


@pytest.fixture
def sealed(keys: StationKeys) -> bytes:
    return seal_key_file(keys, PASSPHRASE, TEST)[0]


def _with_header(data: bytes, memory: int, iterations: int, lanes: int) -> bytes:
    return data[:10] + struct.pack(">III", memory, iterations, lanes) + data[22:]


def test_round_trip(keys: StationKeys, sealed: bytes) -> None:
    unlocked = open_key_file(sealed, PASSPHRASE)
    assert unlocked.keys.public == keys.public
    assert unlocked.keys.private_bytes() == keys.private_bytes()


def test_layout_follows_the_specification(sealed: bytes) -> None:
    assert len(sealed) == 222
    assert sealed[:8] == MAGIC
    assert sealed[8:10] == b"\x01\x01"
    assert struct.unpack(">III", sealed[10:22]) == (8192, 1, 1)


def test_the_data_key_is_shared_by_sealer_and_opener(keys: StationKeys, sealed: bytes) -> None:
    data, at_seal = seal_key_file(keys, PASSPHRASE, TEST)
    at_open = open_key_file(data, PASSPHRASE)
    assert at_seal.derive_key(b"x") == at_open.derive_key(b"x")
    assert at_open.derive_key(b"x") != at_open.derive_key(b"y")
    assert open_key_file(sealed, PASSPHRASE).derive_key(b"x") != at_open.derive_key(b"x")


def test_no_private_key_bytes_in_clear(keys: StationKeys) -> None:
    data, unlocked = seal_key_file(keys, PASSPHRASE, TEST)
    secrets = [keys.private_bytes()[i : i + 32] for i in (0, 32, 64)]
    secrets.append(unlocked._data_key)
    for secret in secrets:
        for start in range(0, 32 - 8 + 1):
            assert secret[start : start + 8] not in data
    assert PASSPHRASE not in data


def test_wrong_passphrase_is_refused(sealed: bytes) -> None:
    with pytest.raises(WrongPassphraseError) as caught:
        open_key_file(sealed, normalise_passphrase("correct horse battery stapler"))
    assert caught.value.exit_code == ExitCode.WRONG_PASSPHRASE


def test_passphrases_are_compared_after_nfc(keys: StationKeys) -> None:
    composed = unicodedata.normalize("NFC", "mot de passe élevé")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    data, _ = seal_key_file(keys, normalise_passphrase(composed), TEST)
    open_key_file(data, normalise_passphrase(decomposed))


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(PassphraseUnavailableError):
        normalise_passphrase("")


def test_every_truncation_and_extension_is_corrupt(sealed: bytes) -> None:
    for length in range(len(sealed)):
        with pytest.raises(KeyFileCorruptError) as caught:
            open_key_file(sealed[:length], PASSPHRASE)
        assert caught.value.exit_code == ExitCode.KEY_FILE_CORRUPT
    with pytest.raises(KeyFileCorruptError):
        open_key_file(sealed + b"\x00", PASSPHRASE)


@pytest.mark.parametrize(
    ("offset", "value"),
    [(0, 0x88), (7, 0x00), (8, 2), (9, 2)],
    ids=["magic", "magic end", "version", "kdf"],
)
def test_unknown_format_is_corrupt(sealed: bytes, offset: int, value: int) -> None:
    data = bytearray(sealed)
    data[offset] = value
    with pytest.raises(KeyFileCorruptError):
        open_key_file(bytes(data), PASSPHRASE)


@pytest.mark.parametrize(
    "params",
    [
        (4096, 1, 1),
        (2**20 + 1, 1, 1),
        (2**32 - 1, 1, 1),
        (8192, 0, 1),
        (8192, 11, 1),
        (8192, 1, 0),
        (8192, 1, 17),
    ],
)
def test_kdf_parameters_out_of_bounds_are_refused_before_running(
    sealed: bytes, params: tuple[int, int, int]
) -> None:
    with pytest.raises(KeyFileCorruptError, match="out of bounds"):
        open_key_file(_with_header(sealed, *params), PASSPHRASE)


def test_the_header_is_authenticated(sealed: bytes) -> None:
    """A header changed within bounds derives another key: the file does not open."""
    with pytest.raises(WrongPassphraseError):
        open_key_file(_with_header(sealed, 8192, 2, 1), PASSPHRASE)
    salted = bytearray(sealed)
    salted[30] ^= 1
    with pytest.raises(WrongPassphraseError):
        open_key_file(bytes(salted), PASSPHRASE)


@pytest.mark.parametrize("offset", [38, 60, 97], ids=["wrap nonce", "wrapped key", "wrap tag"])
def test_damaged_wrapped_data_key_reads_as_wrong_passphrase(sealed: bytes, offset: int) -> None:
    data = bytearray(sealed)
    data[offset] ^= 0x40
    with pytest.raises(WrongPassphraseError):
        open_key_file(bytes(data), PASSPHRASE)


@pytest.mark.parametrize("offset", [98, 150, 221], ids=["keys nonce", "keys", "keys tag"])
def test_damaged_private_keys_are_corrupt(sealed: bytes, offset: int) -> None:
    data = bytearray(sealed)
    data[offset] ^= 0x40
    with pytest.raises(KeyFileCorruptError, match="damaged"):
        open_key_file(bytes(data), PASSPHRASE)


def test_reading_uses_the_parameters_in_the_header(keys: StationKeys) -> None:
    params = KdfParams(memory_kib=16 * 1024, iterations=2, lanes=2)
    data, _ = seal_key_file(keys, PASSPHRASE, params)
    assert struct.unpack(">III", data[10:22]) == (16 * 1024, 2, 2)
    assert open_key_file(data, PASSPHRASE).keys.public == keys.public


def test_sealing_refuses_parameters_a_reader_would_refuse(keys: StationKeys) -> None:
    with pytest.raises(ValueError, match="out of bounds"):
        seal_key_file(keys, PASSPHRASE, KdfParams(memory_kib=1024, iterations=1, lanes=1))


def test_profiles() -> None:
    strong = KDF_PROFILES["strong"]
    assert strong.within_bounds() and TEST.within_bounds()
    assert strong.memory_kib >= 256 * 1024 and strong.iterations >= 3
    assert TEST.memory_kib < strong.memory_kib


def test_unlocked_keys_repr_shows_no_secret(sealed: bytes) -> None:
    unlocked = open_key_file(sealed, PASSPHRASE)
    text = repr(unlocked)
    assert "_data_key" not in text
    assert unlocked._data_key.hex()[:16] not in text
    assert unlocked.keys.private_bytes().hex()[:16] not in text


def test_unlocked_keys_have_no_equality(keys: StationKeys, sealed: bytes) -> None:
    """``==`` would compare the data key byte by byte, in variable time: there is none."""
    data_key = bytes(range(32))
    first, second = UnlockedKeys(keys, TEST, data_key), UnlockedKeys(keys, TEST, data_key)
    assert first != second  # the very same fields, yet no comparison of them
    assert first == first  # noqa: PLR0124 (identity is all there is)
    unlocked = open_key_file(sealed, PASSPHRASE)
    assert "kdf=KdfParams(memory_kib=8192" in repr(unlocked)


@pytest.mark.parametrize(
    ("params", "weak"),
    [
        (KDF_PROFILES["test"], True),
        (KDF_PROFILES["strong"], False),
        (KdfParams(memory_kib=256 * 1024, iterations=2, lanes=4), True),  # fewer passes
        (KdfParams(memory_kib=128 * 1024, iterations=10, lanes=4), True),  # less memory
        (KdfParams(memory_kib=1024 * 1024, iterations=1, lanes=4), False),  # more of both
        (KdfParams(memory_kib=256 * 1024, iterations=3, lanes=1), False),  # lanes do not count
    ],
)
def test_weaker_than_strong(params: KdfParams, weak: bool) -> None:
    assert params.weaker_than(KDF_PROFILES["strong"]) is weak


def test_unlocked_keys_know_if_their_file_is_weak(
    keys: StationKeys, sealed: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    unlocked = open_key_file(sealed, PASSPHRASE)
    assert unlocked.kdf == TEST and unlocked.weak_kdf
    assert seal_key_file(keys, PASSPHRASE, TEST)[1].weak_kdf
    monkeypatch.setitem(KDF_PROFILES, "strong", TEST)  # judged against a floor it meets
    assert not unlocked.weak_kdf
