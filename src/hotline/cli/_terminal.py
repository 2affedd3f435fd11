"""Talking to the operator at the terminal: prompts go to stderr, so stdout stays clean.

``hotline card > moscow.card`` must write nothing but the card to the file, so every question
and every notice is written to stderr. The functions here are the only ones that read the
terminal, so tests replace them (``monkeypatch``) to play the operator.
"""

from __future__ import annotations

import getpass
import hmac
import os
import sys
from pathlib import Path

import typer

from hotline.errors import ExitCode, HotlineError
from hotline.identity import PassphraseUnavailableError, obtain_passphrase


class NotInteractiveError(HotlineError):
    """A question must be asked but standard input is not a terminal."""

    exit_code = ExitCode.NOT_INTERACTIVE


def stdin_is_interactive() -> bool:
    """Whether standard input is a terminal an operator types into."""
    return sys.stdin.isatty()


def ask_secret(question: str) -> str:
    """Ask without echoing the answer (the passphrase)."""
    return getpass.getpass(question, stream=sys.stderr)


def ask(question: str) -> str:
    """Ask and return the line typed, without its line end.

    Raises:
        typer.Abort: standard input ended (Ctrl-D).
    """
    typer.echo(question, err=True, nl=False)
    line = sys.stdin.readline()
    if not line:
        raise typer.Abort
    return line.rstrip("\r\n")


def notice(message: str) -> None:
    """Tell the operator something that is not the command's output."""
    typer.echo(message, err=True)


def passphrase(
    file: Path | None, fd: int | None, *, confirm: bool = False, consume_env: bool = False
) -> bytes:
    """Return the station passphrase: file, descriptor, ``HOTLINE_PASSPHRASE``, else a prompt.

    Args:
        file: the ``--passphrase-file`` value.
        fd: the ``--passphrase-fd`` value.
        confirm: ask twice when prompting (``init``: a typo would lock the station for good).
        consume_env: remove ``HOTLINE_PASSPHRASE`` from the environment once read (``serve``:
            a long-running process should not keep it where its children and /proc see it).

    Raises:
        NotInteractiveError: a prompt is needed but stdin is not a terminal.
        PassphraseUnavailableError: unreadable source, empty, or the two entries differ.
    """

    def prompt() -> str:
        if not stdin_is_interactive():
            raise NotInteractiveError(
                "a passphrase is needed and stdin is not a terminal:"
                " use --passphrase-file, --passphrase-fd or HOTLINE_PASSPHRASE"
            )
        first = ask_secret("Station passphrase: ")
        if confirm and not hmac.compare_digest(
            first.encode(), ask_secret("Station passphrase (again): ").encode()
        ):
            raise PassphraseUnavailableError("the two passphrases differ")
        return first

    return obtain_passphrase(
        file=file, fd=fd, environ=os.environ, prompt=prompt, consume_env=consume_env
    )
