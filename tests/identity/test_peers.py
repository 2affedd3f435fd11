"""The pin registry: pairing rules, revocation history, and peers.json's integrity tag."""

from __future__ import annotations

import json

import pytest

from hotline.constants import LABEL_CARD
from hotline.errors import ExitCode
from hotline.identity import (
    Card,
    PairOutcome,
    Peer,
    PeerConflictError,
    PeerRegistry,
    PeersFileError,
    PeerUnknownError,
    StationKeys,
)

from . import spec

MAC_KEY = b"k" * 32
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
STAMP = "2023-11-14T22:13:20Z"
_LOCAL = Card.create(StationKeys.generate(), "jerusalem", ("127.0.0.1:7401",))


@pytest.fixture
def local() -> Card:
    return Card.create(StationKeys.generate(), "jerusalem", ("127.0.0.1:7401",))


@pytest.fixture
def paired(card: Card, local: Card) -> PeerRegistry:
    return PeerRegistry().pair(card, local=local, now=T0).registry


def test_pair_pins_the_card(card: Card, local: Card) -> None:
    result = PeerRegistry().pair(card, local=local, now=T0)
    assert result.outcome is PairOutcome.PAIRED
    peer = result.registry.get("moscow")
    assert peer is not None and peer.card == card and peer.active
    assert peer.paired_at == "2023-11-14T22:13:20Z"
    assert result.registry.find_by_static_key(card.keys.x25519) == peer


def test_unpair_revokes_and_keeps_history(paired: PeerRegistry, card: Card) -> None:
    registry = paired.unpair("moscow", now=T0 + 60)
    assert registry.get("moscow") is None
    assert registry.find_by_static_key(card.keys.x25519) is None
    assert registry.active() == ()
    (entry,) = registry.entries
    assert entry.revoked_at == "2023-11-14T22:14:20Z" and not entry.active


def test_unpair_unknown_is_refused(paired: PeerRegistry) -> None:
    with pytest.raises(PeerUnknownError) as caught:
        paired.unpair("washington", now=T0)
    assert caught.value.exit_code == ExitCode.PEER_UNKNOWN
    revoked = paired.unpair("moscow", now=T0)
    with pytest.raises(PeerUnknownError):
        revoked.unpair("moscow", now=T0)


def test_unpair_then_pair_again(paired: PeerRegistry, card: Card, local: Card) -> None:
    revoked = paired.unpair("moscow", now=T0 + 1)
    result = revoked.pair(card, local=local, now=T0 + 2)
    assert result.outcome is PairOutcome.PAIRED
    assert [p.active for p in result.registry.entries] == [False, True]
    assert result.registry.find_by_static_key(card.keys.x25519) is not None


def test_a_name_paired_with_other_keys_is_refused(paired: PeerRegistry, local: Card) -> None:
    impostor = Card.create(StationKeys.generate(), "moscow", ("10.6.6.6:7401",))
    with pytest.raises(PeerConflictError, match="--replace") as caught:
        paired.pair(impostor, local=local, now=T0)
    assert caught.value.exit_code == ExitCode.PEER_CONFLICT


def test_replace_revokes_the_old_keys(paired: PeerRegistry, card: Card, local: Card) -> None:
    rekeyed = Card.create(StationKeys.generate(), "moscow", ("10.0.0.2:7401",))
    result = paired.pair(rekeyed, local=local, now=T0 + 5, replace=True)
    assert result.outcome is PairOutcome.REPLACED
    assert result.replaced is not None and result.replaced.card == card
    assert result.registry.get("moscow") is not None
    assert result.registry.get("moscow").card == rekeyed  # type: ignore[union-attr]
    assert result.registry.find_by_static_key(card.keys.x25519) is None
    assert result.registry.entries[0].revoked_at == "2023-11-14T22:13:25Z"


def test_the_same_keys_under_another_name_are_refused(
    paired: PeerRegistry, keys: StationKeys, local: Card
) -> None:
    alias = Card.create(keys, "moskva", ("10.0.0.2:7401",))
    with pytest.raises(PeerConflictError, match="already paired as 'moscow'"):
        paired.pair(alias, local=local, now=T0, replace=True)


def test_own_card_or_name_is_refused(local: Card) -> None:
    with pytest.raises(PeerConflictError):
        PeerRegistry().pair(local, local=local, now=T0)
    namesake = Card.create(StationKeys.generate(), "jerusalem", ())
    with pytest.raises(PeerConflictError):
        PeerRegistry().pair(namesake, local=local, now=T0)


def test_same_card_again(paired: PeerRegistry, keys: StationKeys, card: Card, local: Card) -> None:
    again = Card.create(keys, "moscow", card.addresses)  # fresh signatures, same content
    assert paired.pair(again, local=local, now=T0 + 9).outcome is PairOutcome.UNCHANGED
    moved = Card.create(keys, "moscow", ("10.9.9.9:7401",))
    result = paired.pair(moved, local=local, now=T0 + 9)
    assert result.outcome is PairOutcome.UPDATED
    peer = result.registry.get("moscow")
    assert peer is not None and peer.card.addresses == ("10.9.9.9:7401",)
    assert peer.paired_at == "2023-11-14T22:13:20Z"


# --- peers.json --------------------------------------------------------------------------------


@pytest.fixture
def history(paired: PeerRegistry, card: Card, local: Card) -> PeerRegistry:
    registry = paired.unpair("moscow", now=T0 + 1)
    registry = registry.pair(card, local=local, now=T0 + 2).registry
    other = Card.create(StationKeys.generate(), "washington", ("[2001:db8::7]:7401",))
    return registry.pair(other, local=local, now=T0 + 3).registry


def test_file_round_trip(history: PeerRegistry) -> None:
    assert PeerRegistry.decode(history.encode(MAC_KEY), MAC_KEY) == history


def test_file_mac_follows_the_specification(history: PeerRegistry) -> None:
    document = json.loads(history.encode(MAC_KEY))
    rows = [(p.card.encode(), p.paired_at, p.revoked_at) for p in history.entries]
    assert document["mac"] == spec.peers_mac(MAC_KEY, rows)
    assert [e["name"] for e in document["peers"]] == ["moscow", "moscow", "washington"]


def test_file_under_another_key_is_refused(history: PeerRegistry) -> None:
    with pytest.raises(PeersFileError, match="integrity") as caught:
        PeerRegistry.decode(history.encode(MAC_KEY), b"j" * 32)
    assert caught.value.exit_code == ExitCode.PEERS_FILE_INVALID


def _edit(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    document = json.loads(data)
    change(document)
    return json.dumps(document).encode()


def _slip_in(document: dict) -> None:  # type: ignore[type-arg]
    """What an intruder who can write the home would do: pin their own card."""
    intruder = Card.create(StationKeys.generate(), "intruder", ("10.6.6.6:1",))
    elsewhere = Card.create(StationKeys.generate(), "elsewhere", ())
    foreign = PeerRegistry().pair(intruder, local=elsewhere, now=T0).registry
    document["peers"].append(json.loads(foreign.encode(b"i" * 32))["peers"][0])


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["peers"][0].update(revoked_at=None),  # un-revoke
        lambda d: d["peers"][2].update(paired_at="2020-01-01T00:00:00Z"),
        lambda d: d["peers"].pop(),
        lambda d: d["peers"].reverse(),
        lambda d: d.update(mac="00" * 64),
        _slip_in,
    ],
    ids=["un-revoke", "backdate", "remove", "reorder", "zero mac", "slip in a card"],
)
def test_tampered_file_is_refused(history: PeerRegistry, change) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PeersFileError, match="integrity"):
        PeerRegistry.decode(_edit(history.encode(MAC_KEY), change), MAC_KEY)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(version=2),
        lambda d: d.update(version=True),
        lambda d: d.update(format="other"),
        lambda d: d.update(extra=1),
        lambda d: d.pop("mac"),
        lambda d: d.update(mac=7),
        lambda d: d["peers"][0].update(extra=1),
        lambda d: d["peers"][0].update(card="!!"),
        lambda d: d["peers"][0].update(card=5),
        lambda d: d["peers"][0].update(paired_at="2023-11-14 22:13:20"),
        lambda d: d["peers"][0].update(paired_at="2023-1-4T22:13:20Z"),
        lambda d: d["peers"][0].update(revoked_at=12),
    ],
)
def test_malformed_file_is_refused(history: PeerRegistry, change) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PeersFileError):
        PeerRegistry.decode(_edit(history.encode(MAC_KEY), change), MAC_KEY)


@pytest.mark.parametrize(("field", "value"), [("name", "london"), ("fingerprint", "0" * 40)])
def test_display_fields_must_agree_with_the_card(
    history: PeerRegistry, field: str, value: str
) -> None:
    """name and fingerprint are not under the tag, so they are checked against the card."""
    data = _edit(history.encode(MAC_KEY), lambda d: d["peers"][1].update({field: value}))
    with pytest.raises(PeersFileError, match="disagrees"):
        PeerRegistry.decode(data, MAC_KEY)


@pytest.mark.parametrize("data", [b"", b"{", b"\xff\xfe", b"[]", b"null", b"[" * 100_000])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(PeersFileError):
        PeerRegistry.decode(data, MAC_KEY)


def test_oversized_file_is_refused() -> None:
    with pytest.raises(PeersFileError, match="larger"):
        PeerRegistry.decode(b" " * (16 * 1024 * 1024 + 1), MAC_KEY)


# --- the pairing rules, checked again on reading -------------------------------------------------


def _validly_tagged(*peers: Peer) -> bytes:
    """A file whose tag is right but which pair() would never have written."""
    return PeerRegistry(peers).encode(MAC_KEY)


def test_file_with_one_key_in_two_active_entries_is_refused(keys: StationKeys) -> None:
    moscow = Card.create(keys, "moscow", ("10.0.0.2:7401",))
    alias = Card.create(keys, "moscow-alias", ("10.0.0.3:7401",))
    with pytest.raises(PeersFileError, match="one public key for both 'moscow' and 'moscow-alias'"):
        PeerRegistry.decode(_validly_tagged(Peer(moscow, STAMP), Peer(alias, STAMP)), MAC_KEY)


def test_file_with_a_key_reused_across_kinds_is_refused(
    keys: StationKeys, other_keys: StationKeys
) -> None:
    """pair() compares every key of one card with every key of the other; so does decode."""
    moscow = Card.create(keys, "moscow", ())
    public = other_keys.public
    # A validly self-signed card whose Noise key is moscow's Ed25519 key.
    body = spec.card_body(b"london", keys.public.ed25519, public.ed25519, public.mldsa87, [])
    london = Card.decode(spec.card(body, *other_keys.sign(LABEL_CARD, body)))
    with pytest.raises(PeersFileError, match="one public key"):
        PeerRegistry.decode(_validly_tagged(Peer(moscow, STAMP), Peer(london, STAMP)), MAC_KEY)
    with pytest.raises(PeerConflictError):
        PeerRegistry((Peer(moscow, STAMP),)).pair(london, local=_LOCAL, now=T0)


def test_file_with_two_active_entries_of_one_name_is_refused(
    card: Card, other_keys: StationKeys
) -> None:
    impostor = Card.create(other_keys, "moscow", ())
    with pytest.raises(PeersFileError, match="two active pairings of 'moscow'"):
        PeerRegistry.decode(_validly_tagged(Peer(card, STAMP), Peer(impostor, STAMP)), MAC_KEY)


def test_a_revoked_entry_may_share_keys_with_an_active_one(keys: StationKeys) -> None:
    moscow = Card.create(keys, "moscow", ())
    renamed = Card.create(keys, "moscow-2", ())
    registry = PeerRegistry((Peer(moscow, STAMP, revoked_at=STAMP), Peer(renamed, STAMP)))
    assert PeerRegistry.decode(registry.encode(MAC_KEY), MAC_KEY) == registry
