"""A message for the head of state is walked to them: FLASH and IMMEDIATE messages wait for an
operator's acknowledgement, and escalate once if none comes in time. Sans-IO: times are UTC ms.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

#: Messages waiting at once: far above any real backlog of FLASH/IMMEDIATE messages; beyond it
#: the oldest escalates at once rather than be forgotten (a flood is itself worth a person).
MAX_WAITING: Final = 10_000


@dataclass(frozen=True, slots=True)
class Awaiting:
    """A received message waiting for an operator's acknowledgement.

    Attributes:
        message_id: its id on this station.
        peer: who sent it.
        precedence: ``flash`` or ``immediate``.
        seq: its sequence number in the sender's direction.
        due_ms: when it escalates if nobody acknowledged it.
        line_id: the line it came on (a peer paired again with new keys is another line).
    """

    message_id: str
    peer: str
    precedence: str
    seq: int
    due_ms: int
    line_id: bytes


class Escalations:
    """The messages that escalate unless acknowledged in time, each at most once.

    Args:
        after_ms: how long an operator has to acknowledge a message.
    """

    def __init__(self, *, after_ms: int) -> None:
        if after_ms <= 0:
            raise ValueError("escalation waits a positive time")
        self._after_ms = after_ms
        self._waiting: dict[str, Awaiting] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._waiting

    @property
    def after_ms(self) -> int:
        """How long an operator has to acknowledge a message."""
        return self._after_ms

    def expect(
        self,
        message_id: str,
        *,
        peer: str,
        precedence: str,
        seq: int,
        received_at_ms: int,
        line_id: bytes,
    ) -> list[Awaiting]:
        """A message that must be acknowledged arrived at ``received_at_ms``; return those
        pushed out by the bound (escalate them now)."""
        if message_id in self._waiting:
            return []
        due = received_at_ms + self._after_ms
        self._waiting[message_id] = Awaiting(message_id, peer, precedence, seq, due, line_id)
        overflow: list[Awaiting] = []
        while len(self._waiting) > MAX_WAITING:
            oldest = min(self._waiting.values(), key=lambda waiting: waiting.due_ms)
            overflow.append(self._waiting.pop(oldest.message_id))
        return overflow

    def acknowledged(self, message_id: str) -> bool:
        """An operator acknowledged it: it will not escalate. Return whether it was waiting."""
        return self._waiting.pop(message_id, None) is not None

    def line_ids(self) -> frozenset[bytes]:
        """The lines messages wait on."""
        return frozenset(waiting.line_id for waiting in self._waiting.values())

    def forget(self, line_ids: Collection[bytes]) -> list[Awaiting]:
        """Those lines are gone (unpaired, or paired again with new keys): their messages can
        no longer be acknowledged, so they no longer escalate. Return those that waited."""
        gone = [waiting for waiting in self._waiting.values() if waiting.line_id in line_ids]
        for waiting in gone:
            del self._waiting[waiting.message_id]
        return gone

    def due(self, now_ms: int) -> list[Awaiting]:
        """Those whose time ran out at ``now_ms``, oldest first; each is returned once."""
        expired = sorted(
            (waiting for waiting in self._waiting.values() if waiting.due_ms <= now_ms),
            key=lambda waiting: waiting.due_ms,
        )
        for waiting in expired:
            del self._waiting[waiting.message_id]
        return expired
