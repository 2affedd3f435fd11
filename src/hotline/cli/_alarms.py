"""``alarms`` and ``alarms ack``: what the station is alarmed about, and who has seen it.

An alarm stays listed while its condition holds, and after it ends until an operator
acknowledges it (docs/operations.md, "Alarms"): nothing the night shift missed scrolls away.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hotline.api import AlarmView, Client, check_operator

from ._acks import default_operator
from ._messages import printable
from ._options import root_options

alarms_app = typer.Typer(
    name="alarms",
    help="List the alarms (open ones; --all: every one held); 'alarms ack ID' acknowledges.",
    add_completion=False,
)


def alarm_line(alarm: AlarmView) -> str:
    """One alarm as one line for a person."""
    state = "ACTIVE" if alarm.active else f"over {alarm.cleared_at}"
    seen = f", acknowledged by {printable(alarm.acked_by)}" if alarm.acked_by else ""
    count = f" x{alarm.count}" if alarm.count > 1 else ""
    return (
        f"#{alarm.id} {alarm.level.upper()} {alarm.kind} {alarm.peer or '-'}: "
        f"{printable(alarm.text)} (since {alarm.raised_at}{count}; {state}{seen})"
    )


@alarms_app.callback(invoke_without_command=True)
def alarms(
    ctx: typer.Context,
    *,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Also those over and acknowledged.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the station's alarms, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    home = root_options(ctx).open_home().path
    with Client.for_home(home) as client:
        found = client.alarms(include_closed=include_closed)
    if as_json:
        typer.echo(json.dumps([alarm.to_json() for alarm in found], indent=2))
        return
    if not found:
        typer.echo("No alarms.")
    for alarm in found:
        typer.echo(alarm_line(alarm))


@alarms_app.command("ack")
def ack_alarm(
    ctx: typer.Context,
    alarm_id: Annotated[int, typer.Argument(metavar="ID", help="The alarm's number.", min=1)],
    *,
    operator: Annotated[
        str | None,
        typer.Option(
            "--operator",
            metavar="NAME",
            help="Who acknowledges (default: $HOTLINE_OPERATOR, else the login name).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alarm as JSON.")] = False,
) -> None:
    """Acknowledge an alarm: seen, and being dealt with."""
    home = root_options(ctx).open_home().path
    name = check_operator(operator or default_operator())
    with Client.for_home(home) as client:
        alarm = client.ack_alarm(alarm_id, name)
    typer.echo(json.dumps(alarm.to_json()) if as_json else alarm_line(alarm))
