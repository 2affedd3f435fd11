"""The ``hotline`` command: a thin shell over the station (offline commands) and the local API."""

from __future__ import annotations

import sys

import typer

from hotline.errors import HotlineError

app = typer.Typer(
    name="hotline",
    help="Hotline: a direct, end-to-end encrypted, post-quantum line between fixed stations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the Hotline version."""
    from hotline import __version__

    typer.echo(__version__)


def main() -> None:
    """Run the CLI; every HotlineError becomes one line on stderr and its exit code."""
    try:
        app(standalone_mode=False)
    except HotlineError as exc:
        typer.echo(f"hotline: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("hotline: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("hotline: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors and anything unexpected: still one line
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        typer.echo(f"hotline: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(70)


if __name__ == "__main__":
    main()
