"""``python -m hotline.demo``: the in-memory handshake and the conformance summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline import demo


def test_demo_runs_and_reports_conformance(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "message 1:  1632 bytes  (e, es, e1, ss)" in out
    assert "TEST MESSAGE 0001: the line is up." in out
    assert any(line.endswith(" passed, 0 failed, 368 skipped") for line in out.splitlines())


def test_demo_explains_missing_vectors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(demo, "CACOPHONY", tmp_path / "absent.txt")
    assert demo.main() == 0
    assert "not found" in capsys.readouterr().out
