"""A station's home: one directory, three files, checked before anything in it is trusted.

::

    <home>/            mode 0700, owned by the operator's uid, not group- or world-writable
      station.toml     the configuration (written last by init: its presence means "a station")
      keys.hkey        the encrypted private keys and data key (docs/identity.md §5), mode 0600
      peers.json       the pinned cards, under an HMAC tag (docs/identity.md §6), mode 0600

A home someone else owns or can write could have had its pins or configuration swapped, so it
is refused rather than warned about. Every write is atomic (temporary file, fsync, rename,
fsync of the directory), so a crash leaves the old file or the new, never half of one; a
temporary file a crash left behind is removed by a later write. ``init`` links its files into
place instead of renaming them, so a second ``init`` racing the first fails instead of
overwriting its keys. A crash in the middle of ``init`` leaves key or pin files without
``station.toml``: every command then says so, and how to recover, in one line.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import time
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
#: The temporary files of :func:`_write_atomic`: ``.<target>.<16 hex digits>.tmp``.
_OWN_NAMES: Final = "|".join(re.escape(name) for name in (CONFIG_FILE, KEYS_FILE, PEERS_FILE))
_TEMPORARY_RE: Final = re.compile(rf"\.(?:{_OWN_NAMES})\.[0-9a-f]{{16}}\.tmp")
#: A temporary file is renamed within milliseconds of its creation; one untouched for a minute
#: was left by a crash. (Younger ones may be another process's write in progress.)
STALE_TEMPORARY_AGE: Final = 60.0


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


def _read(path: Path, limit: int, error: type[HotlineError], prefix: str = "") -> bytes | None:
    """Return up to ``limit + 1`` bytes of the regular file ``path``, or ``None`` if it is absent.

    ``O_NONBLOCK`` keeps a FIFO put in the file's place from blocking the open; the type is
    then checked on the open descriptor, so it cannot change in between.

    Raises:
        error: ``path`` is a directory, a FIFO, a device, a socket (message ``prefix`` + why).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{prefix}{path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            return stream.read(limit + 1)
    finally:
        os.close(fd)


def _remove_stale_temporaries(directory: Path, now: float) -> None:
    """Delete the temporary files of ours that a crash left in ``directory``.

    They hold old pins (a rollback waiting to happen) or a copy of the key file, so they are
    not left to accumulate; only regular files named as :func:`_write_atomic` names them and
    older than :data:`STALE_TEMPORARY_AGE` are touched.
    """
    with os.scandir(directory) as entries:
        for entry in entries:
            if not _TEMPORARY_RE.fullmatch(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_TEMPORARY_AGE:
                    os.unlink(entry.path)
            except FileNotFoundError:  # another writer removed it first
                continue


def _write_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Replace ``path`` with ``data`` (mode 0600) so that a crash leaves old or new, whole.

    Args:
        path: the file to write, in the home.
        data: its new contents.
        exclusive: fail if ``path`` already exists (``init``): the temporary file is hard-linked
            to ``path``, which, unlike a rename, never replaces an existing file.

    Raises:
        FileExistsError: ``exclusive`` and ``path`` exists.
    """
    _remove_stale_temporaries(path.parent, time.time())
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), 0o600)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if exclusive:
            os.link(temporary, path)
            temporary.unlink()
        else:
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
            HomeMissingError: ``path`` does not exist or holds no ``station.toml`` (the
                message says how to recover when key or pin files are there without it).
            HomeUnsafeError: not a directory, someone else's, or group/world-writable.
            ConfigError: ``station.toml`` is not a regular file.
        """
        _check_directory(path)
        home = cls(path)
        try:
            info = home.config_path.stat()
        except FileNotFoundError:
            raise HomeMissingError(home._no_config()) from None
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{home.config_path} is not a regular file")
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
        if os.path.lexists(home.config_path):
            raise StationExistsError(
                f"{path} already holds a station ({CONFIG_FILE}): not overwriting it"
            )
        if home._leftovers():
            raise StationExistsError(home._no_config())

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
            StationExistsError: a station (or part of one) is already there, or another
                ``init`` wrote one of the files first.
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
                try:
                    _write_atomic(target, data, exclusive=True)
                except FileExistsError:
                    raise StationExistsError(
                        f"{path} already holds a station ({target.name} appeared while this"
                        " init ran: another init?): not overwriting it"
                    ) from None
                written.append(target)
        except BaseException:
            for target in written:
                target.unlink(missing_ok=True)
            raise
        return station

    def _leftovers(self) -> list[str]:
        """The key and pin files present (with or without ``station.toml``)."""
        return [p.name for p in (self.keys_path, self.peers_path) if os.path.lexists(p)]

    def _no_config(self) -> str:
        """Why this home is not a station (it has no ``station.toml``), and what to do."""
        leftovers = self._leftovers()
        if not leftovers:
            return f"{self.path} holds no station (no {CONFIG_FILE}): run init first"
        return (
            f"{self.path} holds {' and '.join(leftovers)} but no {CONFIG_FILE}: an init was"
            f" interrupted, or {CONFIG_FILE} was removed. If this station was never used,"
            f" delete {' and '.join(leftovers)} and run init again; otherwise restore"
            f" {CONFIG_FILE} from a backup"
        )

    def read_config(self) -> StationConfig:
        """Return the parsed ``station.toml``.

        Raises:
            ConfigError: missing, not a regular file, unreadable or invalid.
        """
        raw = _read(self.config_path, MAX_CONFIG_LEN, ConfigError)
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
            KeyFileCorruptError: the key file is missing, not a regular file, truncated or
                damaged.
            WrongPassphraseError: the passphrase does not open the key file.
        """
        config = self.read_config()
        data = _read(
            self.keys_path, _MAX_KEY_FILE_READ, KeyFileCorruptError, "corrupted key file: "
        )
        if data is None:
            raise KeyFileCorruptError(f"corrupted key file: {self.keys_path} is missing")
        return UnlockedStation(self, config, open_key_file(data, passphrase))


@dataclass(frozen=True, slots=True, eq=False)
class UnlockedStation:
    """A station whose passphrase was given: its configuration, keys and data key.

    This is what the daemon holds while it runs. The ``repr`` shows no secret, and, like
    :class:`UnlockedKeys`, it has no ``==``.

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
            PeersFileError: missing, not a regular file, malformed or tampered with.
        """
        data = _read(self.home.peers_path, MAX_PEERS_FILE_LEN, PeersFileError)
        if data is None:
            raise PeersFileError(f"{self.home.peers_path} is missing")
        return PeerRegistry.decode(data, self._peers_mac_key())

    def save_peers(self, registry: PeerRegistry) -> None:
        """Write the pins to peers.json atomically (mode 0600), under a fresh integrity tag."""
        _write_atomic(self.home.peers_path, registry.encode(self._peers_mac_key()))
