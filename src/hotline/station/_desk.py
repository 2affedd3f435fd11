"""The daemon's message desk: ``send``, ``send_batch``, ``outbox``, ``inbox``, ``ack`` and
``acks`` of the local API.

The API hands the daemon checked requests (:class:`hotline.api.SendRequest`); the desk finds
the line the peer name stands for, runs the store call in the store's thread (never on the
event loop: a commit waits for an fsync), and turns the result into the API's views, or the
store's errors into the API's (a full disk is ``503 store_unavailable``, never a 500).

"Queued" is answered only after the store's transaction committed: the future the desk
awaits resolves after ``COMMIT`` returned, with ``synchronous=FULL``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from hotline.api import (
    PRECEDENCES,
    AckRequest,
    AckView,
    IdempotencyConflictError,
    InboxView,
    MessageUnknownError,
    OutboxView,
    PeerUnknownError,
    QueuedView,
    RequestInvalidError,
    SendRequest,
    SendResult,
    StoreUnavailableError,
    format_time_ms,
)
from hotline.logfmt import log_event
from hotline.store import (
    AckReceived,
    DuplicateKeyError,
    InboxMessage,
    Messages,
    OutboxMessage,
    Queued,
    StoreError,
    StoreThread,
    ToQueue,
)
from hotline.store import (
    MessageUnknownError as StoreMessageUnknownError,
)

from ._crashpoints import crashpoint

_log = logging.getLogger("hotline.station")

T = TypeVar("T")


def _outbox_view(message: OutboxMessage) -> OutboxView:
    return OutboxView(
        id=message.id,
        peer=message.peer,
        seq=message.seq,
        precedence=PRECEDENCES[message.precedence],
        state=message.state.value,
        text=message.text,
        queued_at=format_time_ms(message.queued_at_ms),
        kind=message.kind.name.lower(),
    )


def _result(queued: Queued) -> SendResult:
    message = queued.message
    view = QueuedView(
        id=message.id,
        peer=message.peer,
        precedence=PRECEDENCES[message.precedence],
        state=message.state.value,
        queued_at=format_time_ms(message.queued_at_ms),
    )
    return SendResult(view, queued.created)


def _inbox_view(message: InboxMessage) -> InboxView:
    return InboxView(
        id=message.id,
        peer=message.peer,
        seq=message.seq,
        precedence=PRECEDENCES[message.precedence],
        text=message.text,
        sent_at=format_time_ms(message.sent_at_ms),
        received_at=format_time_ms(message.received_at_ms),
        kind=message.kind.name.lower(),
        acknowledged_by=message.acked_by,
        acknowledged_at=None
        if message.acked_at_ms is None
        else format_time_ms(message.acked_at_ms),
    )


def _ack_view(ack: AckReceived) -> AckView:
    return AckView(
        peer=ack.peer,
        message_id=ack.message_id,
        seq=ack.seq,
        operator=ack.operator,
        note=ack.note,
        acknowledged_at=format_time_ms(ack.acked_at_ms),
        received_at=format_time_ms(ack.received_at_ms),
    )


class MessageDesk:
    """The message half of :class:`hotline.api.Control`, over the store's thread."""

    def __init__(
        self,
        store: StoreThread,
        lines: Callable[[], Mapping[str, bytes]],
        queued: Callable[[bytes], None],
        acked: Callable[[str, str], None] = lambda message_id, operator: None,
    ) -> None:
        """Args:
        store: the store's thread.
        lines: returns the active pairings, peer name -> line id (revoked ones are absent).
        queued: told the line id of each message newly queued (its courier sends it).
        acked: told the id of each received message an operator acknowledged, and who.
        """
        self._store = store
        self._lines = lines
        self._queued = queued
        self._acked = acked

    async def send(self, request: SendRequest) -> SendResult:
        """Queue ``request`` durably (see :meth:`hotline.store.Messages.queue`).

        Raises:
            PeerUnknownError: no active pairing has that name.
            IdempotencyConflictError: the key already queued another message.
            StoreUnavailableError: the store failed: nothing was queued.
        """
        line_id = self._lines().get(request.peer)
        if line_id is None:
            raise PeerUnknownError(f"no paired station is named {request.peer!r} (see peers)")
        now_ms = int(time.time() * 1000)
        queued = await self._call(
            lambda messages: messages.queue(
                line_id=line_id,
                peer=request.peer,
                precedence=request.precedence,
                text=request.text,
                idempotency_key=request.idempotency_key,
                now_ms=now_ms,
            )
        )
        crashpoint("queue.after_commit")
        message = queued.message
        if queued.created:
            self._queued(line_id)
        log_event(
            _log,
            logging.INFO,
            "message queued" if queued.created else "message already queued",
            id=message.id,
            peer=message.peer,
            precedence=PRECEDENCES[message.precedence],
        )
        return _result(queued)

    async def send_batch(self, requests: Sequence[SendRequest]) -> tuple[SendResult, ...]:
        """Queue many messages in one commit (see :meth:`hotline.store.Messages.queue_many`).

        All or nothing: an unknown peer or a conflicting key anywhere refuses the whole batch
        before or inside the one transaction. Each line that got a new message is told once.

        Raises:
            PeerUnknownError: no active pairing has the name an item gives.
            IdempotencyConflictError: an item's key already queued another message.
            StoreUnavailableError: the store failed: nothing was queued.
        """
        lines = self._lines()
        items = []
        for request in requests:
            line_id = lines.get(request.peer)
            if line_id is None:
                raise PeerUnknownError(f"no paired station is named {request.peer!r} (see peers)")
            items.append(
                ToQueue(
                    line_id, request.peer, request.precedence, request.text, request.idempotency_key
                )
            )
        now_ms = int(time.time() * 1000)
        queued = await self._call(lambda messages: messages.queue_many(items, now_ms=now_ms))
        crashpoint("queue.after_commit")
        touched: dict[bytes, int] = {}
        for done in queued:
            if done.created:
                touched[done.message.line_id] = touched.get(done.message.line_id, 0) + 1
        for line_id in touched:
            self._queued(line_id)
        log_event(
            _log,
            logging.INFO,
            "messages queued",
            count=len(queued),
            new=sum(touched.values()),
            first=queued[0].message.id,
            last=queued[-1].message.id,
        )
        return tuple(_result(done) for done in queued)

    async def outbox(self, peer: str | None) -> tuple[OutboxView, ...]:
        """The messages not yet receipted, in sending order.

        Raises:
            PeerUnknownError: ``peer`` is neither paired nor named by a stored message.
            StoreUnavailableError: the store cannot be read.
        """
        messages = await self._call(lambda store: store.outbox(peer))
        self._check_filter(peer, bool(messages))
        return tuple(_outbox_view(message) for message in messages)

    async def inbox(self, peer: str | None, after: str | None = None) -> tuple[InboxView, ...]:
        """The messages received, in delivery order (after the message ``after``, if given).

        Raises:
            PeerUnknownError: ``peer`` is neither paired nor named by a stored message.
            MessageUnknownError: no received message has the id ``after``.
            StoreUnavailableError: the store cannot be read.
        """
        messages = await self._call(lambda store: store.inbox(peer, after=after))
        self._check_filter(peer, bool(messages) or after is not None)
        return tuple(_inbox_view(message) for message in messages)

    async def ack(self, message_id: str, request: AckRequest) -> SendResult:
        """Queue the acknowledgement of a received message (see :meth:`Messages.ack`).

        Raises:
            MessageUnknownError: no received message has that id.
            RequestInvalidError: the operator name or note cannot be carried, or the sender
                is no longer paired.
            IdempotencyConflictError: it was acknowledged already, otherwise.
            StoreUnavailableError: the store failed: nothing was queued.
        """
        now_ms = int(time.time() * 1000)
        active = frozenset(self._lines().values())

        def ack(messages: Messages) -> Queued:
            return messages.ack(
                message_id,
                operator=request.operator,
                note=request.note,
                now_ms=now_ms,
                active_lines=active,
            )

        try:
            queued = await self._call(ack)
        except ValueError as exc:
            raise RequestInvalidError(str(exc)) from None
        if queued.created:
            self._queued(queued.message.line_id)
        log_event(
            _log,
            logging.INFO,
            "message acknowledged" if queued.created else "message already acknowledged",
            id=message_id,
            operator=request.operator,
        )
        self._acked(message_id, request.operator)
        return _result(queued)

    async def acks(self, peer: str | None) -> tuple[AckView, ...]:
        """The peers' acknowledgements of our messages.

        Raises:
            PeerUnknownError: ``peer`` is neither paired nor named by a stored message.
            StoreUnavailableError: the store cannot be read.
        """
        found = await self._call(lambda store: store.acks_received(peer))
        self._check_filter(peer, bool(found))
        return tuple(_ack_view(ack) for ack in found)

    def _check_filter(self, peer: str | None, found: bool) -> None:
        """A filter on a name nobody has (a typo) is an error, not an empty list."""
        if peer is not None and not found and peer not in self._lines():
            raise PeerUnknownError(f"no paired station is named {peer!r} (see peers)")

    async def _call(self, call: Callable[[Messages], T]) -> T:
        try:
            return await asyncio.wrap_future(self._store.submit(call))
        except DuplicateKeyError as exc:
            raise IdempotencyConflictError(str(exc)) from None
        except StoreMessageUnknownError as exc:
            raise MessageUnknownError(str(exc)) from None
        except StoreError as exc:
            log_event(_log, logging.ERROR, "store failed", error=exc)
            raise StoreUnavailableError(str(exc)) from None
