"""The ``hotline`` command: the root options, the command table, and the one-line error rule.

Every failure an operator can cause ends as one line on stderr and a distinct exit status
(:class:`hotline.errors.ExitCode`), never a traceback: :func:`main` is the only place that
turns exceptions into exits.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from hotline import __version__
from hotline.errors import ExitCode, HotlineError
from hotline.handshake import check_crypto_support

from ._acks import ack, acks
from ._alarms import alarms_app
from ._checkpoint import checkpoint
from ._daemon import serve, status
from ._messages import inbox, outbox, send
from ._options import Home, RootOptions
from ._pairing import pair, peers, unpair
from ._record import record, statement, verify
from ._resume import resume
from ._station import card, fingerprint, init

app = typer.Typer(
    name="hotline",
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    home: Home = None,
) -> None:
    """Hotline: a direct, end-to-end encrypted, post-quantum line between fixed stations."""
    ctx.obj = RootOptions(home=home)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


@app.command()
def version() -> None:
    """Print the Hotline version."""
    typer.echo(__version__)


for _command in (
    *(init, card, fingerprint, pair, peers, unpair, verify, statement),  # offline; then daemon's
    *(serve, status, send, outbox, inbox, ack, acks, resume, record, checkpoint),
):
    app.command()(_command)
app.add_typer(alarms_app)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"hotline: {' '.join(message.splitlines())}", err=True)
    sys.exit(code)


def main() -> None:
    """Run the CLI; every error becomes one line on stderr and its exit code."""
    try:
        check_crypto_support()  # ML-KEM-1024 and ML-DSA-87, or nothing: fail closed, one line
        status = app(standalone_mode=False)
    except HotlineError as exc:
        _fail(f"error: {exc}", exc.exit_code)
    except (typer.Abort, KeyboardInterrupt, EOFError):
        _fail("interrupted", ExitCode.INTERRUPTED)
    except typer.TyperException as exc:  # click's usage errors: one line, with a hint
        _fail(f"error: {exc.format_message().rstrip('.')} (see --help)", exc.exit_code)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"error: {exc.strerror or exc}{where}", ExitCode.IO_ERROR)
    except Exception as exc:  # a bug: still one line, and the type says where to look
        _fail(f"internal error: {type(exc).__name__}: {exc}", ExitCode.INTERNAL)
    if isinstance(status, int) and status:  # typer.Exit(code) in non-standalone mode
        sys.exit(status)
