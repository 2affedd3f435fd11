"""The msg1 timestamps of one paired peer, one mutable record shared by all its connections.

The replay defence (docs/protocol.md §2.4) is per *peer*: a msg1 is accepted only if its
timestamp is above the last one accepted from that peer, on any connection. A station may hold
several connections to one peer at once (crossing dials, a redial while the old stream drains,
a flood of replays racing a genuine dial), so each connection cannot keep its own copy: two
copies let one recorded msg1 be accepted once per connection, each acceptance costing an
ML-KEM encapsulation, and let two connections hand out the same ``last_sent + 1``.

So the caller (the line of that peer) makes one :class:`PeerTimestamps`, seeded from its store,
and passes it *by reference* in every :class:`~hotline.session.SessionConfig` for that peer.
Every check and update happens inside one synchronous call of a connection: on a
single-threaded event loop no other connection runs between the check and the update, which
makes each check-and-update atomic. The connection still reports every new value as an event
(``TimestampSent``, ``TimestampAccepted``) for the caller to persist.
"""

from __future__ import annotations

from hotline.constants import MSG1_MIN_INTERVAL

from ._errors import Msg1FloodError


class PeerTimestamps:
    """The last msg1 timestamps sent to and accepted from one peer, and when one was accepted.

    Attributes:
        last_sent: the last msg1 timestamp sent to the peer (0 if none).
        last_accepted: the last msg1 timestamp accepted from the peer (0 if none).
        accepted_at: ``now`` when that msg1 was accepted (``-inf`` before the first).
    """

    __slots__ = ("accepted_at", "last_accepted", "last_sent")

    def __init__(self, last_sent: int = 0, last_accepted: int = 0) -> None:
        """Seed the record from the store (the handshake checks both are u64s when it uses
        them: a bad stored value fails the first handshake with ``LocalProtocolError``)."""
        self.last_sent = last_sent
        self.last_accepted = last_accepted
        self.accepted_at = float("-inf")

    def __repr__(self) -> str:
        return f"PeerTimestamps(sent={self.last_sent}, accepted={self.last_accepted})"

    def sent(self, timestamp: int) -> None:
        """Record a msg1 as sent: the next one to the peer must carry a higher timestamp."""
        self.last_sent = max(self.last_sent, timestamp)

    def check_rate(self, now: float) -> None:
        """Refuse a msg1 opening a connection too soon after the last accepted one.

        A clock stepped back (``now`` before ``accepted_at``) refuses nothing: the limit must
        never lock a peer out for as long as the step.

        Raises:
            Msg1FloodError: ``now`` is less than ``MSG1_MIN_INTERVAL`` after ``accepted_at``.
        """
        if self.accepted_at <= now < self.accepted_at + MSG1_MIN_INTERVAL:
            raise Msg1FloodError(
                f"a msg1 {now - self.accepted_at:.3f} s after the last accepted from this peer"
            )

    def accepted(self, timestamp: int, now: float) -> None:
        """Record a msg1 as accepted at ``now``: later ones must carry a higher timestamp."""
        self.last_accepted = max(self.last_accepted, timestamp)
        self.accepted_at = now
