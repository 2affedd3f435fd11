"""mac1: how a responder knows which paired peer sent a msg1 without doing any DH.

KK needs the responder to know the initiator's static key *before* it reads msg1. With several
paired peers it must find out which one is calling, cheaply, and without giving an attacker a
way to make it work. As in WireGuard (§5.4.4 of the paper), msg1 ends in a MAC:

    msg1 on the wire = noise_msg1 || mac1
    mac1             = HMAC-SHA512(mac1_key(initiator), noise_msg1)[:32]
    mac1_key(S)      = HKDF-SHA512(ikm  = X25519(static_local, static_peer),
                                   salt = line_id,
                                   info = b"hotline/1 mac1" || S.static_public,
                                   length = 32)

Why this key:

1. The static-static DH is computed once per peer when the table is built, never per message.
   Rejecting a msg1 then costs one HMAC per paired peer and nothing else: no DH, no state.
2. Only a holder of one of the two static private keys can compute the key, so nobody else can
   make a msg1 that gets past this point (WireGuard keys mac1 by the responder's *public* key,
   which anyone with the card has; we want unpaired initiators out before any DH).
3. The sender's key is in ``info``, so the two directions of a line use different keys and a
   station's own msg1 reflected back at it does not verify.
4. ``salt = line_id`` ties the key to this pair of cards.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.hashes import SHA512
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hotline.constants import MAC1_KEY_INFO, MAC1_LEN, MSG1_LEN, NOISE_MSG1_LEN
from hotline.noise import LocalProtocolError

from ._errors import UnknownPeerError
from ._keys import LocalCredentials, PeerKeys
from ._suite import require_line_id


def mac1_key(static_dh: bytes, line_id: bytes, sender_static: bytes) -> bytes:
    """Return the 32-byte mac1 key for msg1s sent by the holder of ``sender_static``.

    Args:
        static_dh: X25519 of the two stations' static keys (the same on both sides).
        line_id: the line's 64-byte id.
        sender_static: the initiator's raw static public key.
    """
    return HKDF(
        algorithm=SHA512(), length=MAC1_LEN, salt=line_id, info=MAC1_KEY_INFO + sender_static
    ).derive(static_dh)


def mac1(key: bytes, noise_msg1: bytes) -> bytes:
    """Return ``HMAC-SHA512(key, noise_msg1)[:32]``."""
    return hmac.digest(key, noise_msg1, "sha512")[:MAC1_LEN]


@dataclass(frozen=True, slots=True)
class PairedPeer:
    """One paired peer as the handshake needs it: its keys, the line, the two mac1 keys.

    Build it with :meth:`derive`, once per peer (when the cards are loaded), not per message.

    Attributes:
        keys: the peer's pinned public keys.
        line_id: the 64-byte id of the line to this peer.
        mac1_send: the key we use on msg1s we send to the peer.
        mac1_receive: the key the peer uses on msg1s it sends to us.
    """

    keys: PeerKeys
    line_id: bytes
    mac1_send: bytes = field(repr=False)
    mac1_receive: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"PairedPeer({self.keys!r})"

    @classmethod
    def derive(cls, local: LocalCredentials, keys: PeerKeys, line_id: bytes) -> PairedPeer:
        """Compute the static-static DH once and derive both directions' mac1 keys.

        Args:
            local: our credentials.
            keys: the peer's pinned keys.
            line_id: the line's 64-byte id.

        Raises:
            LocalProtocolError: ``line_id`` is not 64 bytes, the peer's static key is a
                low-order point (the DH output would be all zero), or equals ours.
        """
        require_line_id(line_id)
        ours = local.static_public
        if keys.static == ours:
            raise LocalProtocolError("a peer cannot have our own static key")
        try:
            static_dh = local.static.exchange(keys.static_key())
        except ValueError:
            raise LocalProtocolError("the peer's static key is not a usable X25519 key") from None
        return cls(
            keys=keys,
            line_id=line_id,
            mac1_send=mac1_key(static_dh, line_id, ours),
            mac1_receive=mac1_key(static_dh, line_id, keys.static),
        )

    def seal_msg1(self, noise_msg1: bytes) -> bytes:
        """Return ``noise_msg1 || mac1`` for sending to this peer."""
        return noise_msg1 + mac1(self.mac1_send, noise_msg1)

    def sent_msg1(self, message: bytes) -> bool:
        """Whether ``message`` is a msg1 of the right size carrying this peer's mac1."""
        if len(message) != MSG1_LEN:
            return False
        noise_msg1, tag = message[:NOISE_MSG1_LEN], message[NOISE_MSG1_LEN:]
        return hmac.compare_digest(mac1(self.mac1_receive, noise_msg1), tag)

    def open_msg1(self, message: bytes) -> bytes:
        """Check that this peer sent ``message`` and return the Noise msg1 inside it.

        Raises:
            UnknownPeerError: wrong size or wrong mac1.
        """
        if not self.sent_msg1(message):
            raise UnknownPeerError("msg1 does not carry the expected peer's mac1")
        return message[:NOISE_MSG1_LEN]


class PeerTable:
    """The responder's paired peers, searched by mac1.

    It holds public keys and mac1 keys only, no private key, so a lookup cannot do a DH even by
    mistake. A lookup allocates nothing and has no side effect: an unpaired initiator leaves no
    trace in the responder.
    """

    __slots__ = ("_peers",)

    def __init__(self, peers: Iterable[PairedPeer]) -> None:
        """Index ``peers`` (each derived with :meth:`PairedPeer.derive`).

        Raises:
            LocalProtocolError: two entries have the same static key.
        """
        self._peers = tuple(peers)
        if len({p.keys.static for p in self._peers}) != len(self._peers):
            raise LocalProtocolError("two paired peers share a static key")

    def __repr__(self) -> str:
        return f"PeerTable({len(self._peers)} peers)"

    def __len__(self) -> int:
        return len(self._peers)

    def identify(self, message: bytes) -> PairedPeer | None:
        """Return the paired peer that sent ``message`` (msg1 with mac1), or ``None``.

        Costs one length check and at most one HMAC-SHA512 per paired peer.

        Args:
            message: the first Noise message of a connection, as received.

        Returns:
            the matching peer, or ``None`` for anything else: wrong size, unknown or forged mac1.
        """
        if len(message) != MSG1_LEN:
            return None
        for peer in self._peers:
            if peer.sent_msg1(message):
                return peer
        return None
