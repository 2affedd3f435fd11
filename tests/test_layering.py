"""The layering arrows of DESIGN.md, enforced on the real source tree.

Each package named in :data:`RULES` may not import the modules listed for it, neither in its
source (checked with :mod:`ast`) nor indirectly when imported (checked in a fresh interpreter).
A new package (or a single-module package such as ``hotline.signatures``) joins the check by
adding one line to :data:`RULES`; one that does not exist yet is skipped, so the rule can be
written before the code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.harness.layering import (
    IO_MODULES,
    OUTER_LAYERS,
    imported_names,
    is_forbidden,
    runtime_violations,
    static_violations,
)

SRC = PROJECT_ROOT / "src"

#: The sans-IO core: bytes and ``now`` in, bytes and events out; no I/O, no clock, no logging,
#: and nothing from the layers built on top of it.
SANS_IO_FORBIDDEN = IO_MODULES | OUTER_LAYERS

#: package -> modules it must not import (their submodules included).
RULES: dict[str, frozenset[str]] = {
    "hotline.noise": SANS_IO_FORBIDDEN,
    "hotline.handshake": SANS_IO_FORBIDDEN,
    "hotline.session": SANS_IO_FORBIDDEN,
    "hotline.record": SANS_IO_FORBIDDEN,
    "hotline.delivery": SANS_IO_FORBIDDEN,
    # The offline verifier: nothing but the file (cards and record), no I/O of its own.
    "hotline.verify": SANS_IO_FORBIDDEN,
    # The watch's decisions (alarms, escalations); only the clock check asks the kernel.
    "hotline.watch": SANS_IO_FORBIDDEN,
    # The hybrid signature shared by the identity layer, the handshake and the record.
    "hotline.signatures": SANS_IO_FORBIDDEN,
    # The I/O layers, by DESIGN.md's arrows: the line never sees the store or the daemon, the
    # store never sees the network, the API imports no daemon internals.
    "hotline.line": frozenset(
        {"sqlite3", "hotline.store", "hotline.station", "hotline.api", "hotline.cli"}
    ),
    "hotline.store": frozenset(
        {"asyncio", "socket", "hotline.line", "hotline.station", "hotline.api", "hotline.cli"}
    ),
    "hotline.api": frozenset(
        {"sqlite3", "hotline.line", "hotline.store", "hotline.station", "hotline.cli"}
    ),
}


def source_of(package: str) -> Path:
    """The package's directory, or its one ``.py`` file; skip the test if neither exists."""
    directory = SRC.joinpath(*package.split("."))
    if directory.is_dir():
        return directory
    module = directory.with_suffix(".py")
    if module.is_file():
        return module
    pytest.skip(f"{package} does not exist yet")


def violations_in(source: Path, package: str, forbidden: frozenset[str]) -> list[str]:
    """:func:`static_violations` for a package directory or a single module file."""
    if source.is_dir():
        return static_violations(source, package, forbidden)
    names = imported_names(source.read_text(encoding="utf-8"), package, is_package=False)
    return sorted(
        f"{source}:{line}: imports {name}" for line, name in names if is_forbidden(name, forbidden)
    )


def test_the_noise_package_exists() -> None:
    assert (SRC / "hotline" / "noise" / "__init__.py").is_file()


@pytest.mark.parametrize("package", sorted(RULES))
def test_source_imports_nothing_forbidden(package: str) -> None:
    assert violations_in(source_of(package), package, RULES[package]) == []


@pytest.mark.parametrize("package", sorted(RULES))
def test_importing_loads_nothing_forbidden(package: str) -> None:
    source_of(package)
    assert runtime_violations(package, RULES[package]) == []


def test_a_single_module_package_is_checked_too(tmp_path: Path) -> None:
    """The file branch of :func:`violations_in` can fail: a forbidden import in a module file."""
    module = tmp_path / "probe.py"
    module.write_text("from hashlib import sha512\nimport time\n")
    assert violations_in(module, "probe", SANS_IO_FORBIDDEN) == [f"{module}:2: imports time"]
