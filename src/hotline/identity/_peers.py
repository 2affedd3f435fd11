"""The pins: which stations this station is paired with, and which pairings were revoked.

:class:`PeerRegistry` is a value: every change returns a new registry, and the file codec is
separate from the rules (:meth:`PeerRegistry.pair`, :meth:`PeerRegistry.unpair`), so both are
tested without touching a disk. Time is passed in (``now``, seconds since the epoch).

History is kept: an unpaired (revoked) entry stays, with the time it was revoked, and pairing
the same name again adds a new entry. At most one entry per name is active, and no public key
is in two active entries, so a line is found from the X25519 key that dials in.

peers.json (docs/identity.md §6) is protected by HMAC-SHA512 under a subkey of the data key,
so someone who can write the home but does not know the passphrase cannot add a pin.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ._card import Card
from ._codec import encode_uint, encode_vec
from ._constants import MAX_PEERS_FILE_LEN, PEERS_FORMAT, PEERS_VERSION, TIMESTAMP_FORMAT
from ._errors import CardError, PeerConflictError, PeersFileError, PeerUnknownError


def format_timestamp(now: float) -> str:
    """Return ``now`` (seconds since the epoch) as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    return datetime.fromtimestamp(now, UTC).strftime(TIMESTAMP_FORMAT)


def _check_timestamp(value: object) -> str:
    if not isinstance(value, str):
        raise PeersFileError("peers file is malformed: a timestamp is not a string")
    try:
        canonical = datetime.strptime(value, TIMESTAMP_FORMAT).strftime(TIMESTAMP_FORMAT)
    except ValueError:
        canonical = None
    if canonical != value:
        raise PeersFileError(f"peers file is malformed: bad timestamp {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Peer:
    """One pairing: a pinned card, when it was paired and, if so, when it was revoked.

    Attributes:
        card: the pinned card (verified).
        paired_at: ``YYYY-MM-DDTHH:MM:SSZ``.
        revoked_at: ``None`` while the pairing is active.
    """

    card: Card
    paired_at: str
    revoked_at: str | None = None

    @property
    def name(self) -> str:
        """The paired station's name."""
        return self.card.name

    @property
    def active(self) -> bool:
        """Whether the line to this station may be used (not revoked)."""
        return self.revoked_at is None


class PairOutcome(enum.Enum):
    """What :meth:`PeerRegistry.pair` did."""

    #: A station not paired before (or paired, then unpaired) is now paired.
    PAIRED = "paired"
    #: Already paired with these keys; the card (its addresses) was refreshed.
    UPDATED = "updated"
    #: Already paired with these keys and these addresses: nothing changed.
    UNCHANGED = "unchanged"
    #: The name was paired with other keys; those were revoked (``replace=True``).
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class PairResult:
    """The registry after a pairing, what happened, and the pairing it replaced, if any."""

    registry: PeerRegistry
    outcome: PairOutcome
    replaced: Peer | None = None


@dataclass(frozen=True, slots=True)
class PeerRegistry:
    """The pinned cards of a station, active and revoked, in pairing order.

    Attributes:
        entries: every pairing ever made, oldest first.
    """

    entries: tuple[Peer, ...] = ()

    def active(self) -> tuple[Peer, ...]:
        """Return the active pairings, oldest first."""
        return tuple(peer for peer in self.entries if peer.active)

    def get(self, name: str) -> Peer | None:
        """Return the active pairing of station ``name``, if any."""
        return next((peer for peer in self.entries if peer.active and peer.name == name), None)

    def find_by_static_key(self, x25519_public: bytes) -> Peer | None:
        """Return the active pairing whose Noise static key is ``x25519_public``, if any.

        This is how the daemon recognises who is dialling: a revoked key finds nothing.
        """
        return next(
            (p for p in self.entries if p.active and p.card.keys.x25519 == x25519_public), None
        )

    def pair(self, card: Card, *, local: Card, now: float, replace: bool = False) -> PairResult:
        """Pin ``card`` (whose fingerprint the caller has already checked).

        Args:
            card: the other station's verified card.
            local: this station's own card; pairing with oneself is refused.
            now: the current time, seconds since the epoch.
            replace: allow a name already paired with other keys to take new keys (the old
                pairing is revoked at ``now``).

        Returns:
            The new registry and what changed.

        Raises:
            PeerConflictError: the card is this station's own or bears its name, the name is
                paired with other keys (and not ``replace``), or one of its keys is pinned
                under another name.
        """
        if card.name == local.name or _shares_key(card, local):
            raise PeerConflictError(f"{card.name!r} is this station's own card or name")
        for peer in self.active():
            if peer.name != card.name and _shares_key(card, peer.card):
                raise PeerConflictError(
                    f"a key of this card is already paired as {peer.name!r}: unpair it first"
                )
        current = self.get(card.name)
        stamp = format_timestamp(now)
        if current is None:
            return PairResult(self._with(Peer(card, stamp)), PairOutcome.PAIRED)
        if current.card.fingerprint == card.fingerprint:
            if current.card.addresses == card.addresses:
                return PairResult(self, PairOutcome.UNCHANGED)
            updated = self._replace_entry(current, dataclasses.replace(current, card=card))
            return PairResult(updated, PairOutcome.UPDATED)
        if not replace:
            raise PeerConflictError(
                f"{card.name!r} is already paired with other keys"
                f" (fingerprint {current.card.fingerprint}): use --replace to revoke them"
            )
        revoked = self._replace_entry(current, _revoke(current, stamp))
        return PairResult(revoked._with(Peer(card, stamp)), PairOutcome.REPLACED, current)

    def unpair(self, name: str, *, now: float) -> PeerRegistry:
        """Revoke the active pairing of ``name`` at ``now``; its entry stays as history.

        Raises:
            PeerUnknownError: no active pairing of that name.
        """
        current = self.get(name)
        if current is None:
            raise PeerUnknownError(f"no station named {name!r} is paired")
        return self._replace_entry(current, _revoke(current, format_timestamp(now)))

    def encode(self, mac_key: bytes) -> bytes:
        """Return peers.json: the entries and their HMAC-SHA512 tag under ``mac_key``."""
        document = {
            "format": PEERS_FORMAT,
            "version": PEERS_VERSION,
            "peers": [
                {
                    "name": peer.name,
                    "fingerprint": str(peer.card.fingerprint),
                    "paired_at": peer.paired_at,
                    "revoked_at": peer.revoked_at,
                    "card": base64.b64encode(peer.card.encode()).decode("ascii"),
                }
                for peer in self.entries
            ],
            "mac": _mac(mac_key, self._rows()),
        }
        return (json.dumps(document, indent=2) + "\n").encode("utf-8")

    @classmethod
    def decode(cls, data: bytes, mac_key: bytes) -> PeerRegistry:
        """Parse peers.json and check its tag before trusting any card in it.

        Raises:
            PeersFileError: malformed, of an unknown format, the tag does not verify, or the
                active entries break the rules :meth:`pair` keeps (one name, or one public
                key, in two of them).
        """
        if len(data) > MAX_PEERS_FILE_LEN:
            raise PeersFileError(f"peers file is larger than {MAX_PEERS_FILE_LEN} bytes")
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise PeersFileError("peers file is not valid JSON") from None
        rows = _check_document(document)
        if not hmac.compare_digest(_mac(mac_key, rows).encode(), document["mac"].encode()):
            raise PeersFileError(
                "peers file failed its integrity check: it was modified outside hotline"
            )
        entries = []
        for (card_bytes, paired_at, revoked_at), raw in zip(rows, document["peers"], strict=True):
            try:
                card = Card.decode(card_bytes)
            except CardError as exc:
                raise PeersFileError(f"peers file holds a bad card: {exc}") from None
            if raw["name"] != card.name or raw["fingerprint"] != str(card.fingerprint):
                raise PeersFileError(f"peers file entry {raw['name']!r} disagrees with its card")
            entries.append(Peer(card, paired_at, revoked_at))
        registry = cls(tuple(entries))
        _check_active(registry.active())
        return registry

    def _rows(self) -> list[tuple[bytes, str, str | None]]:
        return [(peer.card.encode(), peer.paired_at, peer.revoked_at) for peer in self.entries]

    def _with(self, peer: Peer) -> PeerRegistry:
        return PeerRegistry((*self.entries, peer))

    def _replace_entry(self, old: Peer, new: Peer) -> PeerRegistry:
        return PeerRegistry(tuple(new if peer is old else peer for peer in self.entries))


def _revoke(peer: Peer, stamp: str) -> Peer:
    return dataclasses.replace(peer, revoked_at=stamp)


def _check_active(active: tuple[Peer, ...]) -> None:
    """Refuse active entries that :meth:`PeerRegistry.pair` would never have written.

    That is two active entries of one name, or one public key (of any of the three kinds) in
    two active entries. The tag proves only that a holder of the passphrase wrote the file,
    not that this code did; checking the rules again on reading keeps
    :meth:`PeerRegistry.find_by_static_key` unambiguous whatever wrote it.
    """
    names: set[str] = set()
    owners: dict[bytes, str] = {}
    for peer in active:
        if peer.name in names:
            raise PeersFileError(f"peers file has two active pairings of {peer.name!r}")
        names.add(peer.name)
        for key in _keys_of(peer.card):
            if key in owners:
                raise PeersFileError(
                    f"peers file pins one public key for both {owners[key]!r} and {peer.name!r}"
                )
            owners[key] = peer.name


def _keys_of(card: Card) -> set[bytes]:
    return {card.keys.x25519, card.keys.ed25519, card.keys.mldsa87}


def _shares_key(a: Card, b: Card) -> bool:
    return bool(_keys_of(a) & _keys_of(b))


def _mac(key: bytes, rows: list[tuple[bytes, str, str | None]]) -> str:
    """Return the hex HMAC-SHA512 over the canonical encoding of the entries.

    ``u8 version || u32 count || per entry: vec4 card || vec1 paired_at || vec1 revoked_at``
    (``revoked_at`` empty while active); JSON layout and the derived ``name`` and
    ``fingerprint`` fields are not covered, so any JSON writer produces the same tag.
    """
    message = encode_uint(PEERS_VERSION, 1) + encode_uint(len(rows), 4)
    for card, paired_at, revoked_at in rows:
        message += encode_vec(card, 4)
        message += encode_vec(paired_at.encode("ascii"), 1)
        message += encode_vec((revoked_at or "").encode("ascii"), 1)
    return hmac.new(key, message, hashlib.sha512).hexdigest()


def _check_document(document: Any) -> list[tuple[bytes, str, str | None]]:
    """Check the shape of a parsed peers.json and return (card, paired_at, revoked_at) rows."""
    if not isinstance(document, dict) or set(document) != {"format", "version", "peers", "mac"}:
        raise PeersFileError("peers file is malformed: unexpected top-level fields")
    if (
        document["format"] != PEERS_FORMAT
        or type(document["version"]) is not int
        or (document["version"] != PEERS_VERSION)
    ):
        raise PeersFileError(
            f"peers file has an unknown format: {document['format']!r}"
            f" version {document['version']!r}"
        )
    if not isinstance(document["mac"], str) or not isinstance(document["peers"], list):
        raise PeersFileError("peers file is malformed: bad 'mac' or 'peers'")
    rows = []
    for raw in document["peers"]:
        if not isinstance(raw, dict) or set(raw) != {
            "name",
            "fingerprint",
            "paired_at",
            "revoked_at",
            "card",
        }:
            raise PeersFileError("peers file is malformed: an entry has unexpected fields")
        if not isinstance(raw["card"], str):
            raise PeersFileError("peers file is malformed: a card is not a string")
        try:
            card = base64.b64decode(raw["card"], validate=True)
        except binascii.Error:
            raise PeersFileError("peers file is malformed: a card is not base64") from None
        revoked_at = None if raw["revoked_at"] is None else _check_timestamp(raw["revoked_at"])
        rows.append((card, _check_timestamp(raw["paired_at"]), revoked_at))
    return rows
