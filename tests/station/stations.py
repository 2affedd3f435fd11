"""Real ``hotline`` processes on loopback: make stations, pair them, serve, watch their lines.

Every station is made with the CLI (``init`` with the test KDF profile), in a temporary home,
on a free 127.0.0.1 port; ``serve`` runs as a subprocess whose stderr goes to a log file, and
every process is killed when the test ends (the ``world`` fixture). Line states are polled
through the local API with a deadline, never by sleeping.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hotline.api import Client, NotRunningError
from hotline.cli import main
from hotline.identity import Card
from hotline.record import Checkpoint
from hotline.signatures import VerifyKeys
from hotline.station import CRASH_EXIT_STATUS

PASSPHRASE = "a teletype on each end"
HOTLINE = [sys.executable, "-m", "hotline.cli"]


#: Test messages once a day, not each hour: they are sent when the hour (the interval) turns,
#: and a test whose stations run across that moment would find one more message in a queue or
#: an inbox than it sent (this happened at 22:00 in a CI run). A test of the schedule, or
#: any test with a ``[watch]`` section of its own, sets its own interval.
HARNESS_WATCH = "[watch]\ntest_interval_s = 86400.0\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_KDF_PROFILE": "test", "HOTLINE_PASSPHRASE": PASSPHRASE}
    return env


def run_cli(*args: str | Path) -> str:
    """Run an offline command (init, card, pair...) in this process; return its stdout.

    Much faster than a subprocess; the environment must hold :func:`environment`'s values
    (the ``world`` fixture sets them).
    """
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["hotline", *map(str, args)]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    assert code == 0, err.getvalue()
    return out.getvalue()


def hotline(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*HOTLINE, *map(str, args)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


@dataclass
class Station:
    """One station home, and its ``serve`` process while it runs."""

    name: str
    home: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0
    started_at: float = 0.0
    logs: list[Path] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """Everything every ``serve`` of this station has logged so far."""
        return "".join(path.read_text(errors="replace") for path in self.logs if path.exists())

    def configure(self, toml: str) -> None:
        """Append sections to station.toml (a test's own ``[watch]`` replaces the harness's)."""
        path = self.home / "station.toml"
        if "[watch]" in toml.splitlines():
            path.write_text(path.read_text().replace(HARNESS_WATCH, ""))
        with path.open("a") as stream:
            stream.write("\n" + toml)

    def serve(self, **env: str) -> None:
        """Start ``hotline serve``; ``env`` adds variables (``HOTLINE_CRASHPOINT=...``)."""
        assert self.process is None or self.process.poll() is not None, "already serving"
        self.runs += 1
        log = self.home.parent / f"{self.name}.serve{self.runs}.log"
        self.logs.append(log)
        with log.open("wb") as stream:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                [*HOTLINE, "--home", str(self.home), "serve"],
                env=environment() | env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stream,
            )

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 10.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def checkpoints(self) -> list[Checkpoint]:
        """The checkpoints in this station's store, read straight from its database."""
        db = sqlite3.connect(f"file:{self.home / 'hotline.db'}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT item FROM checkpoints ORDER BY proposer, number").fetchall()
        finally:
            db.close()
        return [Checkpoint.decode(item) for (item,) in rows]

    def api_status(self) -> dict[str, Any] | None:
        """The daemon's status through the API, or ``None`` while it is not serving yet."""
        try:
            return Client.for_home(self.home, timeout=2.0).status()
        except NotRunningError:
            return None

    def line(self, peer: str) -> dict[str, Any] | None:
        status = self.api_status()
        if status is None:
            return None
        return next((line for line in status["lines"] if line["peer"] == peer), None)

    def state(self, peer: str) -> str | None:
        line = self.line(peer)
        return None if line is None else str(line["state"])

    def card(self) -> Card:
        """The station's card, as ``hotline card`` prints it."""
        return Card.from_armour(run_cli("--home", self.home, "card"))

    def verify_keys(self) -> VerifyKeys:
        """The signing keys on its card: what a peer or a verifier checks it with."""
        keys = self.card().keys
        return VerifyKeys.from_public_bytes(keys.ed25519, keys.mldsa87)

    def client(self) -> Client:
        return Client.for_home(self.home, timeout=10.0)

    def cli_status(self) -> dict[str, Any]:
        """``hotline status --json``, as an operator's script runs it."""
        result = hotline("--home", self.home, "status", "--json")
        document: dict[str, Any] = json.loads(result.stdout)
        return document


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` every 20 ms until true; return the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)
    return time.monotonic() - start


class World:
    """The stations of one test, all in one temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stations: list[Station] = []
        self._cards: dict[str, Path] = {}

    def station(self, name: str, *, home_name: str | None = None) -> Station:
        home = self.root / (home_name or name)
        port = free_port()
        run_cli("--home", home, "init", "--name", name, "--listen", f"127.0.0.1:{port}")
        station = Station(name, home, port)
        station.configure(HARNESS_WATCH)
        self.stations.append(station)
        return station

    def pin(self, station: Station, other: Station) -> None:
        """``station`` pairs with ``other`` (one side only), checking the fingerprint."""
        card = self.root / f"{other.home.name}.card"
        card.write_text(run_cli("--home", other.home, "card"))
        code = run_cli("--home", other.home, "fingerprint").splitlines()[-1]
        run_cli("--home", station.home, "pair", card, "--fingerprint", code)

    def pair(self, a: Station, b: Station) -> None:
        self.pin(a, b)
        self.pin(b, a)

    def close(self) -> None:
        for station in self.stations:
            station.kill()


def fast(ping_interval: float = 0.25, ping_timeout: float = 1.5, backoff_max: float = 1.0) -> str:
    """A ``[line]`` section with test-sized heartbeats and redial cap."""
    return (
        f"[line]\nping_interval_s = {ping_interval}\nping_timeout_s = {ping_timeout}\n"
        f"dial_backoff_max_s = {backoff_max}\n"
    )


def checkpoint_until_it_crashes(station: Station, peer: str, timeout: float = 20.0) -> None:
    """Ask ``station`` for a checkpoint with ``peer`` until its armed crash point kills it (a
    line just up may not be synced yet: that answer is asked again), and check it died there."""
    assert station.process is not None
    deadline = time.monotonic() + timeout
    while station.process.poll() is None:
        assert time.monotonic() < deadline, f"the crash point was not reached\n{station.log}"
        hotline("--home", station.home, "checkpoint", peer, check=False)
        time.sleep(0.1)
    assert station.process.returncode == CRASH_EXIT_STATUS, station.log


def dial(peer: str, port: int) -> str:
    """A ``[dial]`` section sending ``peer``'s dials to ``127.0.0.1:port``."""
    return f'[dial]\n{peer} = ["127.0.0.1:{port}"]\n'


def stop_all(*stations: Station) -> None:
    """SIGTERM every station and wait for a clean exit."""
    for station in stations:
        if station.process is not None and station.process.poll() is None:
            station.signal(signal.SIGTERM)
    for station in stations:
        with contextlib.suppress(subprocess.TimeoutExpired):
            station.wait(10)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A world of stations in ``tmp_path``, with only the test's ``HOTLINE_*`` variables set."""
    for name in [name for name in os.environ if name.startswith("HOTLINE_")]:
        monkeypatch.delenv(name)
    for name, value in environment().items():
        if name.startswith("HOTLINE_"):
            monkeypatch.setenv(name, value)
    stations = World(tmp_path)
    try:
        yield stations
    finally:
        stations.close()
