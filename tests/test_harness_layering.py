"""The layering checker itself: it must catch every way a forbidden import can be written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.harness.layering import (
    IO_MODULES,
    OUTER_LAYERS,
    imported_names,
    is_forbidden,
    runtime_violations,
    static_violations,
)

FORBIDDEN = IO_MODULES | OUTER_LAYERS


def write_package(root: Path, files: dict[str, str]) -> Path:
    """Create ``root/fakepkg`` with the given files (relative paths) and return its directory."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root / "fakepkg"


@pytest.mark.parametrize(
    ("statement", "offender"),
    [
        ("import asyncio", "asyncio"),
        ("import asyncio.subprocess", "asyncio.subprocess"),
        ("import time as clock", "time"),
        ("from socket import socket", "socket"),
        ("from asyncio import subprocess", "asyncio.subprocess"),
        ("from logging.handlers import QueueHandler", "logging.handlers"),
        ("def f():\n    import sqlite3", "sqlite3"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import selectors", "selectors"),
        ("import os, threading", "threading"),
        ("__import__('subprocess')", "subprocess"),
        ("import importlib\nimportlib.import_module('time')", "time"),
        ("from ..station import Daemon", "hotline.station"),
        ("from .. import cli", "hotline.cli"),
        ("from hotline.store._db import Store", "hotline.store._db"),
        ("import hotline.api", "hotline.api"),
    ],
)
def test_each_spelling_of_a_forbidden_import_is_caught(
    tmp_path: Path, statement: str, offender: str
) -> None:
    package = write_package(
        tmp_path, {"fakepkg/__init__.py": "", "fakepkg/_mod.py": statement + "\n"}
    )
    found = static_violations(package, "hotline.fakepkg", FORBIDDEN)
    assert any(line.endswith(f"imports {offender}") for line in found), found
    assert all("_mod.py:" in line for line in found)


@pytest.mark.parametrize(
    "statement",
    [
        "import os, hashlib, hmac, struct",
        "from datetime import time",
        "from foo import socket",
        "import timeit",
        "import hotline.errors",
        "from hotline.noise import Handshake",
        "from . import _state",
        "from .._util import helper",
        "from cryptography.hazmat.primitives import hashes",
        "import asynciox",
    ],
)
def test_allowed_imports_are_not_reported(tmp_path: Path, statement: str) -> None:
    package = write_package(tmp_path, {"fakepkg/__init__.py": "", "fakepkg/_mod.py": statement})
    assert static_violations(package, "hotline.fakepkg", FORBIDDEN) == []


def test_relative_imports_resolve_from_packages_and_modules() -> None:
    in_init = dict.fromkeys(
        name for _, name in imported_names("from . import x", "a.b", is_package=True)
    )
    in_module = dict.fromkeys(
        name for _, name in imported_names("from .. import x", "a.b.c", is_package=False)
    )
    assert list(in_init) == ["a.b", "a.b.x"]
    assert list(in_module) == ["a", "a.x"]


def test_nested_files_are_checked(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "fakepkg/__init__.py": "",
            "fakepkg/sub/__init__.py": "from ...line import Path\n",
            "fakepkg/sub/_deep.py": "import selectors\n",
        },
    )
    found = static_violations(package, "hotline.fakepkg", FORBIDDEN)
    assert [line.split(": ", 1)[1] for line in found] == [
        "imports hotline.line",
        "imports hotline.line.Path",
        "imports selectors",
    ]


def test_is_forbidden_matches_submodules_not_prefixes() -> None:
    assert is_forbidden("asyncio.subprocess", {"asyncio"})
    assert is_forbidden("asyncio", {"asyncio"})
    assert not is_forbidden("asynciox", {"asyncio"})
    assert not is_forbidden("hotline.stationery", {"hotline.station"})


def test_runtime_check_sees_indirect_imports(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "fakepkg/__init__.py": "from . import _helper\n",
            "fakepkg/_helper.py": "import json\nfrom sqlite3 import connect\n",
            "cleanpkg/__init__.py": "import hashlib, struct\n",
        },
    )
    found = runtime_violations("fakepkg", FORBIDDEN, sys_path=[str(tmp_path)])
    assert "sqlite3" in found
    assert runtime_violations("cleanpkg", FORBIDDEN, sys_path=[str(tmp_path)]) == []


def test_runtime_check_ignores_modules_loaded_at_start_up(tmp_path: Path) -> None:
    # `time` is in sys.modules before any import (the interpreter loads it): only a delta counts.
    write_package(tmp_path, {"usestime/__init__.py": "import time\n"})
    assert runtime_violations("usestime", {"time"}, sys_path=[str(tmp_path)]) == []
    assert static_violations(tmp_path / "usestime", "usestime", {"time"}) != []


def test_a_package_that_fails_to_import_is_an_error(tmp_path: Path) -> None:
    write_package(tmp_path, {"brokenpkg/__init__.py": "raise ImportError('nope')\n"})
    with pytest.raises(RuntimeError, match="nope"):
        runtime_violations("brokenpkg", FORBIDDEN, sys_path=[str(tmp_path)])
