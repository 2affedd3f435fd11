"""Fixtures for station tests: a world of real ``hotline serve`` processes, always cleaned up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .stations import World, environment


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name in [name for name in os.environ if name.startswith("HOTLINE_")]:
        monkeypatch.delenv(name)
    for name, value in environment().items():
        if name.startswith("HOTLINE_"):
            monkeypatch.setenv(name, value)
    stations = World(tmp_path)
    try:
        yield stations
    finally:
        stations.close()
