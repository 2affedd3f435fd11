"""``checkpoint``: the two stations sign the line's heads now, not only every 10 s of traffic.

An operator takes one before exporting the record for a commission, or right after an
exchange that matters: once both stations signed it, neither can later show another history
up to it (docs/record-format.md §8).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hotline.api import Client, check_peer

from ._options import root_options


def checkpoint(
    ctx: typer.Context,
    peer: Annotated[str, typer.Argument(metavar="PEER", help="The paired station of the line.")],
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Have this station and PEER co-sign a checkpoint of the line now; print it once stored."""
    home = root_options(ctx).open_home().path
    check_peer(peer)
    with Client.for_home(home) as client:
        signed = client.checkpoint(peer)
    if as_json:
        typer.echo(json.dumps(signed.to_json()))
    else:
        typer.echo(
            f"checkpoint {signed.number} with {peer}: our #{signed.sent}, their"
            f" #{signed.received}; proposed {signed.proposed_at}, co-signed {signed.cosigned_at}"
        )
