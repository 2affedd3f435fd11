"""The station home and station.toml: what is refused before any key is touched."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hotline.cli._options import Home
from hotline.errors import ExitCode
from hotline.identity import KDF_PROFILES, normalise_passphrase
from hotline.station import (
    ConfigError,
    HomeMissingError,
    HomeUnsafeError,
    StationConfig,
    StationExistsError,
    StationHome,
    _home,
)

from .conftest import PASSPHRASE, Cli

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
            '[station]\nname = "j"\nlisten = ["1.2.3.4:5"]\n[lines]\nx = 1\n',
            r"unknown section \[lines\]",
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


# --- --home "" ---------------------------------------------------------------------------------


def test_empty_home_is_refused(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Path("")`` is the current directory; nobody means that by an empty --home."""
    monkeypatch.chdir(tmp_path)
    result = cli("--home", "", "init", "--name", "h", "--listen", "127.0.0.1:1")
    assert result.code == ExitCode.USAGE
    assert "empty path is not a station home" in result.error_line
    assert list(tmp_path.iterdir()) == []  # no station in the current directory


def test_empty_home_variable_counts_as_unset(cli: Cli) -> None:
    result = cli("card", env={"HOTLINE_HOME": ""})
    assert result.code == ExitCode.HOME_MISSING
    assert "--home DIR or set HOTLINE_HOME" in result.error_line


def test_home_option_refuses_an_empty_path() -> None:
    """The option type itself, as ``_app.root`` declares it."""
    app = typer.Typer()

    @app.command()
    def show(home: Home = None) -> None:
        typer.echo(repr(home))

    runner = CliRunner()
    assert runner.invoke(app, ["--home", "."]).output == "PosixPath('.')\n"
    assert runner.invoke(app, [], env={"HOTLINE_HOME": "/x"}).output == "PosixPath('/x')\n"
    assert runner.invoke(app, [], env={"HOTLINE_HOME": ""}).output == "None\n"
    refused = runner.invoke(app, ["--home", ""], standalone_mode=False)
    assert isinstance(refused.exception, typer.BadParameter)
    assert "empty path is not a station home" in refused.exception.format_message()


# --- a station's files must be regular files ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("keys.hkey", ExitCode.KEY_FILE_CORRUPT),
        ("peers.json", ExitCode.PEERS_FILE_INVALID),
        ("station.toml", ExitCode.CONFIG_INVALID),
    ],
)
@pytest.mark.parametrize("kind", ["directory", "fifo"])
@pytest.mark.timeout(30)  # a FIFO opened for reading blocks until a writer comes: never here
def test_a_station_file_that_is_not_a_regular_file(
    cli: Cli, make_station: Callable[..., Path], name: str, code: int, kind: str
) -> None:
    home = make_station("jerusalem")
    (home / name).unlink()
    if kind == "directory":
        (home / name).mkdir()
    else:
        os.mkfifo(home / name)
    result = cli("--home", home, "peers")
    assert result.code == code
    assert f"{home / name} is not a regular file" in result.error_line


# --- init: interrupted, raced, and the leftovers of crashes ------------------------------------


@pytest.mark.parametrize("left", [["keys.hkey"], ["keys.hkey", "peers.json"]])
def test_an_interrupted_init_says_how_to_recover(
    cli: Cli, make_station: Callable[..., Path], left: list[str]
) -> None:
    home = make_station("jerusalem")
    for name in {"keys.hkey", "peers.json", "station.toml"} - set(left):
        (home / name).unlink()
    listed = " and ".join(left)
    diagnosis = (
        f"{home} holds {listed} but no station.toml: an init was interrupted, or station.toml"
        f" was removed. If this station was never used, delete {listed} and run init again;"
        " otherwise restore station.toml from a backup"
    )
    opened = cli("--home", home, "card")
    assert opened.code == ExitCode.HOME_MISSING
    assert opened.error_line == f"hotline: error: {diagnosis}"
    again = cli("--home", home, "init", "--name", "jerusalem", "--listen", "127.0.0.1:1")
    assert again.code == ExitCode.STATION_EXISTS
    assert again.error_line == f"hotline: error: {diagnosis}"
    for name in left:  # the recovery the message gives
        (home / name).unlink()
    assert cli("--home", home, "init", "--name", "jerusalem", "--listen", "127.0.0.1:1").code == 0


def test_a_racing_init_cannot_overwrite_the_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both inits pass check_new; the second to reach keys.hkey must fail, not replace it."""
    home = tmp_path / "h"
    real_seal = _home.seal_key_file

    def seal_while_another_init_writes(*args: object, **kwargs: object) -> object:
        sealed = real_seal(*args, **kwargs)  # type: ignore[arg-type]
        (home / "keys.hkey").write_bytes(b"the other init's keys")
        return sealed

    monkeypatch.setattr(_home, "seal_key_file", seal_while_another_init_writes)
    with pytest.raises(StationExistsError, match="another init"):
        StationHome.create(home, CONFIG, b"pw", KDF_PROFILES["test"])
    assert (home / "keys.hkey").read_bytes() == b"the other init's keys"
    assert sorted(p.name for p in home.iterdir()) == ["keys.hkey"]  # nothing of ours is left


def test_a_failed_init_removes_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "h"
    real_write = _home._write_atomic

    def write_until_station_toml(path: Path, data: bytes, **kwargs: bool) -> None:
        if path.name == "station.toml":
            raise OSError(28, "No space left on device", str(path))
        real_write(path, data, **kwargs)

    monkeypatch.setattr(_home, "_write_atomic", write_until_station_toml)
    with pytest.raises(OSError, match="No space"):
        StationHome.create(home, CONFIG, b"pw", KDF_PROFILES["test"])
    assert list(home.iterdir()) == []


def test_stale_temporary_files_are_removed_by_the_next_write(
    make_station: Callable[..., Path], tmp_path: Path
) -> None:
    home = make_station("jerusalem")
    old = time.time() - _home.STALE_TEMPORARY_AGE - 5
    stale = [".peers.json.0123456789abcdef.tmp", ".keys.hkey.fedcba9876543210.tmp"]
    kept = [
        ".peers.json.00112233445566aa.tmp",  # fresh: perhaps another process's write
        ".peers.json.backup.tmp",  # not a name we make
        "notes.tmp",
    ]
    for name in stale + kept:
        (home / name).write_bytes(b"left over")
    for name in [*stale, *kept[1:]]:
        os.utime(home / name, (old, old))
    station = StationHome.open(home).unlock(normalise_passphrase(PASSPHRASE))
    station.save_peers(station.load_peers())
    names = {p.name for p in home.iterdir()}
    assert names == {"keys.hkey", "peers.json", "station.toml", *kept}
