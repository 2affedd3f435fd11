"""The local API: status JSON, the token, the Host check, and the client's errors."""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotline.api import (
    LOCK_FILE,
    ApiError,
    Client,
    DaemonInfo,
    LineView,
    NotRunningError,
    StationStatus,
    load_or_create_token,
    make_app,
    read_token,
)
from hotline.errors import ExitCode

from .servers import TOKEN, auth, free_port, running


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1 (as the daemon serves it)."""
    with running(make_app(FakeControl(), token=TOKEN)) as url:
        yield url


LINE = LineView(
    "moscow",
    "up",
    "127.0.0.1:7402",
    "out",
    0.5,
    3.0,
    10.0,
    "2026-01-01T00:00Z",
    2,
    rtt_last_ms=0.6,
    loss=0.025,
    clock_offset_ms=-3.5,
    path_state="up",
)


class FakeControl:
    def status(self) -> StationStatus:
        return StationStatus("jerusalem", (LINE,))


def test_status_answers_the_lines(served: str) -> None:
    response = httpx.get(f"{served}/v1/status", headers=auth())
    assert response.status_code == 200
    assert response.json() == {
        "station": "jerusalem",
        "lines": [
            {
                "peer": "moscow",
                "state": "up",
                "path": "127.0.0.1:7402",
                "direction": "out",
                "rtt_ms": 0.5,
                "session_age_s": 3.0,
                "up_for_s": 10.0,
                "last_handshake": "2026-01-01T00:00Z",
                "rekeys": 2,
                "rtt_last_ms": 0.6,
                "loss": 0.025,
                "clock_offset_ms": -3.5,
                "path_state": "up",
                "queued": 0,
                "oldest_unreceipted": None,
                "last_test_received": None,
                "last_test_sent": None,
                "last_ack_by": None,
                "last_ack_seq": None,
                "last_ack_at": None,
            }
        ],
        "alarms": [],
        "clock_synchronised": None,
    }


@pytest.mark.parametrize(
    "headers",
    [{}, auth("cd" * 32), auth(TOKEN[:-1]), {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong", "short", "not-bearer"],
)
def test_no_token_no_answer(served: str, headers: dict[str, str]) -> None:
    response = httpx.get(f"{served}/v1/status", headers=headers)
    assert response.status_code == 401
    assert "station" not in response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "127.0.0.1:1", "localhost", "[::1]:{port}"]
)
def test_a_foreign_host_header_is_refused(served: str, host: str) -> None:
    # DNS rebinding: the browser sends the attacker's name in Host, with a valid path.
    port = served.rpartition(":")[2]
    response = httpx.get(f"{served}/v1/status", headers={**auth(), "Host": host.format(port=port)})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_host"


@pytest.mark.parametrize("name", ["localhost", "LocalHost"])
def test_localhost_is_accepted_in_any_case(served: str, name: str) -> None:
    # Host names are case-insensitive (RFC 9110 §4.2.3): a refusal would only confuse.
    port = served.rpartition(":")[2]
    response = httpx.get(f"{served}/v1/status", headers={**auth(), "Host": f"{name}:{port}"})
    assert response.status_code == 200


def test_the_token_file_is_private_and_stable(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    assert len(token) == 64 and int(token, 16) >= 0
    assert stat.S_IMODE(os.stat(tmp_path / "api.token").st_mode) == 0o600
    assert load_or_create_token(tmp_path) == token == read_token(tmp_path)
    (tmp_path / "api.token").write_text("not a token\n")
    with pytest.raises(ApiError):
        read_token(tmp_path)


def test_no_daemon_file_means_not_running(tmp_path: Path) -> None:
    with pytest.raises(NotRunningError, match=r"not running \(no daemon.json\)") as caught:
        Client.for_home(tmp_path)
    assert caught.value.exit_code == ExitCode.NOT_RUNNING


def test_a_stale_daemon_file_means_not_running(tmp_path: Path, unused_port: int) -> None:
    load_or_create_token(tmp_path)
    DaemonInfo(12345, f"http://127.0.0.1:{unused_port}", "2026-01-01T00:00:00Z").write(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / "daemon.json").st_mode) == 0o600
    with pytest.raises(NotRunningError, match="stale"):
        Client.for_home(tmp_path).status()
    DaemonInfo.remove(tmp_path)
    assert not (tmp_path / "daemon.json").exists()


def test_daemon_json_left_by_a_killed_daemon_is_not_trusted(tmp_path: Path) -> None:
    # SIGKILL leaves daemon.json and daemon.lock, but the kernel has dropped the flock: the
    # token must not go to whoever now holds that port.
    load_or_create_token(tmp_path)
    DaemonInfo(12345, "http://127.0.0.1:9", "2026-01-01T00:00:00Z").write(tmp_path)
    fd = os.open(tmp_path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with pytest.raises(NotRunningError, match=r"not running \(stale daemon.json\)") as caught:
            Client.for_home(tmp_path)
        assert caught.value.exit_code == ExitCode.NOT_RUNNING
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live daemon holds it
        assert DaemonInfo.read(tmp_path).api == "http://127.0.0.1:9"
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "api",
    [
        "http://127.0.0.1:7/",
        "http://127.0.0.1:7@evil.example",
        "http://127.0.0.1:123456",
        "http://127.0.0.1.evil.example:80",
        "https://127.0.0.1:7",
    ],
)
def test_daemon_json_must_name_exactly_a_loopback_port(tmp_path: Path, api: str) -> None:
    DaemonInfo(12345, api, "2026-01-01T00:00:00Z").write(tmp_path)
    with pytest.raises(ApiError, match="malformed"):
        DaemonInfo.read(tmp_path)


def test_the_client_over_real_http(served: str) -> None:
    assert Client(served, TOKEN).status()["lines"][0]["peer"] == "moscow"
    with pytest.raises(ApiError, match="401"):
        Client(served, "cd" * 32).status()


def test_a_token_file_others_could_read_or_plant_is_refused(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    path = tmp_path / "api.token"
    path.chmod(0o644)
    with pytest.raises(ApiError, match="mode 644; it must be 0600"):
        read_token(tmp_path)
    with pytest.raises(ApiError, match="mode 644"):
        load_or_create_token(tmp_path)  # an existing file is checked, never trusted
    path.chmod(0o600)
    assert read_token(tmp_path) == token
    # A symlink (to a file an attacker controls, or to ours) is refused, not followed.
    planted = tmp_path / "planted"
    planted.write_text("0" * 64 + "\n")
    planted.chmod(0o600)
    path.unlink()
    path.symlink_to(planted)
    with pytest.raises(ApiError, match="symlink"):
        read_token(tmp_path)
    with pytest.raises(ApiError, match="symlink"):
        load_or_create_token(tmp_path)
    assert planted.read_text() == "0" * 64 + "\n"


def test_the_token_file_is_created_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api.token"]
    assert (tmp_path / "api.token").read_text() == token + "\n"
