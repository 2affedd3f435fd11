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

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ._errors import ApiError, NotRunningError

TOKEN_FILE: Final = "api.token"  # noqa: S105 (a file name, not a secret)
DAEMON_FILE: Final = "daemon.json"
#: 32 random bytes: far beyond guessing, as hex so it fits an HTTP header as is.
TOKEN_BYTES: Final = 32
_TOKEN_RE: Final = re.compile(r"[0-9a-f]{64}")
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
        if not isinstance(info.pid, int) or not str(info.api).startswith("http://127.0.0.1:"):
            raise ApiError(f"{home / DAEMON_FILE} is malformed")
        return info

    @staticmethod
    def remove(home: Path) -> None:
        """Remove ``<home>/daemon.json`` (clean stop)."""
        (home / DAEMON_FILE).unlink(missing_ok=True)


def load_or_create_token(home: Path) -> str:
    """Return the API token, creating ``<home>/api.token`` (mode 0600) if there is none.

    Raises:
        ApiError: the file exists but does not hold a token.
    """
    path = home / TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return read_token(home)
    token = secrets.token_hex(TOKEN_BYTES)
    with os.fdopen(fd, "w") as stream:
        stream.write(token + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    return token


def read_token(home: Path) -> str:
    """Return the API token from ``<home>/api.token``.

    Raises:
        NotRunningError: there is no token file (no daemon ever ran here).
        ApiError: it does not hold a token.
    """
    try:
        text = (home / TOKEN_FILE).read_text(encoding="ascii", errors="replace")[:200].strip()
    except FileNotFoundError:
        raise NotRunningError("the station is not running (no api.token)") from None
    if not _TOKEN_RE.fullmatch(text):
        raise ApiError(f"{home / TOKEN_FILE} does not hold an API token (delete it to renew)")
    return text


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
