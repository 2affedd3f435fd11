"""``hotline`` on a build without ML-KEM-1024 or ML-DSA-87: exit 69 and one line, any command.

Two ways in: in-process (``main`` with the self-test's primitive made to fail, as
``tests/handshake/test_support.py`` does for the check itself), and a real process whose
``sitecustomize`` makes pyca's ML-KEM unavailable before Hotline is imported, as on a
``cryptography`` built against an OpenSSL older than 3.5.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import mlkem

from hotline.cli import main
from hotline.errors import ExitCode

#: Installed first thing in the child interpreter: ML-KEM-1024 "is not in this OpenSSL".
SITECUSTOMIZE = """\
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import mlkem

def _unsupported(cls, *args, **kwargs):
    raise UnsupportedAlgorithm("ML-KEM is not supported by this backend")

mlkem.MLKEM1024PrivateKey.generate = classmethod(_unsupported)
"""


def _unsupported(*args: object) -> None:
    raise UnsupportedAlgorithm("ML-KEM is not supported by this backend")


@pytest.mark.parametrize("argv", [["version"], ["--home", "/nonexistent", "serve"], []])
def test_main_exits_69_with_one_line(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mlkem.MLKEM1024PrivateKey, "generate", classmethod(_unsupported))
    monkeypatch.setattr(sys, "argv", ["hotline", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == ExitCode.CRYPTO_UNSUPPORTED == 69
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("hotline: error: ")
    assert "ML-KEM-1024" in err


def test_a_real_process_exits_69_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 69, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("hotline: error: ")
    assert "Traceback" not in result.stderr
