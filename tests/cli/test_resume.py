"""``hotline resume PEER``: one line, its exit code, against a served API and a real daemon."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.api import DaemonInfo, load_or_create_token, make_app
from hotline.errors import ExitCode

from ..api.servers import DeskControl, running
from ..station.stations import World, hotline, wait_until
from .conftest import Cli


@dataclass
class Served:
    home: Path
    control: DeskControl


@pytest.fixture
def served(make_station: Callable[..., Path], tmp_path: Path) -> Iterator[Served]:
    """A real home whose daemon.json points at the API over a :class:`DeskControl`."""
    home = make_station("jerusalem")
    with (
        DeskControl.open(tmp_path / "hotline.db") as control,
        running(make_app(control, token=load_or_create_token(home))) as url,
    ):
        DaemonInfo(os.getpid(), url, datetime.now(UTC).isoformat()).write(home)
        yield Served(home, control)


@pytest.mark.parametrize(
    ("halted", "says"),
    [
        (2, "moscow: 2 halted directions lifted; the line resyncs"),
        (1, "moscow: 1 halted direction lifted; the line resyncs"),
        (0, "moscow: nothing was halted"),
    ],
)
def test_resume_says_what_it_lifted_in_one_line(
    cli: Cli, served: Served, halted: int, says: str
) -> None:
    served.control.halted = {"moscow": halted, "washington": 2}
    result = cli("--home", served.home, "resume", "moscow")
    assert result.code == 0, result.err
    assert result.out == says + "\n"
    assert result.notices == []
    assert served.control.halted == {"washington": 2}


def test_resume_json(cli: Cli, served: Served) -> None:
    served.control.halted = {"washington": 2}
    result = cli("--home", served.home, "resume", "washington", "--json")
    assert result.code == 0 and json.loads(result.out) == {"peer": "washington", "lifted": 2}
    again = cli("--home", served.home, "resume", "washington", "--json")
    assert json.loads(again.out) == {"peer": "washington", "lifted": 0}


@pytest.mark.parametrize(
    ("peer", "code", "says"),
    [
        ("paris", ExitCode.PEER_UNKNOWN, "hotline: error: no paired station is named 'paris'"),
        ("Moscow", ExitCode.REQUEST_INVALID, "hotline: error: peer: bad station name"),
    ],
)
def test_refusals_are_one_line_with_their_code(
    cli: Cli, served: Served, peer: str, code: int, says: str
) -> None:
    served.control.halted = {"moscow": 2}
    result = cli("--home", served.home, "resume", peer)
    assert result.code == code and result.out == ""
    assert result.error_line.startswith(says)
    assert served.control.halted == {"moscow": 2}


def test_without_a_daemon_it_says_so(cli: Cli, make_station: Callable[..., Path]) -> None:
    home = make_station("jerusalem")
    result = cli("--home", home, "resume", "moscow")
    assert result.code == ExitCode.NOT_RUNNING and result.out == ""
    assert result.error_line == "hotline: error: the station is not running (no daemon.json)"


def test_a_real_daemon_resumes_and_logs_it(world: World) -> None:
    jerusalem, moscow = world.station("jerusalem"), world.station("moscow")
    world.pin(jerusalem, moscow)
    jerusalem.serve()
    wait_until(lambda: jerusalem.api_status() is not None, 15.0, "the daemon's API")
    result = hotline("--home", jerusalem.home, "resume", "moscow")
    assert result.stdout == "moscow: nothing was halted\n"
    assert "halts lifted by the operator" in jerusalem.log
    unknown = hotline("--home", jerusalem.home, "resume", "paris", check=False)
    assert unknown.returncode == ExitCode.PEER_UNKNOWN
    jerusalem.kill()
    stopped = hotline("--home", jerusalem.home, "resume", "moscow", check=False)
    assert stopped.returncode == ExitCode.NOT_RUNNING
    assert stopped.stderr.startswith("hotline: error: the station is not running")
