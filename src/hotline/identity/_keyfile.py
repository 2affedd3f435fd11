"""The key file: a station's private keys at rest, under a passphrase (docs/identity.md §5).

Two layers, so a passphrase change never re-encrypts data and a thief with the disk but not
the passphrase faces Argon2id::

    passphrase --Argon2id(header params, salt)--> KEK --AES-256-GCM--> data key (32 random bytes)
    data key --HKDF-SHA512(LABEL_PRIVATE_KEYS)--> keys key --AES-256-GCM--> the private keys

The header (magic, version, KDF id and parameters, salt) is in clear, so a reader always uses
the parameters the file was written with, and it is the associated data of both AEADs, so
changing any header byte fails decryption. Layout, all integers big-endian::

    offset  size  field
         0     8  magic  89 48 4C 4B 0D 0A 1A 0A
         8     1  format version (1)
         9     1  KDF id (1 = Argon2id v0x13)
        10     4  Argon2id memory in KiB
        14     4  Argon2id iterations
        18     4  Argon2id lanes
        22    16  salt
        38    12  nonce of the wrapped data key
        50    48  AES-256-GCM(KEK, data key, ad=header[0:38])
        98    12  nonce of the private keys
       110   112  AES-256-GCM(keys key, x25519 || ed25519 || mldsa87 seed, ad=header[0:38])
       222        end (a longer or shorter file is corrupt)

The daemon encrypts its store under another subkey of the same data key
(:meth:`UnlockedKeys.derive_key`), so one passphrase opens the whole station.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ._codec import Reader, encode_uint
from ._constants import (
    DATA_KEY_LEN,
    KDF_ARGON2ID,
    KDF_MAX_ITERATIONS,
    KDF_MAX_LANES,
    KDF_MAX_MEMORY_KIB,
    KDF_MIN_ITERATIONS,
    KDF_MIN_LANES,
    KDF_MIN_MEMORY_KIB,
    KEYFILE_HEADER_LEN,
    KEYFILE_LEN,
    KEYFILE_MAGIC,
    KEYFILE_VERSION,
    LABEL_PRIVATE_KEYS,
    NONCE_LEN,
    PRIVATE_KEY_LEN,
    SALT_LEN,
    TAG_LEN,
)
from ._errors import KeyFileCorruptError, PassphraseUnavailableError, WrongPassphraseError
from ._keys import StationKeys


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost parameters (RFC 9106), recorded in every key file header.

    Attributes:
        memory_kib: memory in KiB (Argon2 ``m``).
        iterations: passes over memory (Argon2 ``t``).
        lanes: parallelism (Argon2 ``p``).
    """

    memory_kib: int
    iterations: int
    lanes: int

    def within_bounds(self) -> bool:
        """Whether these parameters are between the floor and the ceiling a reader accepts."""
        return (
            KDF_MIN_MEMORY_KIB <= self.memory_kib <= KDF_MAX_MEMORY_KIB
            and KDF_MIN_ITERATIONS <= self.iterations <= KDF_MAX_ITERATIONS
            and KDF_MIN_LANES <= self.lanes <= KDF_MAX_LANES
        )

    def weaker_than(self, other: KdfParams) -> bool:
        """Whether one passphrase guess costs an attacker less under these parameters.

        A guess costs memory (which bounds how many run at once on a GPU) and memory times
        passes (the work of each): these parameters are weaker if either is below ``other``'s.
        Lanes do not count: they split the same work across cores without adding to it.
        """
        return self.memory_kib < other.memory_kib or (
            self.memory_kib * self.iterations < other.memory_kib * other.iterations
        )


#: ``strong`` is the default: 256 MiB, 3 passes, 4 lanes (RFC 9106's second recommended
#: option, with more passes); about 0.8 s on one 2-core virtual machine. ``test`` is the floor
#: (8 MiB, 1 pass) for test suites only; the header records which one a file used.
KDF_PROFILES: Final = {
    "strong": KdfParams(memory_kib=256 * 1024, iterations=3, lanes=4),
    "test": KdfParams(memory_kib=KDF_MIN_MEMORY_KIB, iterations=1, lanes=1),
}


def normalise_passphrase(passphrase: str) -> bytes:
    """Return the bytes Argon2id is given for a passphrase: UTF-8 of its NFC normal form.

    NFC makes the same words typed on two keyboards (composed or decomposed accents, Hebrew
    points) the same key.

    Raises:
        PassphraseUnavailableError: the passphrase is empty.
    """
    if not passphrase:
        raise PassphraseUnavailableError("the passphrase is empty")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_subkey(data_key: bytes, label: bytes, length: int = 32) -> bytes:
    """Return ``HKDF-SHA512(ikm=data_key, salt=none, info=label)`` truncated to ``length``."""
    return HKDF(algorithm=hashes.SHA512(), length=length, salt=None, info=label).derive(data_key)


@dataclass(frozen=True, slots=True, eq=False)
class UnlockedKeys:
    """What a passphrase unlocks: the station's keys and its data key.

    The data key itself is never handed out; callers get purpose-bound subkeys from
    :meth:`derive_key`. Neither appears in the ``repr``, and there is no ``==``: comparing
    would compare the data key, byte by byte, in variable time (two unlocks are the same
    station when their public keys are equal).

    Attributes:
        keys: the station's private keys.
        kdf: the Argon2id parameters the key file was sealed with (public: they are in its
            header).
    """

    keys: StationKeys
    kdf: KdfParams
    _data_key: bytes = field(repr=False)

    @property
    def weak_kdf(self) -> bool:
        """Whether the key file is cheaper to attack than the ``strong`` profile makes it.

        Such a file was made with ``--kdf-profile test`` (or ``HOTLINE_KDF_PROFILE=test``), or
        had its parameters lowered: the command line warns on every unlock, so a weakened key
        file of a real station is never silent.
        """
        return self.kdf.weaker_than(KDF_PROFILES["strong"])

    def derive_key(self, label: bytes, length: int = 32) -> bytes:
        """Return the subkey of the data key for ``label`` (HKDF-SHA512, info = ``label``).

        Args:
            label: a purpose label unique to one use (e.g. ``LABEL_PEERS_MAC``).
            length: the key length in bytes.
        """
        return derive_subkey(self._data_key, label, length)


def _header(params: KdfParams, salt: bytes) -> bytes:
    return (
        KEYFILE_MAGIC
        + encode_uint(KEYFILE_VERSION, 1)
        + encode_uint(KDF_ARGON2ID, 1)
        + encode_uint(params.memory_kib, 4)
        + encode_uint(params.iterations, 4)
        + encode_uint(params.lanes, 4)
        + salt
    )


def _kek(passphrase: bytes, params: KdfParams, salt: bytes) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(passphrase)


def seal_key_file(
    keys: StationKeys, passphrase: bytes, params: KdfParams
) -> tuple[bytes, UnlockedKeys]:
    """Return a new key file for ``keys`` under ``passphrase``, with a fresh data key.

    Args:
        keys: the station's private keys.
        passphrase: from :func:`normalise_passphrase`.
        params: the Argon2id cost (a :data:`KDF_PROFILES` entry).

    Returns:
        The file's bytes, and the unlocked keys (so the caller can use the data key at once).

    Raises:
        ValueError: ``params`` are outside the bounds a reader would accept.
    """
    if not params.within_bounds():
        raise ValueError(f"Argon2id parameters out of bounds: {params}")
    salt = os.urandom(SALT_LEN)
    data_key = os.urandom(DATA_KEY_LEN)
    header = _header(params, salt)
    wrap_nonce, keys_nonce = os.urandom(NONCE_LEN), os.urandom(NONCE_LEN)
    wrapped = AESGCM(_kek(passphrase, params, salt)).encrypt(wrap_nonce, data_key, header)
    keys_key = derive_subkey(data_key, LABEL_PRIVATE_KEYS)
    sealed = AESGCM(keys_key).encrypt(keys_nonce, keys.private_bytes(), header)
    file = header + wrap_nonce + wrapped + keys_nonce + sealed
    return file, UnlockedKeys(keys, params, data_key)


def open_key_file(data: bytes, passphrase: bytes) -> UnlockedKeys:
    """Decrypt a key file.

    Args:
        data: the file's bytes.
        passphrase: from :func:`normalise_passphrase`.

    Returns:
        The station's keys and data key.

    Raises:
        KeyFileCorruptError: wrong magic, unknown version or KDF, wrong length, Argon2id
            parameters out of bounds, or private keys that fail to decrypt under a correct
            passphrase.
        WrongPassphraseError: the data key does not unwrap under this passphrase.
    """
    if not data.startswith(KEYFILE_MAGIC):
        raise KeyFileCorruptError("corrupted key file: not a Hotline key file (bad magic)")
    reader = Reader(data, KeyFileCorruptError, "key file")
    reader.pull_bytes(len(KEYFILE_MAGIC))
    version, kdf = reader.pull_uint(1), reader.pull_uint(1)
    if version != KEYFILE_VERSION or kdf != KDF_ARGON2ID:
        raise KeyFileCorruptError(
            f"corrupted key file: unknown format version {version} / KDF {kdf}"
        )
    if len(data) != KEYFILE_LEN:
        raise KeyFileCorruptError(
            f"corrupted key file: {len(data)} bytes, expected {KEYFILE_LEN} (truncated?)"
        )
    params = KdfParams(reader.pull_uint(4), reader.pull_uint(4), reader.pull_uint(4))
    if not params.within_bounds():
        raise KeyFileCorruptError(f"corrupted key file: Argon2id parameters out of bounds {params}")
    salt = reader.pull_bytes(SALT_LEN)
    header = data[:KEYFILE_HEADER_LEN]
    wrap_nonce, wrapped = reader.pull_bytes(NONCE_LEN), reader.pull_bytes(DATA_KEY_LEN + TAG_LEN)
    keys_nonce = reader.pull_bytes(NONCE_LEN)
    sealed = reader.pull_bytes(3 * PRIVATE_KEY_LEN + TAG_LEN)
    reader.finish()
    try:
        data_key = AESGCM(_kek(passphrase, params, salt)).decrypt(wrap_nonce, wrapped, header)
    except InvalidTag:
        raise WrongPassphraseError("wrong passphrase (the key file did not open)") from None
    try:
        private = AESGCM(derive_subkey(data_key, LABEL_PRIVATE_KEYS)).decrypt(
            keys_nonce, sealed, header
        )
    except InvalidTag:
        raise KeyFileCorruptError(
            "corrupted key file: the passphrase is right but the private keys are damaged"
        ) from None
    keys = StationKeys.from_private_bytes(
        private[:PRIVATE_KEY_LEN],
        private[PRIVATE_KEY_LEN : 2 * PRIVATE_KEY_LEN],
        private[2 * PRIVATE_KEY_LEN :],
    )
    return UnlockedKeys(keys, params, data_key)
