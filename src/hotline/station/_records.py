"""Exports of a line's record: read and laid out (record-format.md §13) beside the store's
thread, on a connection of their own.

The daemon only reads and lays out; it does not verify. The operator's CLI verifies what it
receives with the offline verifier (``hotline.verify``), so ``hotline record`` shows exactly
what a third party checking the file would see.
"""

from __future__ import annotations

import asyncio

from hotline.api import RecordQuery, StoreUnavailableError
from hotline.identity import Card
from hotline.record import encode_export
from hotline.store import Chains, RecordWindow, StoreError, StoreThread


async def export_record(
    store: StoreThread, cards: tuple[Card, Card], line_id: bytes, query: RecordQuery
) -> bytes:
    """Return the export of ``line_id`` for ``query``.

    Args:
        store: the store's thread.
        cards: the two stations' cards, direction 0's first.
        line_id: the line.
        query: the window, and whether to redact bodies.

    Raises:
        StoreUnavailableError: the store cannot be read, or its record is damaged (the
            message says where): the operator gets no file that would not verify.
    """
    window = RecordWindow(query.start_ms, query.end_ms)
    encoded_cards = (cards[0].encode(), cards[1].encode())

    def export(chains: Chains) -> bytes:
        # Beside the store's thread (which goes on committing), the layout too: 100,000
        # envelopes take seconds to read and encode, which neither the event loop (every
        # line's heartbeats) nor the line's deliveries must wait for.
        items = chains.record(line_id, window)
        envelopes = items.envelopes
        if query.redact_bodies:
            envelopes = tuple(envelope.redacted() for envelope in envelopes)
        return encode_export(
            encoded_cards,
            items.export_range,
            envelopes,
            items.heads,
            receipts=items.receipts,
            nacks=items.nacks,
            checkpoints=items.checkpoints,
        )

    try:
        return await asyncio.wrap_future(store.read_aside(export))
    except StoreError as exc:
        raise StoreUnavailableError(f"the record cannot be exported: {exc}") from None
