"""Run the ``hotline`` command in-process, as an operator would, and capture what it says."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.cli._options import WEAK_KDF_WARNING

PASSPHRASE = "the keying tape travels by courier"


@dataclass(frozen=True)
class Run:
    """The outcome of one command: exit status, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def notices(self) -> list[str]:
        """The lines on stderr, less the weak-KDF warning that every test station earns."""
        return [line for line in self.err.splitlines() if line != WEAK_KDF_WARNING]

    @property
    def error_line(self) -> str:
        """The one line an error must be, checked to be exactly one."""
        lines = self.notices
        assert len(lines) == 1, f"expected one line on stderr, got {self.err!r}"
        assert lines[0].startswith("hotline: "), lines[0]
        return lines[0]


Cli = Callable[..., Run]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli("--home", h, "card")`` runs ``hotline --home h card`` and returns its :class:`Run`.

    The test KDF profile and a passphrase in ``HOTLINE_PASSPHRASE`` are set unless a test
    changes them; ``stdin`` is what the operator types.
    """
    monkeypatch.setenv("HOTLINE_KDF_PROFILE", "test")
    monkeypatch.setenv("HOTLINE_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("HOTLINE_HOME", raising=False)

    def run(*args: str | Path, stdin: str = "", env: dict[str, str | None] | None = None) -> Run:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            patch.setattr(sys, "argv", ["hotline", *map(str, args)])
            patch.setattr(sys, "stdin", io.StringIO(stdin))
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return Run(code, out, err)

    return run


@pytest.fixture
def make_station(cli: Cli, tmp_path: Path) -> Callable[..., Path]:
    """Create a station named ``name`` listening on 127.0.0.1:``port``; return its home."""

    def make(name: str, port: int = 7401) -> Path:
        home = tmp_path / name
        result = cli("--home", home, "init", "--name", name, "--listen", f"127.0.0.1:{port}")
        assert result.code == 0, result.err
        return home

    return make


def fingerprint_of(cli: Cli, home: Path) -> str:
    """The code ``hotline fingerprint`` prints on its last line."""
    result = cli("--home", home, "fingerprint")
    assert result.code == 0, result.err
    return result.out.splitlines()[-1]


def card_file(cli: Cli, home: Path, target: Path) -> Path:
    """Write the station's armoured card to ``target``, as ``hotline card > target`` does."""
    result = cli("--home", home, "card")
    assert result.code == 0, result.err
    target.write_text(result.out)
    return target
