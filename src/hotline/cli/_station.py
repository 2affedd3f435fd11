"""``init``, ``card`` and ``fingerprint``: create a station and show its public identity."""

from __future__ import annotations

from typing import Annotated, Final

import typer

from hotline.identity import KDF_PROFILES, MAX_ADDRESSES, check_address, check_station_name
from hotline.station import StationConfig, StationHome, UnlockedStation

from . import _terminal
from ._options import PassphraseFd, PassphraseFile, root_options

#: Selects the cheap ``test`` Argon2id profile for test suites that run ``init`` as a process.
#: It is honoured for compatibility with them, but never silently: ``init`` names it in its
#: warning, and every later unlock of the key file warns again (``WEAK_KDF_WARNING``).
KDF_PROFILE_ENV: Final = "HOTLINE_KDF_PROFILE"


def _name(value: str) -> str:
    try:
        return check_station_name(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _addresses(values: list[str]) -> list[str]:
    try:
        for value in values:
            check_address(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if len(values) > MAX_ADDRESSES or len(set(values)) != len(values):
        raise typer.BadParameter(f"give 1 to {MAX_ADDRESSES} different addresses")
    return values


def _kdf_profile(value: str) -> str:
    if value not in KDF_PROFILES:
        raise typer.BadParameter(f"choose one of {', '.join(KDF_PROFILES)}")
    return value


def _show_fingerprint(station: UnlockedStation) -> None:
    """Print the fingerprint, alone on the last line so a script can take it with ``tail -1``."""
    typer.echo(
        f"Fingerprint of station {station.config.name}; read it to the other operator"
        " over a channel you already trust:"
    )
    typer.echo(str(station.card().fingerprint))


def init(
    ctx: typer.Context,
    *,
    name: Annotated[
        str,
        typer.Option(
            "--name", help="The station's name: a-z 0-9 . - _ (e.g. jerusalem).", callback=_name
        ),
    ],
    listen: Annotated[
        list[str],
        typer.Option(
            "--listen",
            help="An address to listen on and publish on the card, host:port (repeatable).",
            callback=_addresses,
        ),
    ],
    kdf_profile: Annotated[
        str,
        typer.Option(
            "--kdf-profile",
            envvar=KDF_PROFILE_ENV,
            hidden=True,
            callback=_kdf_profile,
            help="Argon2id cost: strong (default) or test (cheap, for test suites only).",
        ),
    ] = "strong",
    passphrase_file: PassphraseFile = None,
    passphrase_fd: PassphraseFd = None,
) -> None:
    """Create a station: its home, fresh keys under a passphrase, and station.toml."""
    path = root_options(ctx).home_path()
    config = StationConfig(name=name, listen=tuple(listen))
    StationHome.check_new(path)
    passphrase = _terminal.passphrase(passphrase_file, passphrase_fd, confirm=True)
    station = StationHome.create(path, config, passphrase, KDF_PROFILES[kdf_profile])
    if kdf_profile != "strong":
        source = ctx.get_parameter_source("kdf_profile")  # typer's own click: compare by name
        from_env = source is not None and source.name == "ENVIRONMENT"
        origin = f" (from {KDF_PROFILE_ENV})" if from_env else ""
        _terminal.notice(
            f"warning: KDF profile {kdf_profile!r}{origin} makes the key file cheap to attack;"
            " never use it for a real station"
        )
    typer.echo(f"Station {name} created in {path}, listening on {', '.join(listen)}.")
    _show_fingerprint(station)


def card(
    ctx: typer.Context,
    *,
    passphrase_file: PassphraseFile = None,
    passphrase_fd: PassphraseFd = None,
) -> None:
    """Print the station's card (public, self-signed, text-armoured) to send to the other office."""
    station = root_options(ctx).unlock(passphrase_file, passphrase_fd)
    typer.echo(station.card().armour(), nl=False)


def fingerprint(
    ctx: typer.Context,
    *,
    passphrase_file: PassphraseFile = None,
    passphrase_fd: PassphraseFd = None,
) -> None:
    """Print the station's fingerprint, the code to read aloud, alone on the last line."""
    _show_fingerprint(root_options(ctx).unlock(passphrase_file, passphrase_fd))
