"""The whole pairing ceremony through the installed ``hotline`` command, in real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hotline.cli._options import WEAK_KDF_WARNING

HOTLINE = Path(sys.executable).parent / "hotline"


def hotline(
    *args: str | Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HOTLINE), *map(str, args)],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(*args: str | Path, env: dict[str, str]) -> str:
    result = hotline(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_two_stations_pair_unpair_and_pair_again(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_KDF_PROFILE"] = "test"
    (tmp_path / "jerusalem.pass").write_text("shalom\n")
    env_moscow = {**env, "HOTLINE_HOME": str(tmp_path / "moscow"), "HOTLINE_PASSPHRASE": "mir"}
    jerusalem = ("--home", tmp_path / "jerusalem")
    jerusalem_pass = ("--passphrase-file", tmp_path / "jerusalem.pass")

    ok(
        *jerusalem,
        "init",
        "--name",
        "jerusalem",
        "--listen",
        "127.0.0.1:7401",
        "--listen",
        "[::1]:7401",
        *jerusalem_pass,
        env=env,
    )
    ok("init", "--name", "moscow", "--listen", "127.0.0.1:7402", env=env_moscow)

    # Exchange cards (by courier) and read fingerprints (by phone).
    (tmp_path / "jerusalem.card").write_text(ok(*jerusalem, "card", *jerusalem_pass, env=env))
    (tmp_path / "moscow.card").write_text(ok("card", env=env_moscow))
    jerusalem_code = ok(*jerusalem, "fingerprint", *jerusalem_pass, env=env).splitlines()[-1]
    moscow_code = ok("fingerprint", env=env_moscow).splitlines()[-1]
    assert jerusalem_code != moscow_code

    ok(
        *jerusalem,
        "pair",
        tmp_path / "moscow.card",
        "--fingerprint",
        moscow_code,
        *jerusalem_pass,
        env=env,
    )
    ok(
        "pair",
        tmp_path / "jerusalem.card",
        "--fingerprint",
        jerusalem_code.replace(" ", ""),
        env=env_moscow,
    )

    (moscow_peer,) = json.loads(ok(*jerusalem, "peers", "--json", *jerusalem_pass, env=env))
    assert moscow_peer["name"] == "moscow" and moscow_peer["fingerprint"] == moscow_code
    (jerusalem_peer,) = json.loads(ok("peers", "--json", env=env_moscow))
    assert jerusalem_peer["fingerprint"] == jerusalem_code
    assert jerusalem_peer["addresses"] == ["127.0.0.1:7401", "[::1]:7401"]

    ok("unpair", "jerusalem", env=env_moscow)
    assert json.loads(ok("peers", "--json", env=env_moscow)) == []
    again = hotline("unpair", "jerusalem", env=env_moscow)
    assert again.returncode == 37
    assert again.stderr.splitlines() == [
        WEAK_KDF_WARNING,
        "hotline: error: no station named 'jerusalem' is paired",
    ]

    ok("pair", tmp_path / "jerusalem.card", "--fingerprint", jerusalem_code, env=env_moscow)
    history = json.loads(ok("peers", "--json", "--all", env=env_moscow))
    assert [p["revoked_at"] is None for p in history] == [False, True]


def test_errors_are_one_line_and_distinct(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_KDF_PROFILE": "test", "HOTLINE_PASSPHRASE": "pw"}
    home = tmp_path / "h"
    ok("--home", home, "init", "--name", "h", "--listen", "127.0.0.1:1", env=env)
    cases = {
        10: hotline("--home", tmp_path / "none", "card", env=env),
        20: hotline("--home", home, "card", env={**env, "HOTLINE_PASSPHRASE": "px"}),
        15: hotline(
            "--home", home, "card", env={k: v for k, v in env.items() if k != "HOTLINE_PASSPHRASE"}
        ),
        2: hotline("--home", home, "pair", env=env),
    }
    for code, result in cases.items():
        assert result.returncode == code, result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("hotline: ")


def test_module_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip()


def test_passphrase_descriptors(tmp_path: Path) -> None:
    """--passphrase-fd 2 must not close stderr (the error line would vanish), nor 1 stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_KDF_PROFILE": "test", "HOTLINE_PASSPHRASE": "pw"}
    home = tmp_path / "h"
    ok("--home", home, "init", "--name", "h", "--listen", "127.0.0.1:1", env=env)
    del env["HOTLINE_PASSPHRASE"]
    for fd, name in ((1, "standard output"), (2, "standard error")):
        result = hotline("--home", home, "card", "--passphrase-fd", str(fd), env=env)
        assert result.returncode == 22
        assert result.stderr.startswith(f"hotline: error: --passphrase-fd {fd} is {name}")
        assert result.stderr.count("\n") == 1
    piped = hotline("--home", home, "card", "--passphrase-fd", "0", env=env, stdin="pw\n")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("-----BEGIN HOTLINE CARD-----")
