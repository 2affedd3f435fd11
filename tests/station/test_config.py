"""station.toml's [line], [api], [dial] and [testing], and the daemon's one-line start errors."""

from __future__ import annotations

import socket

import pytest

from hotline.cli._options import WEAK_KDF_WARNING
from hotline.errors import ExitCode
from hotline.line import LineTiming
from hotline.station import ConfigError, StationConfig

from .stations import World, hotline, wait_until

BASE = '[station]\nname = "j"\nlisten = ["127.0.0.1:7401"]\n'


def test_every_section_round_trips() -> None:
    config = StationConfig.loads(
        BASE
        + "[line]\nping_interval_s = 0.5\nping_timeout_s = 2\ndial_backoff_max_s = 10\n"
        + '[api]\nlisten = "127.0.0.1:8080"\n'
        + '[dial]\nmoscow = ["127.0.0.1:9000", "[::1]:9000"]\n'
        + "[testing]\nrekey_after_s = 2.0\nclock_offset_ms = -1500\n"
        + "[watch]\nline_down_after_s = 5\ntest_interval_s = 600\nclock_sync_check = false\n"
        + 'on_alarm = ["/usr/local/bin/page", "--duty"]\nhook_timeout_s = 3\n'
    )
    assert config.clock_offset_ms == -1500
    assert config.watch.line_down_after_s == 5.0 and config.watch.test_interval_s == 600.0
    assert config.watch.clock_sync_check is False
    on_alarm = config.watch.hook("on_alarm")
    assert on_alarm is not None and on_alarm.argv == ("/usr/local/bin/page", "--duty")
    assert on_alarm.timeout_s == 3.0
    assert config.watch.hook("on_message") is None
    assert config.line == LineTiming(ping_interval=0.5, ping_timeout=2.0, dial_backoff_max=10.0)
    assert config.api_port == 8080
    assert config.dial_addresses("moscow") == ("127.0.0.1:9000", "[::1]:9000")
    assert config.dial_addresses("tokyo") is None
    assert config.session_timing().rekey_after == 2.0
    assert StationConfig.loads(config.dumps()) == config


def test_defaults_are_the_protocol_and_a_quiet_line() -> None:
    config = StationConfig.loads(BASE)
    assert config.session_timing().is_default
    assert config.line == LineTiming()
    assert config.api_listen == "127.0.0.1:0"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[line]\nping_interval_s = 0\n", "ping_interval_s must be"),
        ("[line]\nping_interval_s = 1\nping_timeout_s = 1.5\n", "at least twice"),
        ("[line]\ndial_backoff_max_s = 0.1\n", "dial_backoff_max_s must be"),
        ('[line]\nping_timeout_s = "3"\n', "line.ping_timeout_s must be a number"),
        ("[line]\nping_timeout_s = true\n", "must be a number"),
        ("[line]\nheartbeat = 1\n", "unknown key line.heartbeat"),
        ('[api]\nlisten = "0.0.0.0:80"\n', "127.0.0.1:PORT"),
        ('[api]\nlisten = "127.0.0.1:99999"\n', "127.0.0.1:PORT"),
        ("[api]\nport = 1\n", "unknown key api.port"),
        ('[dial]\nmoscow = "127.0.0.1:1"\n', "dial.moscow must be a list"),
        ('[dial]\nmoscow = ["nowhere"]\n', "dial.moscow: bad address"),
        ('[dial]\nMoscow = ["127.0.0.1:1"]\n', "bad station name"),
        ("[dial]\nmoscow = []\n", "1 to 8"),
        ("[testing]\nrekey_after_s = 0.1\n", "rekey_after_s"),
        ("[testing]\nrekey_after = 1\n", "unknown key testing.rekey_after"),
        ("[testing]\nclock_offset_ms = 120000\n", "clock_offset_ms must be within"),
        ("[testing]\nclock_offset_ms = 1.5\n", "clock_offset_ms must be a whole number"),
        ('[watch]\non_alarm = "page"\n', "watch.on_alarm must be a list"),
        ('[watch]\non_alarm = ["page"]\n', "absolute path"),
        ("[watch]\non_message = []\n", "watch.on_message must be a list"),
        ("[watch]\ntest_interval_s = 0.1\n", "watch.test_interval_s must be"),
        ("[watch]\nescalate_after_s = true\n", "must be a number"),
        ('[watch]\nclock_sync_check = "no"\n', "true or false"),
        ("[watch]\npager = 1\n", "unknown key watch.pager"),
    ],
)
def test_bad_sections_are_one_clear_error(extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        StationConfig.loads(BASE + extra)
    assert "\n" not in str(caught.value)


def test_serve_with_a_bad_config_says_so_in_one_line(world: World) -> None:
    station = world.station("jerusalem")
    station.configure("[line]\nping_timeout_s = 0.01\n")
    result = hotline("--home", station.home, "serve", check=False)
    assert result.returncode == ExitCode.CONFIG_INVALID
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("hotline: error: station.toml: [line] ping_timeout_s")


def test_serve_on_a_busy_port_and_twice_on_one_home(world: World) -> None:
    station = world.station("jerusalem")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", station.port))
        busy.listen()
        result = hotline("--home", station.home, "serve", check=False)
    assert result.returncode == ExitCode.LISTEN_FAILED
    # serve unlocks through the CLI's one unlock helper: the test key file is weak (init's test
    # profile), so it warns first, as every other command does.
    assert result.stderr.splitlines() == [
        WEAK_KDF_WARNING,
        f"hotline: error: cannot listen on 127.0.0.1:{station.port}: Address already in use"
        " (another station or program uses it, or the host is not local)",
    ]
    station.configure("[testing]\nrekey_after_s = 1.0\n")
    station.serve()
    wait_until(lambda: station.api_status() is not None, 5.0, "serving")
    second = hotline("--home", station.home, "serve", check=False)
    assert second.returncode == ExitCode.ALREADY_RUNNING
    assert "already running" in second.stderr
    assert "TESTING TIMERS IN FORCE" in station.log  # loud
