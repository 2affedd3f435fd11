"""``hotline verify`` and ``hotline statement``: offline, one line per reason, exit 0 or 50."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.errors import ExitCode

from ..record.exports import CARDS, conversation
from .conftest import Cli

RECORD = conversation(2)


@pytest.fixture
def export_file(tmp_path: Path) -> Path:
    path = tmp_path / "line.bin"  # no extension: verify goes by the magic
    path.write_bytes(RECORD.export())
    return path


def test_a_valid_export(cli: Cli, export_file: Path) -> None:
    result = cli("verify", export_file)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "VALID"
    assert lines[1] == f"station {CARDS[0].name} (direction 0), fingerprint {CARDS[0].fingerprint}"
    assert lines[2] == f"station {CARDS[1].name} (direction 1), fingerprint {CARDS[1].fingerprint}"
    assert lines[3].startswith("record hash at the start: ")
    assert lines[4].startswith("record hash at the end:   ")
    assert "\u202e" not in result.out


def test_show_makes_bidi_controls_visible(cli: Cli, export_file: Path) -> None:
    result = cli("verify", export_file, "--show")
    assert result.code == 0
    assert "    message 0 \\u202egnp.exe" in result.out.splitlines()
    assert "\u202e" not in result.out
    assert any(" stored 2025-06-15T" in line for line in result.out.splitlines())


def test_json(cli: Cli, export_file: Path) -> None:
    result = cli("verify", export_file, "--json", "--show")
    document = json.loads(result.out)
    assert document["valid"] is True
    assert document["failures"] == []
    assert [s["name"] for s in document["stations"]] == [c.name for c in CARDS]
    assert document["messages"][0]["text"] == "message 0 \u202egnp.exe"


def test_a_damaged_export_is_invalid_with_its_reason(cli: Cli, tmp_path: Path) -> None:
    data = bytearray(RECORD.export())
    data[-200] ^= 1  # inside the checkpoint's second signature
    path = tmp_path / "damaged.hrec"
    path.write_bytes(bytes(data))
    result = cli("verify", path)
    assert result.code == ExitCode.RECORD_INVALID
    assert result.out.splitlines()[0] == "INVALID"
    fails = [line for line in result.out.splitlines() if line.startswith("FAIL ")]
    assert fails == [
        "FAIL item 15, direction 0: BAD_SIGNATURE: checkpoint 1: the signature of direction 1's"
        " station does not verify"
    ]


@pytest.mark.parametrize(
    "content",
    [b"", b"\x89HLR\r\n\x1a\n", b"\x89HLS\r\n\x1a\n\x01", bytes(range(256)) * 3],
    ids=["empty", "magic only", "statement magic only", "random"],
)
def test_garbage_is_invalid_without_a_traceback(cli: Cli, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage"
    path.write_bytes(content)
    result = cli("verify", path)
    assert result.code == ExitCode.RECORD_INVALID
    assert result.out.splitlines()[0] == "INVALID"
    assert result.out.splitlines()[1].startswith("FAIL ")


def test_truncated_export(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "cut.hrec"
    path.write_bytes(RECORD.export()[:5000])
    result = cli("verify", path, "--json")
    assert result.code == ExitCode.RECORD_INVALID
    assert json.loads(result.out)["failures"][0]["reason"] == "MALFORMED"


def test_a_statement_round_trip(
    cli: Cli, make_station: Callable[..., Path], tmp_path: Path
) -> None:
    home = make_station("jerusalem")
    path = tmp_path / "readout"
    text = "Text of a readout: the warning was given at 09:58."
    signed = cli("--home", home, "statement", text, "--export", path)
    assert signed.code == 0, signed.err
    result = cli("verify", path)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "VALID"
    assert lines[1].startswith("signed by station jerusalem, fingerprint ")
    assert lines[-1] == f"    {text}"
    path.write_bytes(path.read_bytes().replace(b"09:58", b"09:59"))
    result = cli("verify", path)
    assert result.code == ExitCode.RECORD_INVALID
    assert "FAIL BAD_SIGNATURE: the statement does not verify" in result.out


def test_an_empty_statement_is_one_error_line(
    cli: Cli, make_station: Callable[..., Path], tmp_path: Path
) -> None:
    home = make_station("jerusalem")
    result = cli("--home", home, "statement", "", "--export", tmp_path / "s")
    assert result.code == ExitCode.RECORD_INVALID
    assert "says something" in result.error_line


def test_a_time_past_any_date_is_shown_not_a_crash() -> None:
    from hotline.cli._record import _time

    assert _time(2**64 - 1) == f"{2**64 - 1} ms (not a date)"
    assert _time(0) == "1970-01-01T00:00:00.000+00:00"


def test_expected_fingerprints_must_be_the_files_cards(cli: Cli, export_file: Path) -> None:
    pinned = str(CARDS[0].fingerprint).replace(" ", "")  # typed without the spaces
    assert cli("verify", export_file, "--expect", pinned).code == 0
    impostor = "1" * 40
    result = cli("verify", export_file, "--expect", pinned, "--expect", impostor)
    assert result.code == ExitCode.RECORD_INVALID
    assert result.out.splitlines()[0] == "INVALID"
    assert f"FAIL no card in the file has the expected fingerprint {'11111 ' * 7}11111" in (
        result.out
    )
    as_json = json.loads(cli("verify", export_file, "--json", "--expect", impostor).out)
    assert as_json["valid"] is False and as_json["unexpected"] == [f"{'11111 ' * 7}11111"]
    bad = cli("verify", export_file, "--expect", "123")
    assert bad.code != 0 and "40 digits" in bad.err


def test_a_file_past_the_bound_is_refused_unread(
    cli: Cli, export_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verifier reads at most MAX_EXPORT_FILE_LEN bytes (a wrong path, /dev/zero, or a
    hostile file must not take the memory); one line says what to do instead."""
    monkeypatch.setattr("hotline.cli._record.MAX_EXPORT_FILE_LEN", export_file.stat().st_size - 1)
    result = cli("verify", export_file)
    assert result.code == ExitCode.INPUT_UNREADABLE
    assert "larger than" in result.err and "--from, --to" in result.err
    assert len(result.err.strip().splitlines()) == 1
    monkeypatch.setattr("hotline.cli._record.MAX_EXPORT_FILE_LEN", export_file.stat().st_size)
    assert cli("verify", export_file).code == 0  # exactly at the bound: read


def test_an_unreadable_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    result = cli("verify", tmp_path / "missing.hrec")
    assert result.code == ExitCode.INPUT_UNREADABLE
    assert "cannot read" in result.err and len(result.err.strip().splitlines()) == 1
