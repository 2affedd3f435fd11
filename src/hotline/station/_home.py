"""A station's home: one directory, three files, checked before anything in it is trusted.

::

    <home>/            mode 0700, owned by the operator's uid, not group- or world-writable
      station.toml     the configuration (written last by init: its presence means "a station")
      keys.hkey        the encrypted private keys and data key (docs/identity.md §5), mode 0600
      peers.json       the pinned cards, under an HMAC tag (docs/identity.md §6), mode 0600

A home someone else owns or can write could have had its pins or configuration swapped, so it
is refused rather than warned about. Every write is atomic (temporary file, fsync, rename,
fsync of the directory), so a crash leaves the old file or the new, never half of one.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hotline.errors import ExitCode, HotlineError
from hotline.identity import (
    LABEL_PEERS_MAC,
    MAX_PEERS_FILE_LEN,
    Card,
    KdfParams,
    KeyFileCorruptError,
    PeerRegistry,
    PeersFileError,
    StationKeys,
    UnlockedKeys,
    open_key_file,
    seal_key_file,
)

from ._config import MAX_CONFIG_LEN, ConfigError, StationConfig

CONFIG_FILE: Final = "station.toml"
KEYS_FILE: Final = "keys.hkey"
PEERS_FILE: Final = "peers.json"
#: A key file is 222 bytes; reading a few KiB is enough to tell "too long" from "right".
_MAX_KEY_FILE_READ: Final = 4096


class HomeMissingError(HotlineError):
    """No station home was given, it does not exist, or it holds no station."""

    exit_code = ExitCode.HOME_MISSING


class HomeUnsafeError(HotlineError):
    """The home is not a directory, is owned by another user, or others can write to it."""

    exit_code = ExitCode.HOME_UNSAFE


class StationExistsError(HotlineError):
    """``init`` was pointed at a home that already holds a station."""

    exit_code = ExitCode.STATION_EXISTS


def _check_directory(path: Path) -> None:
    """Refuse a home that is not a directory of ours that only we can write."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise HomeMissingError(f"station home {path} does not exist (run init first)") from None
    if not stat.S_ISDIR(info.st_mode):
        raise HomeUnsafeError(f"station home {path} is not a directory")
    if info.st_uid != os.geteuid():
        raise HomeUnsafeError(
            f"station home {path} is owned by uid {info.st_uid}, not by you (uid {os.geteuid()})"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise HomeUnsafeError(
            f"station home {path} is writable by group or others (fix: chmod 700 {path})"
        )


def _read(path: Path, limit: int) -> bytes | None:
    """Return up to ``limit + 1`` bytes of ``path``, or ``None`` if it does not exist."""
    try:
        with path.open("rb") as stream:
            return stream.read(limit + 1)
    except FileNotFoundError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (mode 0600) so that a crash leaves old or new, whole."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), 0o600)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass(frozen=True, slots=True)
class StationHome:
    """A checked station home. Build it with :meth:`open` (existing) or :meth:`create` (init).

    Attributes:
        path: the home directory.
    """

    path: Path

    @property
    def config_path(self) -> Path:
        """``station.toml``."""
        return self.path / CONFIG_FILE

    @property
    def keys_path(self) -> Path:
        """``keys.hkey``."""
        return self.path / KEYS_FILE

    @property
    def peers_path(self) -> Path:
        """``peers.json``."""
        return self.path / PEERS_FILE

    @classmethod
    def open(cls, path: Path) -> StationHome:
        """Return the home at ``path`` after checking it holds a station we may trust.

        Raises:
            HomeMissingError: ``path`` does not exist or holds no ``station.toml``.
            HomeUnsafeError: not a directory, someone else's, or group/world-writable.
        """
        _check_directory(path)
        home = cls(path)
        if not home.config_path.is_file():
            raise HomeMissingError(f"{path} holds no station (no {CONFIG_FILE}): run init first")
        return home

    @classmethod
    def check_new(cls, path: Path) -> None:
        """Check, before asking for a passphrase, that :meth:`create` can use ``path``.

        Raises:
            StationExistsError: a station (or part of one) is already there.
            HomeUnsafeError: ``path`` exists and fails the home checks.
            HomeMissingError: neither ``path`` nor its parent exists.
        """
        if not path.exists():
            if not path.parent.is_dir():
                raise HomeMissingError(f"cannot create {path}: its parent does not exist")
            return
        _check_directory(path)
        home = cls(path)
        for existing in (home.config_path, home.keys_path, home.peers_path):
            if existing.exists():
                raise StationExistsError(
                    f"{path} already holds a station ({existing.name}): not overwriting it"
                )

    @classmethod
    def create(
        cls, path: Path, config: StationConfig, passphrase: bytes, kdf: KdfParams
    ) -> UnlockedStation:
        """Create a station: the home (mode 0700), fresh keys, an empty pin list, the config.

        Args:
            path: the home; created if missing (its parent must exist), else it must be safe.
            config: the station's configuration.
            passphrase: protects the key file (from ``obtain_passphrase``).
            kdf: the Argon2id cost to record in the key file.

        Returns:
            The new station, unlocked.

        Raises:
            StationExistsError: a station (or part of one) is already there.
            HomeMissingError: the parent directory does not exist.
            HomeUnsafeError: an existing ``path`` fails the home checks.
        """
        cls.check_new(path)
        if not path.exists():
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
        home = cls(path)
        key_file, unlocked = seal_key_file(StationKeys.generate(), passphrase, kdf)
        station = UnlockedStation(home, config, unlocked)
        written: list[Path] = []
        try:
            for target, data in (
                (home.keys_path, key_file),
                (home.peers_path, PeerRegistry().encode(station._peers_mac_key())),
                (home.config_path, config.dumps().encode("utf-8")),
            ):
                _write_atomic(target, data)
                written.append(target)
        except BaseException:
            for target in written:
                target.unlink(missing_ok=True)
            raise
        return station

    def read_config(self) -> StationConfig:
        """Return the parsed ``station.toml``.

        Raises:
            ConfigError: missing, unreadable or invalid.
        """
        raw = _read(self.config_path, MAX_CONFIG_LEN)
        if raw is None:
            raise ConfigError(f"{self.config_path} is missing")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{self.config_path} is not UTF-8") from None
        return StationConfig.loads(text)

    def unlock(self, passphrase: bytes) -> UnlockedStation:
        """Open the key file with ``passphrase`` and read the configuration.

        Raises:
            ConfigError: station.toml is invalid.
            KeyFileCorruptError: the key file is missing, truncated or damaged.
            WrongPassphraseError: the passphrase does not open the key file.
        """
        config = self.read_config()
        data = _read(self.keys_path, _MAX_KEY_FILE_READ)
        if data is None:
            raise KeyFileCorruptError(f"corrupted key file: {self.keys_path} is missing")
        return UnlockedStation(self, config, open_key_file(data, passphrase))


@dataclass(frozen=True, slots=True)
class UnlockedStation:
    """A station whose passphrase was given: its configuration, keys and data key.

    This is what the daemon holds while it runs. The ``repr`` shows no secret.

    Attributes:
        home: where the station lives.
        config: its configuration.
        unlocked: its private keys and data key.
    """

    home: StationHome
    config: StationConfig
    unlocked: UnlockedKeys

    @property
    def keys(self) -> StationKeys:
        """The station's private keys."""
        return self.unlocked.keys

    def card(self) -> Card:
        """Return the station's card (name and listen addresses from the config), freshly signed."""
        return Card.create(self.keys, self.config.name, self.config.listen)

    def _peers_mac_key(self) -> bytes:
        """The key of peers.json's integrity tag (a subkey of the data key)."""
        return self.unlocked.derive_key(LABEL_PEERS_MAC)

    def load_peers(self) -> PeerRegistry:
        """Return the pins from peers.json, after checking its integrity tag.

        Raises:
            PeersFileError: missing, malformed or tampered with.
        """
        data = _read(self.home.peers_path, MAX_PEERS_FILE_LEN)
        if data is None:
            raise PeersFileError(f"{self.home.peers_path} is missing")
        return PeerRegistry.decode(data, self._peers_mac_key())

    def save_peers(self, registry: PeerRegistry) -> None:
        """Write the pins to peers.json atomically (mode 0600), under a fresh integrity tag."""
        _write_atomic(self.home.peers_path, registry.encode(self._peers_mac_key()))
