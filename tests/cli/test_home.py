"""The station home and station.toml: what is refused before any key is touched."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.errors import ExitCode
from hotline.identity import KDF_PROFILES
from hotline.station import (
    ConfigError,
    HomeMissingError,
    HomeUnsafeError,
    StationConfig,
    StationExistsError,
    StationHome,
)

from .conftest import Cli

CONFIG = StationConfig(name="jerusalem", listen=("127.0.0.1:7401",))


def test_init_creates_a_private_home(make_station: Callable[..., Path]) -> None:
    home = make_station("jerusalem")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    names = sorted(p.name for p in home.iterdir())
    assert names == ["keys.hkey", "peers.json", "station.toml"]  # and no temporary files
    for name in names:
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600


def test_init_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        StationHome.create(tmp_path / "h", CONFIG, b"pw", KDF_PROFILES["test"])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "h").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "h" / "keys.hkey").stat().st_mode) == 0o600


def test_init_refuses_to_overwrite(cli: Cli, make_station: Callable[..., Path]) -> None:
    home = make_station("jerusalem")
    before = (home / "keys.hkey").read_bytes()
    result = cli("--home", home, "init", "--name", "other", "--listen", "127.0.0.1:1")
    assert result.code == ExitCode.STATION_EXISTS
    assert "already holds a station" in result.error_line
    assert (home / "keys.hkey").read_bytes() == before


def test_init_refuses_a_partial_station(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir(mode=0o700)
    (home / "keys.hkey").write_bytes(b"left over")
    with pytest.raises(StationExistsError):
        StationHome.create(home, CONFIG, b"pw", KDF_PROFILES["test"])


def test_init_into_an_existing_empty_directory(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir(mode=0o700)
    StationHome.create(home, CONFIG, b"pw", KDF_PROFILES["test"])
    assert StationHome.open(home).unlock(b"pw").config == CONFIG


def test_init_needs_the_parent(cli: Cli, tmp_path: Path) -> None:
    result = cli("--home", tmp_path / "a" / "b", "init", "--name", "x", "--listen", "1.2.3.4:5")
    assert result.code == ExitCode.HOME_MISSING


def test_no_home_given(cli: Cli) -> None:
    result = cli("card")
    assert result.code == ExitCode.HOME_MISSING
    assert "--home" in result.error_line


def test_home_from_the_environment(cli: Cli, make_station: Callable[..., Path]) -> None:
    home = make_station("jerusalem")
    result = cli("fingerprint", env={"HOTLINE_HOME": str(home)})
    assert result.code == 0
    assert "jerusalem" in result.out


def test_missing_home(cli: Cli, tmp_path: Path) -> None:
    result = cli("--home", tmp_path / "nowhere", "card")
    assert result.code == ExitCode.HOME_MISSING
    assert "does not exist" in result.error_line


def test_directory_without_a_station(cli: Cli, tmp_path: Path) -> None:
    result = cli("--home", tmp_path, "card")
    assert result.code == ExitCode.HOME_MISSING
    assert "no station" in result.error_line


def test_home_that_is_a_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = cli("--home", tmp_path / "file", "card")
    assert result.code == ExitCode.HOME_UNSAFE
    assert "not a directory" in result.error_line


def test_home_owned_by_someone_else(cli: Cli, make_station: Callable[..., Path]) -> None:
    home = make_station("jerusalem")
    os.chown(home, 65534, 65534)
    result = cli("--home", home, "card")
    assert result.code == ExitCode.HOME_UNSAFE
    assert "owned by uid 65534" in result.error_line
    with pytest.raises(HomeUnsafeError):
        StationHome.check_new(home)


@pytest.mark.parametrize("mode", [0o720, 0o702, 0o777])
def test_home_writable_by_others(cli: Cli, make_station: Callable[..., Path], mode: int) -> None:
    home = make_station("jerusalem")
    home.chmod(mode)
    result = cli("--home", home, "peers")
    assert result.code == ExitCode.HOME_UNSAFE
    assert "chmod 700" in result.error_line


def test_readable_but_not_writable_by_group_is_accepted(
    cli: Cli, make_station: Callable[..., Path]
) -> None:
    home = make_station("jerusalem")
    home.chmod(0o750)
    assert cli("--home", home, "peers").code == 0


# --- station.toml ------------------------------------------------------------------------------


def test_config_round_trip() -> None:
    config = StationConfig(name="jerusalem", listen=("127.0.0.1:7401", "[::1]:7401"))
    assert StationConfig.loads(config.dumps()) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[station]\nname = "j"\nlisten = ["1.2.3.4:5"]\nport = 1\n', "unknown key station.port"),
        (
            '[station]\nname = "j"\nlisten = ["1.2.3.4:5"]\n[line]\nx = 1\n',
            r"unknown section \[line\]",
        ),
        ('title = "x"\n[station]\nname = "j"\nlisten = ["1.2.3.4:5"]\n', "unknown section"),
        ('[station]\nlisten = ["1.2.3.4:5"]\n', "missing key station.name"),
        ('[station]\nname = "j"\n', "missing key station.listen"),
        ("", r"missing section \[station\]"),
        ('[station]\nname = 5\nlisten = ["1.2.3.4:5"]\n', "must be a str"),
        ('[station]\nname = "j"\nlisten = "1.2.3.4:5"\n', "must be a list"),
        ('[station]\nname = "j"\nlisten = [5]\n', "list of strings"),
        ('[station]\nname = "j"\nlisten = []\n', "1 to 8"),
        ('[station]\nname = "J"\nlisten = ["1.2.3.4:5"]\n', "bad station name"),
        ('[station]\nname = "j"\nlisten = ["1.2.3.4"]\n', "bad address"),
        ('[station]\nname = "j"\nlisten = ["1.2.3.4:5", "1.2.3.4:5"]\n', "twice"),
        ("[station\n", "not valid TOML"),
    ],
)
def test_bad_config_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StationConfig.loads(text)


def test_bad_config_through_the_cli(cli: Cli, make_station: Callable[..., Path]) -> None:
    home = make_station("jerusalem")
    with (home / "station.toml").open("a") as stream:
        stream.write("colour = 'red'\n")
    result = cli("--home", home, "card")
    assert result.code == ExitCode.CONFIG_INVALID
    assert "unknown key station.colour" in result.error_line


def test_missing_home_error_types(tmp_path: Path) -> None:
    with pytest.raises(HomeMissingError):
        StationHome.open(tmp_path / "nowhere")
