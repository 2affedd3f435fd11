"""Checks that a package imports only what its layer allows.

DESIGN.md's arrows are the only allowed imports, and the sans-IO packages must not reach for
sockets, asyncio, SQLite, clocks or logging. Two checks enforce that, because each misses what
the other sees:

- :func:`static_violations` reads every ``.py`` file with :mod:`ast` and reports any import
  statement that names a forbidden module (``import x``, ``import x.y``, ``from x import y``,
  relative imports resolved, ``__import__("x")`` and ``importlib.import_module("x")`` with a
  literal name). It sees imports in code that never runs at import time.
- :func:`runtime_violations` imports the package in a fresh interpreter and reports forbidden
  modules that appear in ``sys.modules`` only because of it (compared with an interpreter that
  imported nothing, since ``time`` and friends are loaded at start-up). It sees imports that
  arrive indirectly, through another module.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

#: Modules that do I/O, keep time or log: none of them belongs in a sans-IO package.
IO_MODULES = frozenset(
    {"asyncio", "socket", "sqlite3", "time", "logging", "threading", "selectors", "subprocess"}
)

#: Hotline's outer layers, which the sans-IO core sits beneath and must never import.
OUTER_LAYERS = frozenset(
    {"hotline.station", "hotline.line", "hotline.store", "hotline.api", "hotline.cli"}
)

#: Run in a fresh interpreter: put argv[2:] on sys.path, import argv[1] (if any), list modules.
_PROBE = """\
import importlib, sys
sys.path[:0] = sys.argv[2:]
if sys.argv[1]:
    importlib.import_module(sys.argv[1])
print("\\n".join(sorted(sys.modules)))
"""


def is_forbidden(module: str, forbidden: Iterable[str]) -> bool:
    """True if ``module`` is one of ``forbidden`` or a submodule of one."""
    return any(module == name or module.startswith(name + ".") for name in forbidden)


def imported_names(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every module an import in ``source`` may load, as ``(line, dotted name)``.

    Args:
        source: the text of one Python file.
        module: that file's dotted module name (``hotline.noise._state``), to resolve relative
            imports against.
        is_package: the file is a package's ``__init__.py``.

    ``from x import y`` yields both ``x`` and ``x.y``, because ``y`` may be a submodule.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parts = package[: len(package) - (node.level - 1)]
                base = ".".join([*parts, node.module] if node.module else parts)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def static_violations(package_dir: Path, package: str, forbidden: Iterable[str]) -> list[str]:
    """Import statements under ``package_dir`` that name a forbidden module.

    Args:
        package_dir: the directory of the package (``src/hotline/noise``).
        package: its dotted name (``hotline.noise``).
        forbidden: module names; their submodules are forbidden too.

    Returns:
        ``"path:line: imports name"`` for each offence, sorted; empty when the package is clean.
    """
    forbidden = frozenset(forbidden)
    found: set[str] = set()
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join([package, *(parts[:-1] if is_package else parts)])
        source = path.read_text(encoding="utf-8")
        for line, name in imported_names(source, module, is_package=is_package):
            if is_forbidden(name, forbidden):
                found.add(f"{path}:{line}: imports {name}")
    return sorted(found)


def runtime_violations(
    package: str, forbidden: Iterable[str], sys_path: Sequence[str] = ()
) -> list[str]:
    """Forbidden modules that importing ``package`` newly loads, in a fresh interpreter.

    Args:
        package: the dotted name to import.
        forbidden: module names; their submodules are forbidden too.
        sys_path: directories put in front of ``sys.path`` in both interpreters.

    Returns:
        The offending module names, sorted; empty when the package is clean.

    Raises:
        RuntimeError: the package failed to import (its traceback is in the message).
    """
    baseline = loaded_modules("", tuple(sys_path))
    loaded = loaded_modules(package, tuple(sys_path))
    return sorted(m for m in loaded - baseline if is_forbidden(m, frozenset(forbidden)))


@functools.cache
def loaded_modules(package: str, sys_path: tuple[str, ...] = ()) -> frozenset[str]:
    """``sys.modules`` of a fresh interpreter after importing ``package`` ("" for none)."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, package, *sys_path],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing {package or 'nothing'} failed:\n{result.stderr}")
    return frozenset(result.stdout.split())
