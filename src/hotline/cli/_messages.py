"""``send``, ``outbox`` and ``inbox``: the operator's messages, through the daemon's local API.

None of these touches the keys or the store: they ask the running daemon
(:class:`hotline.api.Client`), which alone opens ``hotline.db``. With the daemon down they say
so in one line (exit 43) and queue nothing.

``send`` prints the message id only once the daemon has committed the message to disk. Each
invocation carries an idempotency key (a fresh one, or ``--idempotency-key``): the client
retries once with it after a timeout, and the operator can retry with it too, and the message
is still queued once.
"""

from __future__ import annotations

import enum
import json
import sys
import time
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hotline.api import (
    Client,
    InboxView,
    OutboxView,
    check_idempotency_key,
    check_peer,
    check_text,
    new_idempotency_key,
)

from . import _terminal
from ._options import root_options

#: Characters shown escaped (``\u202e``) in tables and listings, never raw: controls, format
#: characters (bidi overrides could reorder what the operator reads) and line separators. The
#: ``--json`` outputs keep every text exactly as sent.
_ESCAPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: How often ``inbox --follow`` asks the daemon for what arrived (a local request: cheap).
_FOLLOW_INTERVAL: Final = 0.25
#: How much of a text the outbox table shows; ``--json`` has all of it.
_PREVIEW_LEN: Final = 60


class PrecedenceName(enum.StrEnum):
    """The choices of ``--precedence`` (the API's names: :data:`hotline.api.PRECEDENCES`)."""

    FLASH = "flash"
    IMMEDIATE = "immediate"
    PRIORITY = "priority"
    ROUTINE = "routine"


Peer = Annotated[
    str, typer.Argument(metavar="PEER", help="The paired station to send to.", show_default=False)
]
PeerFilter = Annotated[
    str | None, typer.Option("--peer", metavar="PEER", help="Only this peer's messages.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print a JSON list for scripts.")]


def printable(text: str) -> str:
    """Return ``text`` with control, format and separator characters escaped, for display:
    newlines too, so a field a peer wrote (an operator's name, a note) stays on its line."""
    return "".join(
        (
            f"\\x{ord(c):02x}"
            if ord(c) < 0x100
            else f"\\u{ord(c):04x}"
            if ord(c) < 0x10000
            else f"\\U{ord(c):08x}"
        )
        if unicodedata.category(c) in _ESCAPED_CATEGORIES
        else c
        for c in text
    )


def printable_body(text: str) -> str:
    """Return a message's text for display under its header: each line escaped and indented,
    so no line of it can pass for a header (a peer's text showing another "message")."""
    return "\n".join(f"    {printable(line)}" for line in text.split("\n"))


def send(
    ctx: typer.Context,
    peer: Peer,
    text: Annotated[
        str,
        typer.Argument(metavar="TEXT", help="The message, as typed (UTF-8, up to 61,440 bytes)."),
    ],
    *,
    precedence: Annotated[
        PrecedenceName,
        typer.Option(
            "--precedence",
            case_sensitive=False,
            help="FLASH goes first, then IMMEDIATE, PRIORITY, ROUTINE.",
        ),
    ] = PrecedenceName.ROUTINE,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            metavar="KEY",
            help="Name this request (1-64 printable ASCII characters); sending again with the"
            " same key never queues twice. Default: a fresh random key.",
        ),
    ] = None,
) -> None:
    """Queue a message for PEER; print its id once it is durably queued.

    The daemon need not reach PEER: the message waits in the outbox until the line is up.
    """
    home = root_options(ctx).open_home().path
    check_peer(peer)
    check_text(text)
    key = new_idempotency_key() if idempotency_key is None else idempotency_key
    check_idempotency_key(key)
    with Client.for_home(home) as client:
        result = client.send(peer, text, precedence=precedence.value, idempotency_key=key)
    if not result.created:
        _terminal.notice(f"already queued with idempotency key {key}: not queued again")
    typer.echo(result.message.id)


def outbox(ctx: typer.Context, *, peer: PeerFilter = None, as_json: AsJson = False) -> None:
    """List the messages queued and not yet receipted by their peer, in sending order."""
    home = root_options(ctx).open_home().path
    if peer is not None:
        check_peer(peer)
    with Client.for_home(home) as client:
        messages = client.outbox(peer)
    if as_json:
        _print_json(messages)
        return
    if not messages:
        typer.echo("The outbox is empty.")
        return
    table = Table(title="Outbox", title_justify="left")
    for column in ("id", "peer", "kind", "precedence", "state", "queued at", "text"):
        table.add_column(column)
    for message in messages:
        preview = printable(message.text.replace("\n", " "))
        if len(preview) > _PREVIEW_LEN:
            preview = preview[: _PREVIEW_LEN - 1] + "…"
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    message.id,
                    message.peer,
                    message.kind,
                    message.precedence.upper(),
                    message.state,
                    message.queued_at,
                    preview,
                )
            )
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def inbox(
    ctx: typer.Context,
    *,
    peer: PeerFilter = None,
    as_json: AsJson = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Then print each new message as it arrives, until interrupted (with --json:"
            " one JSON object per line).",
        ),
    ] = False,
) -> None:
    """List the messages received, in the order they were delivered."""
    home = root_options(ctx).open_home().path
    if peer is not None:
        check_peer(peer)
    with Client.for_home(home) as client:
        messages = client.inbox(peer)
        if not follow:
            if as_json:
                _print_json(messages)
            elif not messages:
                typer.echo("The inbox is empty.")
            for message in () if as_json else messages:
                _print_received(message)
            return
        _follow(client, peer, messages, as_json=as_json)


def _follow(
    client: Client, peer: str | None, messages: Sequence[InboxView], *, as_json: bool
) -> None:
    """Print ``messages``, then every message delivered after them, as it arrives."""
    last: str | None = None
    try:
        while True:
            for message in messages:
                if as_json:
                    typer.echo(json.dumps(message.to_json(), ensure_ascii=False), nl=True)
                else:
                    _print_received(message)
                last = message.id
            sys.stdout.flush()
            time.sleep(_FOLLOW_INTERVAL)
            messages = client.inbox(peer, after=last)
    except KeyboardInterrupt:
        return


def _print_received(message: InboxView) -> None:
    kind = " TEST" if message.kind == "test" else ""
    acked = (
        f"  acknowledged by {printable(message.acknowledged_by)} {message.acknowledged_at}"
        if message.acknowledged_by is not None
        else ""
    )
    typer.echo(
        f"--- {message.peer} #{message.seq} {message.precedence.upper()}{kind}"
        f"  sent {message.sent_at}  received {message.received_at}  id {message.id}{acked}"
    )
    typer.echo(printable_body(message.text))


def _print_json(messages: Sequence[OutboxView | InboxView]) -> None:
    typer.echo(json.dumps([message.to_json() for message in messages], indent=2))
