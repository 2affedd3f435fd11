"""The README's exit-code table is the ExitCode enum, no more, no less."""

from __future__ import annotations

import re

from hotline.errors import ExitCode

from ..conftest import PROJECT_ROOT


def test_readme_lists_every_exit_code() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1]
    documented = {int(code) for code in re.findall(r"^\| +(\d+) \|", section, re.MULTILINE)}
    assert documented == {0} | {int(code) for code in ExitCode}
