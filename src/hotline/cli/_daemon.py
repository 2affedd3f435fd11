"""``serve`` and ``status``: run the station in the foreground, and ask it how its lines are.

``serve`` is the daemon (:func:`hotline.station.serve`); ``status`` never touches keys or the
store, it asks the running daemon over the local API (:class:`hotline.api.Client`).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hotline.api import AlarmView, Client
from hotline.logfmt import configure_logging
from hotline.station import forbid_inspection
from hotline.station import serve as serve_station

from ._alarms import alarm_line
from ._messages import printable
from ._options import PassphraseFd, PassphraseFile, root_options

_STATE_STYLES = {"up": "bold green", "down": "bold red", "connecting": "yellow"}


def serve(
    ctx: typer.Context,
    *,
    passphrase_file: PassphraseFile = None,
    passphrase_fd: PassphraseFd = None,
) -> None:
    """Run the station in the foreground: listen, dial every paired peer, keep the lines up.

    Logs one structured line per event on stderr (line up, line down, rekey, refused...).
    Stops cleanly on SIGTERM or Ctrl-C, closing every session.
    """
    forbid_inspection()  # before the keys are unlocked: hooks cannot read them, nor the env
    station = root_options(ctx).unlock(passphrase_file, passphrase_fd, consume_env=True)
    configure_logging()
    serve_station(station)


def _cell(value: Any, unit: str = "", style: str = "") -> Text:
    """A table cell as plain text: the daemon's strings are never read as rich markup.

    An IPv6 path such as ``[fd00::1]:7401`` would otherwise vanish as an unknown style tag.
    """
    return Text("-" if value is None else f"{value}{unit}", style=style)


def _percent(fraction: Any) -> str | None:
    return None if not isinstance(fraction, int | float) else f"{fraction:.0%}"


def status(
    ctx: typer.Context,
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show every line of the running station: state, path, round trip, session age."""
    answer = Client.for_home(root_options(ctx).open_home().path).status()
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    lines = answer["lines"]
    if not lines:
        typer.echo(f"Station {answer.get('station')}: no paired stations.")
        return
    # A script or a pipe gets whole lines, not a table cut to 80 columns.
    Console(width=None if sys.stdout.isatty() else 200).print(status_table(answer))
    for line in lines:
        if line.get("last_ack_by") is not None:
            typer.echo(
                f"{line['peer']}: our #{line.get('last_ack_seq')} last acknowledged by"
                f" {printable(str(line['last_ack_by']))} at {line.get('last_ack_at')}"
            )
    alarms = [AlarmView.from_json(alarm) for alarm in answer.get("alarms", [])]
    if alarms:
        typer.echo(f"{len(alarms)} open alarm{'s' if len(alarms) > 1 else ''} (hotline alarms):")
        for alarm in alarms:
            typer.echo(f"  {alarm_line(alarm)}")


def status_table(answer: dict[str, Any]) -> Table:
    """The ``status`` table for one answer of ``GET /v1/status`` (which has lines).

    Args:
        answer: the daemon's status document.

    Returns:
        The table, every cell plain text.
    """
    table = Table(title=Text(f"Station {answer.get('station')}"), title_justify="left")
    columns = ("peer", "state", "path", "rtt", "loss", "clock offset", "queued", "oldest")
    for column in (*columns, "last test in", "session age", "last handshake", "rekeys"):
        table.add_column(column)
    for line in answer["lines"]:
        state = str(line.get("state"))
        table.add_row(
            _cell(line.get("peer")),
            _cell(state, style=_STATE_STYLES.get(state, "")),
            _cell(line.get("path")),
            _cell(line.get("rtt_ms"), " ms"),
            _cell(_percent(line.get("loss"))),
            _cell(line.get("clock_offset_ms"), " ms"),
            _cell(line.get("queued")),
            _cell(line.get("oldest_unreceipted")),
            _cell(line.get("last_test_received")),
            _cell(line.get("session_age_s"), " s"),
            _cell(line.get("last_handshake")),
            _cell(line.get("rekeys")),
        )
    return table
