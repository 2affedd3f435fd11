"""The layering arrows of DESIGN.md, enforced on the real source tree.

Each package named in :data:`RULES` may not import the modules listed for it, neither in its
source (checked with :mod:`ast`) nor indirectly when imported (checked in a fresh interpreter).
A new package joins the check by adding one line to :data:`RULES`; a package that does not
exist yet is skipped, so the rule can be written before the code.
"""

from __future__ import annotations

import pytest

from tests.conftest import PROJECT_ROOT
from tests.harness.layering import (
    IO_MODULES,
    OUTER_LAYERS,
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


def require_package(package: str) -> None:
    if not SRC.joinpath(*package.split(".")).is_dir():
        pytest.skip(f"{package} does not exist yet")


def test_the_noise_package_exists() -> None:
    assert (SRC / "hotline" / "noise" / "__init__.py").is_file()


@pytest.mark.parametrize("package", sorted(RULES))
def test_source_imports_nothing_forbidden(package: str) -> None:
    require_package(package)
    assert static_violations(SRC.joinpath(*package.split(".")), package, RULES[package]) == []


@pytest.mark.parametrize("package", sorted(RULES))
def test_importing_loads_nothing_forbidden(package: str) -> None:
    require_package(package)
    assert runtime_violations(package, RULES[package]) == []
