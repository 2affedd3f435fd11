"""Options shared by several commands, and the station home chosen on the root command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from hotline.station import HomeMissingError, StationHome, UnlockedStation

from . import _terminal

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
        help="Read the passphrase from this inherited file descriptor, to its end.",
        min=0,
    ),
]


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

    def unlock(self, file: Path | None, fd: int | None) -> UnlockedStation:
        """Open the station home and unlock it with the operator's passphrase."""
        return self.open_home().unlock(_terminal.passphrase(file, fd))


def root_options(ctx: typer.Context) -> RootOptions:
    """Return the root command's options from a subcommand's context."""
    options = ctx.find_object(RootOptions)
    assert options is not None, "the root callback always sets RootOptions"
    return options
