"""A message for the head of state is walked to them: each incoming FLASH and IMMEDIATE message
calls a person (``on_message``), and one nobody acknowledged in time calls the next
(``on_escalation``) and raises the ``unacknowledged`` alarm (issue 8).

The timing is sans-IO (:class:`~hotline.watch.Escalations`). This keeps what that cannot: which
escalated messages still wait (their alarm stands until all of a peer's are acknowledged),
which lines' messages were taken up from the store, and what a pairing that changes means for
them. Messages are followed per *line*, not per name: a station paired again with new keys is a
new line, on which the old line's messages can no longer be acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Final

from hotline.logfmt import log_event
from hotline.record import Envelope, Precedence
from hotline.watch import AlarmBoard, AlarmKind, Awaiting, Escalations

from ._config import WatchConfig
from ._hooks import HookRunner

_log = logging.getLogger("hotline.watch")

#: Precedences that call a person (``on_message``) and escalate unless acknowledged.
CALLING: Final = frozenset({Precedence.FLASH, Precedence.IMMEDIATE})

#: ``awaiting_ack`` rows: (message id, line id, seq, precedence, stored at, UTC ms).
AwaitingRow = tuple[str, bytes, int, int, int]


class Escalator:
    """The people called for urgent messages, and the ``unacknowledged`` alarm.

    Args:
        config: ``[watch]`` (``escalate_after_s``, the hooks).
        hooks: runs ``on_message`` and ``on_escalation``.
        board: the station's alarm board.
        raise_alarm: raises (and announces) an alarm: ``(kind, peer, text, now_ms)``.
    """

    def __init__(
        self,
        *,
        config: WatchConfig,
        hooks: HookRunner,
        board: AlarmBoard,
        raise_alarm: Callable[[AlarmKind, str | None, str, int], None],
    ) -> None:
        self._config = config
        self._hooks = hooks
        self._board = board
        self._raise = raise_alarm
        self._escalations = Escalations(after_ms=round(config.escalate_after_s * 1000))
        #: Escalated messages not acknowledged yet, per peer: id -> line id (their alarm
        #: stands meanwhile).
        self._escalated: dict[str, dict[str, bytes]] = {}
        #: The lines whose unacknowledged messages were taken up from the store.
        self._followed: frozenset[bytes] = frozenset()

    def __len__(self) -> int:
        """How many messages wait for an acknowledgement within their time."""
        return len(self._escalations)

    def escalated(self, peer: str) -> Mapping[str, bytes]:
        """The peer's escalated messages still unacknowledged: id -> line id."""
        return self._escalated.get(peer, {})

    # --- What arrives, what operators do ------------------------------------------------------
    def arrived(self, message_id: str, peer: str, envelope: Envelope, at_ms: int) -> None:
        """An urgent message was stored at ``at_ms``: call a person; expect an acknowledgement."""
        header = envelope.header
        precedence = header.precedence.name.lower()
        self._expect(
            Awaiting(
                message_id,
                peer,
                precedence,
                header.seq,
                at_ms + self._escalations.after_ms,
                header.line_id,
            )
        )
        command = self._config.hook("on_message")
        if command is not None:
            self._hooks.fire(
                command,
                [message_id, peer, precedence, str(header.seq)],
                {"HOTLINE_EVENT": "message"},
            )

    def acknowledged(self, message_id: str, operator: str, now: int) -> None:
        """An operator here acknowledged a received message: it no longer escalates, and
        once all of a peer's escalated messages are, its alarm is over and acknowledged by
        whoever acknowledged the last (it needs no second acknowledgement)."""
        self._escalations.acknowledged(message_id)
        for peer, escalated in self._escalated.items():
            if escalated.pop(message_id, None) is not None and not escalated:
                self._over(peer, now, operator)

    def escalate_due(self, now: int) -> None:
        """Call the next person for each message not acknowledged in time."""
        self._escalate(self._escalations.due(now), now)

    # --- Pairings -----------------------------------------------------------------------------
    def follow(self, lines: frozenset[bytes], now: int) -> frozenset[bytes]:
        """The active lines are ``lines``: forget the messages of the lines gone (they can no
        longer be acknowledged), and return the lines whose messages are to be taken up from
        the store (:meth:`take_up`): new since the last call, or back."""
        # Held: taken up, or waiting since before they could be (a store error, a slow look).
        held = self._followed | self._escalations.line_ids()
        held |= {line for escalated in self._escalated.values() for line in escalated.values()}
        gone = held - lines
        if gone:
            self._escalations.forget(gone)
            for peer, escalated in list(self._escalated.items()):
                for message_id in [m for m, line in escalated.items() if line in gone]:
                    del escalated[message_id]
                if not escalated:
                    del self._escalated[peer]
                    self._over(peer, now)
            self._followed -= gone
        return lines - self._followed

    def take_up(
        self,
        rows: Sequence[AwaitingRow],
        names: Mapping[bytes, str],
        lines: Collection[bytes],
        now: int,
    ) -> None:
        """Expect the acknowledgement of the unacknowledged urgent messages the store holds
        for ``lines`` (``rows``, as :meth:`hotline.store.Messages.awaiting_ack` gives them),
        under each line's peer's current name (``names``: line id -> name)."""
        known = {message_id for ids in self._escalated.values() for message_id in ids}
        after = self._escalations.after_ms
        overdue: list[Awaiting] = []
        for message_id, line_id, seq, precedence, stored_at in rows:
            # (known: delivered since the start, and reported already)
            if line_id not in lines or message_id in known or message_id in self._escalations:
                continue
            name = Precedence(precedence).name.lower()
            waiting = Awaiting(message_id, names[line_id], name, seq, stored_at + after, line_id)
            if waiting.due_ms <= now:
                overdue.append(waiting)
            else:
                self._expect(waiting)
        self._followed |= frozenset(lines)
        self._still_unacknowledged(overdue, now)

    # --- Calling people -----------------------------------------------------------------------
    def _expect(self, waiting: Awaiting) -> None:
        at_ms = waiting.due_ms - self._escalations.after_ms
        pushed = self._escalations.expect(
            waiting.message_id,
            peer=waiting.peer,
            precedence=waiting.precedence,
            seq=waiting.seq,
            received_at_ms=at_ms,
            line_id=waiting.line_id,
        )
        if pushed:  # a flood past the bound escalates its oldest at once
            self._escalate(pushed, at_ms)

    def _escalate(self, due: Sequence[Awaiting], now: int) -> None:
        for waiting in due:
            self._escalated.setdefault(waiting.peer, {})[waiting.message_id] = waiting.line_id
            self._call_next_person(waiting)
            after = self._config.escalate_after_s
            self._raise(
                AlarmKind.UNACKNOWLEDGED,
                waiting.peer,
                f"{waiting.precedence.upper()} message #{waiting.seq} from {waiting.peer} not"
                f" acknowledged after {after:g} s (hotline ack {waiting.message_id})",
                now,
            )

    def _still_unacknowledged(self, overdue: Sequence[Awaiting], now: int) -> None:
        """The messages taken up whose time ran out before: each escalated then, or the
        station was down when it should have: which, nobody knows. So one person is called
        per peer (``on_escalation`` for its most urgent, oldest such message) rather than one
        per message, and one alarm per peer stands until they are all acknowledged."""
        by_peer: dict[str, list[Awaiting]] = {}
        for waiting in overdue:
            by_peer.setdefault(waiting.peer, []).append(waiting)
            self._escalated.setdefault(waiting.peer, {})[waiting.message_id] = waiting.line_id
        for peer, messages in by_peer.items():
            self._call_next_person(min(messages, key=lambda w: (w.precedence != "flash", w.due_ms)))
            seqs = ", ".join(f"#{waiting.seq}" for waiting in messages[:5])
            more = ", …" if len(messages) > 5 else ""
            self._raise(
                AlarmKind.UNACKNOWLEDGED,
                peer,
                f"{len(messages)} FLASH or IMMEDIATE message(s) from {peer} not acknowledged"
                f" in time, while this station did not watch them ({seqs}{more}): see"
                " hotline inbox",
                now,
            )

    def _call_next_person(self, waiting: Awaiting) -> None:
        """Run ``on_escalation`` for a message, if the station names one."""
        command = self._config.hook("on_escalation")
        if command is not None:
            self._hooks.fire(
                command,
                [waiting.message_id, waiting.peer, waiting.precedence, str(waiting.seq)],
                {"HOTLINE_EVENT": "escalation"},
            )

    def _over(self, peer: str, now: int, operator: str | None = None) -> None:
        """The peer's ``unacknowledged`` alarm is over (acknowledged by ``operator``, if one
        acknowledged the messages)."""
        cleared = self._board.clear(AlarmKind.UNACKNOWLEDGED, peer, now)
        if cleared is not None and operator is not None:
            try:
                self._board.ack(cleared.id, operator, now)
            except ValueError:  # a name the API let through but the board does not
                log_event(_log, logging.WARNING, "alarm left for an operator", id=cleared.id)
