"""``make demo``: two real stations, the line up, a rekey, a clean stop, the conformance line."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from hotline import demo


def test_the_demo_brings_a_line_up_rekeys_and_stops_cleanly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert re.search(r"The line is up \(\d+\.\d+ s after start\)", out)
    assert '"state": "up"' in out
    assert re.search(r"jerusalem: .* info rekey peer=moscow rekeys=\d+", out)
    assert re.search(r"moscow: .* info rekey peer=jerusalem rekeys=\d+", out)
    assert out.count("exited with status 0") == 2
    assert "station stopped station=jerusalem" in out
    assert "TESTING TIMERS IN FORCE" in out  # the shortened rekey is said out loud
    # Messages both ways, in three scripts, each delivered and receipted.
    for _, text in (*demo.MESSAGES["jerusalem"], *demo.MESSAGES["moscow"]):
        assert text in out
    assert re.search(r"Delivered and receipted both ways in \d+\.\d+ s", out)
    assert re.search(r"jerusalem: .* info receipted peer=moscow seq=", out)
    assert re.search(r"moscow: .* info receipted peer=jerusalem seq=", out)
    took = float(re.findall(r"a clean stop: (\d+\.\d+) s", out)[0])
    assert took < 30
    if demo.CACOPHONY.is_file():
        assert any(
            re.fullmatch(r"\d+ passed, 0 failed, \d+ skipped", line) for line in out.splitlines()
        )
    else:
        assert "not found" in out


def test_the_demo_asks_the_kernel_for_a_free_port() -> None:
    port = demo._free()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # released, so the station can take it


def test_the_demo_explains_missing_vectors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(demo, "CACOPHONY", tmp_path / "absent.txt")
    assert demo._conformance() == 0
    assert "not found" in capsys.readouterr().out
