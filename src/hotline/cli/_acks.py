"""``ack`` and ``acks``: "seen and acted on", signed into the record and shown to the sender.

The historic hotline's rule was that a message for the head of state is walked to them; here
the operator who did it says so with ``ack``, by name. The daemon sends it to the message's
sender as an ACK envelope; the sender's ``acks`` lists who acknowledged which message, when.
"""

from __future__ import annotations

import getpass
import json
import os
from typing import Annotated

import typer

from hotline.api import Client, check_message_id, check_note, check_operator, check_peer

from ._messages import AsJson, PeerFilter, printable
from ._options import root_options


def default_operator() -> str:
    """``HOTLINE_OPERATOR``, else the login name: who is at the console."""
    return os.environ.get("HOTLINE_OPERATOR") or getpass.getuser()


def ack(
    ctx: typer.Context,
    message_id: Annotated[
        str, typer.Argument(metavar="ID", help="The received message's id (see inbox).")
    ],
    *,
    operator: Annotated[
        str | None,
        typer.Option(
            "--operator",
            metavar="NAME",
            help="Who acknowledges (default: $HOTLINE_OPERATOR, else the login name).",
        ),
    ] = None,
    note: Annotated[
        str, typer.Option("--note", metavar="TEXT", help="What was done (optional).")
    ] = "",
    as_json: AsJson = False,
) -> None:
    """Acknowledge a received message: sent to its sender, signed, with your name."""
    home = root_options(ctx).open_home().path
    name = check_operator(operator or default_operator())
    check_message_id(message_id)
    check_note(note)
    with Client.for_home(home) as client:
        result = client.ack(message_id, name, note)
    if as_json:
        typer.echo(json.dumps(result.message.to_json() | {"created": result.created}))
    elif result.created:
        typer.echo(f"acknowledged by {printable(name)}: {result.message.id}")
    else:
        typer.echo(f"already acknowledged by {printable(name)}: {result.message.id}")


def acks(ctx: typer.Context, *, peer: PeerFilter = None, as_json: AsJson = False) -> None:
    """List who acknowledged our messages at the other stations, and when."""
    home = root_options(ctx).open_home().path
    if peer is not None:
        check_peer(peer)
    with Client.for_home(home) as client:
        found = client.acks(peer)
    if as_json:
        typer.echo(json.dumps([view.to_json() for view in found], indent=2))
        return
    if not found:
        typer.echo("No acknowledgements yet.")
    for view in found:
        note = f": {printable(view.note)}" if view.note else ""
        typer.echo(
            f"{view.peer} #{view.seq} ({view.message_id}) acknowledged by"
            f" {printable(view.operator)} at {view.acknowledged_at}{note}"
        )
