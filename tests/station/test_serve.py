"""Two real ``hotline serve`` processes bring their line up, report it, and stop cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from hotline.errors import ExitCode

from .stations import World, fast, hotline, wait_until

LINE_FIELDS = {"peer", "state", "path", "rtt_ms", "session_age_s", "last_handshake"}


def test_two_stations_get_the_line_up_within_5_s(world: World) -> None:
    jerusalem, moscow = world.station("jerusalem"), world.station("moscow")
    world.pair(jerusalem, moscow)
    for station in (jerusalem, moscow):
        station.configure(fast())
    start = time.monotonic()
    jerusalem.serve()
    moscow.serve()
    wait_until(
        lambda: jerusalem.state("moscow") == "up" and moscow.state("jerusalem") == "up",
        5.0,
        "the line up on both sides",
    )
    assert time.monotonic() - start < 5.0
    # A heartbeat has been answered on both sides, then the operator's view agrees.
    wait_until(
        lambda: all(
            (line := station.line(peer)) is not None and line["rtt_ms"] is not None
            for station, peer in ((jerusalem, "moscow"), (moscow, "jerusalem"))
        ),
        3.0,
        "a measured round trip",
    )
    for station, peer in ((jerusalem, "moscow"), (moscow, "jerusalem")):
        status = station.cli_status()
        assert status["station"] == station.name
        (line,) = status["lines"]
        assert set(line) >= LINE_FIELDS
        assert line["peer"] == peer and line["state"] == "up"
        assert line["path"].startswith("127.0.0.1:")
        assert 0 <= line["rtt_ms"] < 1000
        assert 0 <= line["session_age_s"] < 10
        assert line["last_handshake"].endswith("Z")
    # One session per line: both sides report the same stream, seen from its two ends.
    j_line, m_line = jerusalem.line("moscow"), moscow.line("jerusalem")
    assert j_line is not None and m_line is not None
    assert {j_line["direction"], m_line["direction"]} == {"in", "out"}
    assert "line up peer=moscow" in jerusalem.log

    # Clean shutdown: SIGTERM, exit 0, daemon.json gone, the peer told by a CLOSE frame.
    jerusalem.signal(signal.SIGTERM)
    assert jerusalem.wait() == 0
    assert not (jerusalem.home / "daemon.json").exists()
    wait_until(lambda: moscow.state("jerusalem") != "up", 3.0, "moscow sees the line go")
    assert "going_away" in moscow.log
    assert "station stopped station=jerusalem" in jerusalem.log


def test_status_when_not_running_is_one_line_and_its_own_code(world: World) -> None:
    station = world.station("jerusalem")
    result = hotline("--home", station.home, "status", check=False)
    assert result.returncode == ExitCode.NOT_RUNNING
    assert result.stderr.strip() == "hotline: error: the station is not running (no daemon.json)"


def test_the_daemon_cannot_be_dumped_or_inspected_by_its_hooks(world: World) -> None:
    station = world.station("jerusalem")
    station.serve()
    wait_until(lambda: station.api_status() is not None, 20, "serving")
    assert station.process is not None
    limits = Path(f"/proc/{station.process.pid}/limits").read_text()
    (core,) = [line for line in limits.splitlines() if line.startswith("Max core file size")]
    assert core.split()[4:6] == ["0", "0"]
    # Non-dumpable: /proc/<pid>/environ, where HOTLINE_PASSPHRASE was, is closed to processes
    # of the same user (a hook); tests run as root, so the flag is checked from inside.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hotline.station import dumpable, forbid_inspection;"
            "print(dumpable()); forbid_inspection(); print(dumpable())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["True", "False"]
    station.signal(signal.SIGTERM)
    assert station.wait() == 0
