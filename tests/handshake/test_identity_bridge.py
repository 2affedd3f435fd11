"""End to end from real identities: two stations made by ``hotline.identity`` shake hands.

The other handshake tests use hand-made keys and a stand-in line id. Here each station is a
``StationKeys`` and a signed ``Card``, the cards cross "out of band" as armoured text, the line
id is the identity layer's own ``line_id(card_a, card_b)``, and the four flights run between
credentials derived from those objects alone. It pins the seam between the two layers: the
handshake never imports the identity layer, so nothing else would notice if they drifted apart.

The two small functions that cross the seam live here, not in ``hotline.handshake``: the
daemon, which knows both layers, owns the production copy (``hotline.station._daemon``).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA87PublicKey

from hotline.handshake import (
    Initiator,
    LocalCredentials,
    PairedPeer,
    PeerKeys,
    PeerTable,
    Responder,
    Role,
    Stage,
)
from hotline.identity import Card, StationKeys, line_id

NOW = 1_750_000_000.0


def credentials_from(keys: StationKeys) -> LocalCredentials:
    """A station's private keys as the handshake takes them."""
    return LocalCredentials(static=keys.x25519, ed25519=keys.ed25519, mldsa=keys.mldsa87)


def peer_keys_from(card: Card) -> PeerKeys:
    """A pinned card's public keys as the handshake takes them."""
    return PeerKeys(
        static=card.keys.x25519,
        ed25519=Ed25519PublicKey.from_public_bytes(card.keys.ed25519),
        mldsa=MLDSA87PublicKey.from_public_bytes(card.keys.mldsa87),
    )


class Office:
    """One station: its keys, its card, and the cards it pinned."""

    def __init__(self, name: str, port: int) -> None:
        self.keys = StationKeys.generate()
        self.card = Card.create(self.keys, name, (f"127.0.0.1:{port}",))
        self.credentials = credentials_from(self.keys)

    def pin(self, other: Office) -> PairedPeer:
        """Pair with ``other`` from its card, received as armoured text."""
        card = Card.from_armour(other.card.armour())
        return PairedPeer.derive(self.credentials, peer_keys_from(card), line_id(self.card, card))


def test_two_stations_from_hotline_identity_complete_the_handshake() -> None:
    washington, moscow = Office("washington", 7001), Office("moscow", 7002)
    assert line_id(washington.card, moscow.card) == line_id(moscow.card, washington.card)
    to_moscow, to_washington = washington.pin(moscow), moscow.pin(washington)
    elsewhere = Office("elsewhere", 7003)
    table = PeerTable([to_washington, moscow.pin(elsewhere)])

    initiator = Initiator(washington.credentials, to_moscow)
    msg1 = initiator.start(NOW, 0)
    peer = table.identify(msg1)  # first contact: mac1 names the caller
    assert peer is to_washington
    responder = Responder(moscow.credentials, peer, last_accepted=0)
    msg2 = responder.receive_msg1(msg1, NOW + 0.05)
    proof_i = initiator.receive_msg2(msg2)
    proof_r, moscow_session = responder.receive_proof(proof_i)
    washington_session = initiator.receive_proof(proof_r)

    assert initiator.stage is Stage.DONE and responder.stage is Stage.DONE
    assert washington_session.handshake_hash == moscow_session.handshake_hash
    assert (washington_session.role, moscow_session.role) == (Role.INITIATOR, Role.RESPONDER)
    assert moscow_session.peer.keys.static == washington.card.keys.x25519
    sealed = washington_session.transport.send.encrypt_with_ad(b"", b"test message 0900")
    assert moscow_session.transport.receive.decrypt_with_ad(b"", sealed) == b"test message 0900"
    reply = moscow_session.transport.send.encrypt_with_ad(b"", b"received")
    assert washington_session.transport.receive.decrypt_with_ad(b"", reply) == b"received"


def test_a_station_the_responder_never_paired_is_not_identified() -> None:
    washington, moscow = Office("washington", 7001), Office("moscow", 7002)
    intruder = Office("intruder", 7666)
    table = PeerTable([moscow.pin(washington)])
    # The intruder holds Moscow's real card, so it can pin Moscow from its side, but not the
    # other way round: mac1 needs a key only the two paired stations can compute.
    msg1 = Initiator(intruder.credentials, intruder.pin(moscow)).start(NOW, 0)
    assert table.identify(msg1) is None
