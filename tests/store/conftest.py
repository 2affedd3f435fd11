"""Fixtures for the store: a fresh database, and Messages and Chains over it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.store import Chains, Messages, RowCipher, connect

from .helpers import KEY


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hotline.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(db_path)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def messages(db: sqlite3.Connection, db_path: Path) -> Messages:
    return Messages(db, db_path, RowCipher(KEY))


@pytest.fixture
def chains(db: sqlite3.Connection, db_path: Path) -> Chains:
    return Chains(db, db_path, RowCipher(KEY))
