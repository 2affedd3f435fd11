"""The hypothesis profiles from conftest.py: derandomized under CI, no deadline anywhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import settings

from tests.conftest import PROJECT_ROOT

#: Loads conftest.py the way pytest does and reports the profile it chose.
_PROBE = """\
import tests.conftest
from hypothesis import settings
s = settings()
print(settings._current_profile, s.derandomize, s.deadline)
"""


def test_the_active_profile_matches_the_environment() -> None:
    ci = os.environ.get("CI") == "true"
    assert settings._current_profile == ("ci" if ci else "dev")
    assert settings().derandomize is ci
    assert settings().deadline is None


@pytest.mark.parametrize(("ci", "expected"), [("true", "ci True None"), (None, "dev False None")])
def test_ci_true_selects_the_derandomized_profile(ci: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == expected
