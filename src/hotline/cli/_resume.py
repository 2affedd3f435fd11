"""``resume``: the operator lifts a halted line, after investigating why it halted.

A station halts a direction of a line when it refuses an item from its peer (a bad signature,
a broken chain, a gap, an equivocation) or when the peer refuses one of ours; the halt is kept
in the store across sessions and restarts, and only this command lifts it (docs/operations.md
says what to check first). Like ``send``, it asks the running daemon over the local API.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hotline.api import Client, check_peer

from ._options import root_options


def resume(
    ctx: typer.Context,
    peer: Annotated[
        str,
        typer.Argument(
            metavar="PEER", help="The paired station whose line to resume.", show_default=False
        ),
    ],
    *,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"peer": ..., "lifted": N} for scripts.')
    ] = False,
) -> None:
    """Lift the halted directions of the line to PEER; the line then resyncs.

    Run it only once both offices know why the line halted (see docs/operations.md): the
    halt is what keeps a forged or diverging record from being accepted.
    """
    home = root_options(ctx).open_home().path
    check_peer(peer)
    with Client.for_home(home) as client:
        lifted = client.resume(peer)
    if as_json:
        typer.echo(json.dumps({"peer": peer, "lifted": lifted}))
    else:
        typer.echo(resumed_line(peer, lifted))


def resumed_line(peer: str, lifted: int) -> str:
    """The one line ``resume`` prints for ``lifted`` halts lifted on the line to ``peer``."""
    if lifted == 0:
        return f"{peer}: nothing was halted"
    directions = "direction" if lifted == 1 else "directions"
    return f"{peer}: {lifted} halted {directions} lifted; the line resyncs"
