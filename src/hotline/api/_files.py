"""The two files that let a local client find and authenticate to the daemon.

::

    <home>/api.token     64 hex digits (32 random bytes), mode 0600; created once, kept
    <home>/daemon.json   {"pid": ..., "api": "http://127.0.0.1:PORT", "started_at": ...}, 0600;
                         written when the daemon is serving, removed at a clean stop

Only the operator's account can read either (the home is 0700 too), so holding the token is
the proof of being the operator. The token survives restarts so that a long-running client
keeps working; delete the file to change it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ._errors import ApiError, NotRunningError

TOKEN_FILE: Final = "api.token"  # noqa: S105 (a file name, not a secret)
DAEMON_FILE: Final = "daemon.json"
#: Held (flock, exclusive) by a serving daemon for its whole life; the kernel drops it at exit,
#: even at SIGKILL, so it tells a live daemon.json from one a killed daemon left behind.
LOCK_FILE: Final = "daemon.lock"
#: Exactly the loopback URL a daemon writes: nothing else may receive the token.
_API_RE: Final = re.compile(r"http://127\.0\.0\.1:\d{1,5}")
#: 32 random bytes: far beyond guessing, as hex so it fits an HTTP header as is.
TOKEN_BYTES: Final = 32
_TOKEN_RE: Final = re.compile(r"[0-9a-f]{64}")
#: api.token is 65 bytes; reading 200 tells "too long" from "right".
_MAX_TOKEN_FILE: Final = 200
#: daemon.json is a few dozen bytes; reading 4 KiB tells "too long" from "right".
_MAX_DAEMON_FILE: Final = 4096


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    """What ``daemon.json`` says.

    Attributes:
        pid: the daemon's process id.
        api: the base URL of its local API.
        started_at: when it started, ISO 8601 UTC.
    """

    pid: int
    api: str
    started_at: str

    def write(self, home: Path) -> None:
        """Write ``<home>/daemon.json`` atomically, mode 0600."""
        data = json.dumps({"pid": self.pid, "api": self.api, "started_at": self.started_at})
        _write_private(home / DAEMON_FILE, (data + "\n").encode())

    @classmethod
    def read(cls, home: Path) -> DaemonInfo:
        """Read ``<home>/daemon.json``.

        Raises:
            NotRunningError: there is none (the station is not running).
            ApiError: it is malformed.
        """
        try:
            with (home / DAEMON_FILE).open("rb") as stream:
                raw = stream.read(_MAX_DAEMON_FILE + 1)
        except FileNotFoundError:
            raise NotRunningError("the station is not running (no daemon.json)") from None
        try:
            document = json.loads(raw)
            info = cls(document["pid"], document["api"], document["started_at"])
        except (ValueError, KeyError, TypeError):
            raise ApiError(f"{home / DAEMON_FILE} is malformed") from None
        if not isinstance(info.pid, int) or not _API_RE.fullmatch(str(info.api)):
            raise ApiError(f"{home / DAEMON_FILE} is malformed")
        if not _daemon_holds_lock(home):
            raise NotRunningError("the station is not running (stale daemon.json)")
        return info

    @staticmethod
    def remove(home: Path) -> None:
        """Remove ``<home>/daemon.json`` (clean stop)."""
        (home / DAEMON_FILE).unlink(missing_ok=True)


def _daemon_holds_lock(home: Path) -> bool:
    """Whether a daemon holds ``<home>/daemon.lock`` now.

    Trusting a daemon.json left by a killed daemon would hand the token to whatever now listens
    on its port. If we can take a shared lock, no daemon holds the exclusive one. A home without
    the lock file at all was never served by a daemon; daemon.json there was written by hand (or
    a test harness), so only the URL check guards it.
    """
    try:
        fd = os.open(home / LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock if we took it
    return False


def load_or_create_token(home: Path) -> str:
    """Return the API token, creating ``<home>/api.token`` (mode 0600) if there is none.

    The file appears whole or not at all: written under a temporary name, then linked into
    place (a link never replaces a file, so two daemons starting at once agree on one token).

    Raises:
        ApiError: the file exists but does not hold a token, or is not safe (see
            :func:`read_token`).
    """
    path = home / TOKEN_FILE
    if not path.is_symlink() and not path.exists():
        token = secrets.token_hex(TOKEN_BYTES)
        temporary = _write_temporary(path, (token + "\n").encode())
        try:
            os.link(temporary, path, follow_symlinks=False)
        except FileExistsError:
            pass  # another process made one first: use its token
        finally:
            temporary.unlink(missing_ok=True)
    return read_token(home)


def read_token(home: Path) -> str:
    """Return the API token from ``<home>/api.token``.

    The token is the operator's credential: a file another account could read or plant
    (a symlink, a group- or world-accessible mode, another owner) is refused, not used.

    Raises:
        NotRunningError: there is no token file (no daemon ever ran here).
        ApiError: it does not hold a token, or is not a private regular file of ours.
    """
    path = home / TOKEN_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise NotRunningError("the station is not running (no api.token)") from None
    except OSError as exc:
        raise ApiError(
            f"{path} cannot be opened ({exc.strerror}; it must not be a symlink)"
        ) from None
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            raise ApiError(f"{path} is not a regular file owned by this account")
        if stat.S_IMODE(info.st_mode) & 0o077:
            mode = oct(stat.S_IMODE(info.st_mode))[2:]
            raise ApiError(f"{path} has mode {mode}; it must be 0600 (chmod 600 it)")
        text = stream.read(_MAX_TOKEN_FILE).decode("ascii", errors="replace").strip()
    if not _TOKEN_RE.fullmatch(text):
        raise ApiError(f"{path} does not hold an API token (delete it to renew)")
    return text


def _write_private(path: Path, data: bytes) -> None:
    temporary = _write_temporary(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_temporary(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new mode-0600 file beside ``path``; return its name."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary
