"""mac1: how a responder knows which paired peer sent a msg1 without doing any DH.

KK needs the responder to know the initiator's static key *before* it reads msg1. With several
paired peers it must find out which one is calling, cheaply, and without giving an attacker a
way to make it work. As in WireGuard (§5.4.4 of the paper), msg1 ends in a MAC:

    msg1 on the wire = noise_msg1 || mac1
    mac1             = HMAC-SHA512(mac1_key(initiator), d)[:32]
    d                = SHA-512(b"hotline/1 msg1 digest" || noise_msg1)
    mac1_key(S)      = HKDF-SHA512(ikm  = X25519(static_local, static_peer),
                                   salt = line_id,
                                   info = b"hotline/1 mac1" || S.static_public,
                                   length = 32)

Why this key:

1. The static-static DH is computed once per peer when the table is built, never per message.
   Rejecting a msg1 then costs one SHA-512 over it and one HMAC over its 64-byte digest per
   paired peer, and nothing else: no DH, no state. Hashing first keeps the per-peer part small
   (the HMAC's keyed state is computed once per peer, and each try copies it), so a station
   with 64 peers still refuses over 10,000 forged msg1s a second (BENCHMARKS.md).
2. Only a holder of one of the two static private keys can compute the key, so nobody else can
   make a msg1 that gets past this point (WireGuard keys mac1 by the responder's *public* key,
   which anyone with the card has; we want unpaired initiators out before any DH).
3. The sender's key is in ``info``, so the two directions of a line use different keys and a
   station's own msg1 reflected back at it does not verify.
4. ``salt = line_id`` ties the key to this pair of cards.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.hashes import SHA512
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hotline.constants import (
    LABEL_MSG1_DIGEST,
    MAC1_KEY_INFO,
    MAC1_LEN,
    MSG1_LEN,
    NOISE_MSG1_LEN,
)
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


def _msg1_digest(noise_msg1: bytes) -> bytes:
    """Return ``SHA-512(LABEL_MSG1_DIGEST || noise_msg1)``, what mac1 authenticates."""
    return hashlib.sha512(LABEL_MSG1_DIGEST + noise_msg1).digest()


def mac1(key: bytes, noise_msg1: bytes) -> bytes:
    """Return ``HMAC-SHA512(key, SHA-512(LABEL_MSG1_DIGEST || noise_msg1))[:32]``."""
    return hmac.digest(key, _msg1_digest(noise_msg1), "sha512")[:MAC1_LEN]


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
    mistake. A lookup keeps nothing and has no side effect: an unpaired initiator leaves no
    trace in the responder.

    Each entry keeps its peer's mac1 HMAC already keyed (``hmac.new(mac1_receive)``, the two
    SHA-512 blocks of the padded key done once); a lookup copies that state per peer.
    """

    __slots__ = ("_entries",)

    def __init__(self, peers: Iterable[PairedPeer]) -> None:
        """Index ``peers`` (each derived with :meth:`PairedPeer.derive`).

        Raises:
            LocalProtocolError: two entries have the same static key.
        """
        entries = tuple((hmac.new(p.mac1_receive, digestmod=hashlib.sha512), p) for p in peers)
        if len({p.keys.static for _, p in entries}) != len(entries):
            raise LocalProtocolError("two paired peers share a static key")
        self._entries: tuple[tuple[hmac.HMAC, PairedPeer], ...] = entries

    def __repr__(self) -> str:
        return f"PeerTable({len(self._entries)} peers)"

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, message: bytes) -> PairedPeer | None:
        """Return the paired peer that sent ``message`` (msg1 with mac1), or ``None``.

        Costs one length check, one SHA-512 over the Noise msg1, and at most one HMAC-SHA512
        over its 64-byte digest per paired peer.

        Args:
            message: the first Noise message of a connection, as received.

        Returns:
            the matching peer, or ``None`` for anything else: wrong size, unknown or forged mac1.
        """
        if len(message) != MSG1_LEN:
            return None
        digest = _msg1_digest(message[:NOISE_MSG1_LEN])  # once, whatever the table size
        tag = message[NOISE_MSG1_LEN:]
        for keyed, peer in self._entries:
            mac = keyed.copy()
            mac.update(digest)
            if hmac.compare_digest(mac.digest()[:MAC1_LEN], tag):
                return peer
        return None
