"""Passphrase sources: file, inherited descriptor, environment, prompt, in that order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.errors import ExitCode
from hotline.identity import PASSPHRASE_ENV, PassphraseUnavailableError, obtain_passphrase


def _never() -> str:
    raise AssertionError("the prompt must not be used when another source is given")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"secret\n", b"secret"),
        (b"secret\r\n", b"secret"),
        (b"secret", b"secret"),
        (b"secret\n\n", b"secret\n"),
        (b" two words \n", b" two words "),
        ("שלום עולם\n".encode(), "שלום עולם".encode()),
    ],
)
def test_file_strips_one_newline(tmp_path: Path, content: bytes, expected: bytes) -> None:
    path = tmp_path / "pass"
    path.write_bytes(content)
    assert obtain_passphrase(file=path, environ={PASSPHRASE_ENV: "env"}, prompt=_never) == expected


def test_fd_is_read_to_its_end_and_closed() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"from a pipe\n")
    os.close(write_end)
    assert obtain_passphrase(fd=read_end, prompt=_never) == b"from a pipe"
    with pytest.raises(OSError):
        os.fstat(read_end)


def test_environment_then_prompt() -> None:
    environ = {PASSPHRASE_ENV: "from env"}
    assert obtain_passphrase(environ=environ, prompt=_never) == b"from env"
    assert PASSPHRASE_ENV in environ
    assert obtain_passphrase(environ=environ, consume_env=True) == b"from env"
    assert PASSPHRASE_ENV not in environ
    assert obtain_passphrase(environ=environ, prompt=lambda: "typed") == b"typed"


@pytest.mark.parametrize(
    "case", ["both", "missing file", "empty", "too long", "not utf-8", "no source", "bad fd"]
)
def test_unusable_sources_are_refused(tmp_path: Path, case: str) -> None:
    path = tmp_path / "pass"
    kwargs: dict[str, object] = {"file": path}
    if case == "both":
        path.write_text("x")
        kwargs["fd"] = 0
    elif case == "empty":
        path.write_text("\n")
    elif case == "too long":
        path.write_bytes(b"x" * 5000)
    elif case == "not utf-8":
        path.write_bytes(b"\xff\xfe")
    elif case == "no source":
        kwargs = {"environ": {}}
    elif case == "bad fd":
        kwargs = {"fd": 1_000_000}  # far above any descriptor this process holds
    with pytest.raises(PassphraseUnavailableError) as caught:
        obtain_passphrase(**kwargs)  # type: ignore[arg-type]
    assert caught.value.exit_code == ExitCode.PASSPHRASE_UNAVAILABLE


# --- standard descriptors ------------------------------------------------------------------------
# Run in a child process: a descriptor this one depends on (pytest's stdout and stderr) must not
# be handed to code that might close it.

_CHILD = """
import os, sys
from hotline.identity import PassphraseUnavailableError, obtain_passphrase
try:
    print("passphrase", obtain_passphrase(fd=int(sys.argv[1])).decode(), flush=True)
except PassphraseUnavailableError as exc:
    print("refused", exc, flush=True)
os.fstat(0), os.fstat(1), os.fstat(2)  # all three still open
print("open", flush=True)
"""


def _child(fd: int, stdin: int | None = None, text: str = "") -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(fd)],
        input=None if stdin is not None else text.encode(),
        stdin=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().splitlines()


@pytest.mark.parametrize(("fd", "name"), [(1, "standard output"), (2, "standard error")])
def test_standard_output_and_error_are_refused_and_stay_open(fd: int, name: str) -> None:
    refusal, still_open = _child(fd)
    assert refusal.startswith(f"refused --passphrase-fd {fd} is {name}")
    assert still_open == "open"


def test_standard_input_is_read_and_left_open() -> None:
    assert _child(0, text="from stdin\n") == ["passphrase from stdin", "open"]


def test_a_terminal_on_standard_input_is_refused() -> None:
    """The passphrase would be typed in clear: the prompt (no echo) is the way to type it."""
    controller, terminal = os.openpty()
    try:
        refusal, still_open = _child(0, stdin=terminal)
    finally:
        os.close(controller)
        os.close(terminal)
    assert refusal.startswith("refused --passphrase-fd 0 is a terminal")
    assert still_open == "open"
