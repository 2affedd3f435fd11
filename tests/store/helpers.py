"""Constants and a raw connection for the store's tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: Two lines (64-byte ids) and the key the tests seal with.
LINE = bytes(range(64))
OTHER_LINE = bytes(range(64, 128))
KEY = bytes(range(32))


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, as someone with the file but not the keys would open it."""
    return sqlite3.connect(path, isolation_level=None)
