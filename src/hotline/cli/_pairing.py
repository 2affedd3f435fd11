"""``pair``, ``unpair`` and ``peers``: pin the other station's card, revoke it, list the pins.

Pairing is the one moment trust is established, so ``pair`` never shows the card's
fingerprint and asks "is that right?": the operator must *type* the code the other operator
read to them, and the two are compared. A y/N prompt would be answered "y" by habit.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from hotline.identity import Card, PairOutcome, Peer

from . import _terminal
from ._input import read_input
from ._options import PassphraseFd, PassphraseFile, root_options, unlock

#: A card file is a few KiB of armour, perhaps inside a saved e-mail; 1 MiB is plenty.
MAX_CARD_FILE_LEN = 1 << 20


def _read_card(path: Path) -> Card:
    raw = read_input(path, MAX_CARD_FILE_LEN, "a card file")
    return Card.from_armour(raw.decode("utf-8", errors="replace"))


def pair(
    ctx: typer.Context,
    *,
    card_file: Annotated[Path, typer.Argument(help="The other station's card file.")],
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            help="The code the other operator gave you (for scripts; else you are asked to"
            " type it). Spaces and dashes are ignored.",
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Allow new keys for a station already paired (revokes the old)."
        ),
    ] = False,
    passphrase_file: PassphraseFile = None,
    passphrase_fd: PassphraseFd = None,
) -> None:
    """Pin another station's card after checking its fingerprint with its operator."""
    home = root_options(ctx).open_home()
    card = _read_card(card_file)
    if fingerprint is not None:
        card.fingerprint.check(fingerprint)
    elif not _terminal.stdin_is_interactive():
        raise _terminal.NotInteractiveError(
            "pair asks you to type the fingerprint, and stdin is not a terminal:"
            " pass --fingerprint CODE"
        )
    station = unlock(home, passphrase_file, passphrase_fd)
    result = station.load_peers().pair(card, local=station.card(), now=time.time(), replace=replace)
    if fingerprint is None:
        _terminal.notice(f"Card of station {card.name}, addresses: {', '.join(card.addresses)}")
        _terminal.notice(
            f"Ask {card.name}'s operator to read you their fingerprint over a channel you"
            " already trust (a phone call you placed, a courier), and type it here."
        )
        card.fingerprint.check(_terminal.ask("Fingerprint: "))
    if result.replaced is not None:
        _terminal.notice(
            f"warning: {card.name} was paired with other keys (fingerprint"
            f" {result.replaced.card.fingerprint}); those keys are revoked and these pinned"
        )
    if result.outcome is not PairOutcome.UNCHANGED:
        station.save_peers(result.registry)
    messages = {
        PairOutcome.PAIRED: f"Paired with {card.name}.",
        PairOutcome.REPLACED: f"Paired with {card.name} (new keys).",
        PairOutcome.UPDATED: f"{card.name} was already paired; its addresses were updated.",
        PairOutcome.UNCHANGED: f"{card.name} was already paired with this card; nothing changed.",
    }
    typer.echo(messages[result.outcome])


def unpair(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="The paired station's name.")],
    passphrase_file: PassphraseFile = None,
    passphrase_fd: PassphraseFd = None,
) -> None:
    """Revoke a pairing: the line to that station is refused from now on."""
    station = root_options(ctx).unlock(passphrase_file, passphrase_fd)
    station.save_peers(station.load_peers().unpair(name, now=time.time()))
    typer.echo(f"Unpaired {name}: its line is refused from now on.")


def _as_json(peer: Peer) -> dict[str, object]:
    return {
        "name": peer.name,
        "fingerprint": str(peer.card.fingerprint),
        "paired_at": peer.paired_at,
        "revoked_at": peer.revoked_at,
        "addresses": list(peer.card.addresses),
    }


def peers(
    ctx: typer.Context,
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Include revoked pairings (the history).")
    ] = False,
    passphrase_file: PassphraseFile = None,
    passphrase_fd: PassphraseFd = None,
) -> None:
    """List the paired stations: name, fingerprint, since when, addresses."""
    registry = root_options(ctx).unlock(passphrase_file, passphrase_fd).load_peers()
    listed = registry.entries if show_all else registry.active()
    if as_json:
        typer.echo(json.dumps([_as_json(peer) for peer in listed], indent=2))
        return
    if not listed:
        typer.echo("No paired stations.")
        return
    width = max(len(peer.name) for peer in listed)
    for peer in listed:
        since = f"paired {peer.paired_at}"
        if peer.revoked_at is not None:
            since += f", revoked {peer.revoked_at}"
        addresses = " ".join(peer.card.addresses)
        typer.echo(f"{peer.name:<{width}}  {peer.card.fingerprint}  {since}  {addresses}")
