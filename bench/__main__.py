"""Run every benchmark: ``python -m bench`` (``make bench``)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    """Import each ``bench_*`` module of this package and run its ``main()``."""
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            importlib.import_module(f"bench.{info.name}").main()
            print()


if __name__ == "__main__":
    main()
