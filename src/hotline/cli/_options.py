"""Options shared by several commands, the station home chosen on the root command, and unlock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import typer

from hotline.station import HomeMissingError, StationHome, UnlockedStation

from . import _terminal

#: Printed after every unlock of a key file cheaper to attack than the ``strong`` profile makes
#: it (``init --kdf-profile test`` or ``HOTLINE_KDF_PROFILE=test``), so a real station whose key
#: file was weakened by a stray variable in the operator's shell never runs silently.
WEAK_KDF_WARNING: Final = (
    "warning: this station's key file uses weak test KDF parameters: a stolen copy is cheap"
    " to attack; never use such a key file for a real station"
)


def _home(value: str) -> Path:
    """Refuse ``--home ""``: ``Path("")`` is the current directory, which nobody means by it.

    An empty ``HOTLINE_HOME`` never gets here: click treats an empty variable as unset.
    """
    if not value:
        raise typer.BadParameter(
            "an empty path is not a station home (for the current directory, give --home .)"
        )
    return Path(value)


Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="HOTLINE_HOME",
        show_envvar=True,
        metavar="DIR",
        parser=_home,
        help="The station's home directory.",
    ),
]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="Read the passphrase from this file (one trailing newline is ignored).",
        dir_okay=False,
    ),
]
PassphraseFd = Annotated[
    int | None,
    typer.Option(
        "--passphrase-fd",
        help="Read the passphrase from this inherited file descriptor, to its end"
        " (0: standard input; 1 and 2 are refused).",
        min=0,
    ),
]


def unlock(
    home: StationHome, file: Path | None, fd: int | None, *, consume_env: bool = False
) -> UnlockedStation:
    """Unlock ``home`` with the operator's passphrase; warn if its key file is weak.

    Every command that unlocks a station goes through here, so the warning cannot be missed.

    Args:
        home: the checked station home.
        file: the ``--passphrase-file`` value.
        fd: the ``--passphrase-fd`` value.
        consume_env: remove ``HOTLINE_PASSPHRASE`` from the environment once read (``serve``).
    """
    station = home.unlock(_terminal.passphrase(file, fd, consume_env=consume_env))
    if station.unlocked.weak_kdf:
        _terminal.notice(WEAK_KDF_WARNING)
    return station


@dataclass(frozen=True, slots=True)
class RootOptions:
    """What the root command parsed, handed to every subcommand as ``ctx.obj``.

    Attributes:
        home: ``--home`` or ``HOTLINE_HOME``; ``None`` if neither was given.
    """

    home: Path | None

    def home_path(self) -> Path:
        """Return the station home.

        Raises:
            HomeMissingError: neither ``--home`` nor ``HOTLINE_HOME`` was given.
        """
        if self.home is None:
            raise HomeMissingError("no station home: give --home DIR or set HOTLINE_HOME")
        return self.home

    def open_home(self) -> StationHome:
        """Return the checked station home (see :meth:`StationHome.open`)."""
        return StationHome.open(self.home_path())

    def unlock(
        self, file: Path | None, fd: int | None, *, consume_env: bool = False
    ) -> UnlockedStation:
        """Open the station home and unlock it (see :func:`unlock`)."""
        return unlock(self.open_home(), file, fd, consume_env=consume_env)


def root_options(ctx: typer.Context) -> RootOptions:
    """Return the root command's options from a subcommand's context."""
    options = ctx.find_object(RootOptions)
    assert options is not None, "the root callback always sets RootOptions"
    return options
