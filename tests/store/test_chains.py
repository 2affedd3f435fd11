"""Delivery at rest: sequencing, delivery with receipts, halts, recovery, resending."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hotline.constants import IN_FLIGHT_WINDOW, MAX_UNCOVERED_ENVELOPES
from hotline.record import (
    GENESIS,
    AckBody,
    ChainHead,
    ChainRef,
    ChainValidator,
    Direction,
    Envelope,
    Kind,
    MessageBody,
    Precedence,
    Receipt,
)
from hotline.signatures import HybridSignature
from hotline.store import (
    Chains,
    HaltedError,
    LineBook,
    Messages,
    OutboxState,
    RowCipher,
    Sequenced,
    Store,
    StoreCorruptError,
    StoreError,
    StoreThread,
    ToQueue,
    connect,
)

from .helpers import (
    KEY,
    LINE,
    OTHER_LINE,
    OWN,
    OWN_DIRECTION,
    PEER,
    PEER_DIRECTION,
    T0,
    count,
    deliver,
    nack,
    peer_batch,
    raw,
)


def queue(
    messages: Messages,
    text: str,
    precedence: Precedence = Precedence.ROUTINE,
    *,
    line: bytes = LINE,
    peer: str = "moscow",
    now_ms: int = T0,
) -> str:
    """Queue ``text`` (its own idempotency key); return its id."""
    return messages.queue(
        line_id=line,
        peer=peer,
        precedence=precedence,
        text=text,
        idempotency_key=text[:64],
        now_ms=now_ms,
    ).message.id


def sequence(
    chains: Chains, limit: int = MAX_UNCOVERED_ENVELOPES, now_ms: int = T0 + 10
) -> Sequenced | None:
    return chains.sequence(LINE, OWN_DIRECTION, limit=limit, signer=OWN, now_ms=now_ms)


def texts(envelopes: tuple[Envelope, ...] | list[Envelope]) -> list[str]:
    bodies = [envelope.body for envelope in envelopes]
    return [body.text for body in bodies if isinstance(body, MessageBody)]


def receipt_for(envelope: Envelope) -> Receipt:
    """The peer's receipt for our envelopes up to ``envelope``."""
    return Receipt.create(
        PEER,
        line_id=LINE,
        direction=OWN_DIRECTION,
        received=envelope.header.ref,
        receipted_at_ms=T0 + 50,
        own=GENESIS,
    )


def rows(path: Path) -> dict[str, int]:
    return {t: count(path, t) for t in ("envelopes", "heads", "receipts", "nacks", "halts")}


# --- Sequencing -------------------------------------------------------------------------------
def test_flash_goes_before_earlier_routine(messages: Messages, chains: Chains) -> None:
    r1, r2 = queue(messages, "routine 1"), queue(messages, "routine 2")
    flash = queue(messages, "flash", Precedence.FLASH)
    priority = queue(messages, "priority", Precedence.PRIORITY)
    batch = sequence(chains)
    assert batch is not None
    assert texts(batch.envelopes) == ["flash", "priority", "routine 1", "routine 2"]
    assert batch.message_ids == (flash, priority, r1, r2)
    assert [e.seq for e in batch.envelopes] == [1, 2, 3, 4]
    assert [e.header.precedence for e in batch.envelopes] == [3, 1, 0, 0]
    assert {(e.header.queued_at_ms, e.header.sequenced_at_ms) for e in batch.envelopes} == {
        (T0, T0 + 10)
    }
    outbox = messages.outbox()
    assert [(m.id, m.state, m.seq) for m in outbox] == [
        (flash, OutboxState.SEQUENCED, 1),
        (priority, OutboxState.SEQUENCED, 2),
        (r1, OutboxState.SEQUENCED, 3),
        (r2, OutboxState.SEQUENCED, 4),
    ]
    assert sequence(chains) is None  # nothing queued any more


def test_batches_are_limited_and_each_has_one_head_a_validator_accepts(
    messages: Messages, chains: Chains, db_path: Path
) -> None:
    for n in range(5):
        queue(messages, f"m{n}")
    first, second = sequence(chains, limit=2), sequence(chains, limit=2, now_ms=T0 + 20)
    assert first is not None and second is not None
    assert texts(first.envelopes) == ["m0", "m1"] and texts(second.envelopes) == ["m2", "m3"]
    assert (first.head.seq, second.head.seq) == (2, 4)
    assert second.envelopes[0].header.prev_hash == first.envelopes[-1].hash
    assert second.head.signed_at_ms == T0 + 20
    assert count(db_path, "heads") == 2
    validator = ChainValidator(LINE, OWN_DIRECTION, OWN.public())
    for batch in (first, second):
        for envelope in batch.envelopes:
            assert validator.receive_envelope(envelope) == ()  # waits for its head
        assert validator.receive_head(batch.head) == batch.envelopes
    assert chains.book(LINE, OWN_DIRECTION).queued == 1
    with pytest.raises(ValueError, match="1 to 1024"):
        sequence(chains, limit=IN_FLIGHT_WINDOW + 1)


def test_a_large_batch_is_one_commit_with_a_head_every_256(
    messages: Messages, chains: Chains, db_path: Path
) -> None:
    for i in range(600):
        queue(messages, f"bulk {i}")
    batch = sequence(chains, limit=600)
    assert batch is not None
    assert [head.seq for _, head in batch.groups] == [256, 512, 600]
    assert [len(group) for group, _ in batch.groups] == [256, 256, 88]
    assert count(db_path, "heads") == 3
    validator = ChainValidator(LINE, OWN_DIRECTION, OWN.public())
    for group, head in batch.groups:
        for envelope in group:
            assert validator.receive_envelope(envelope) == ()
        assert validator.receive_head(head) == group  # never more than 256 wait uncovered
    assert texts(batch.envelopes) == [f"bulk {i}" for i in range(600)]


def test_the_cross_link_is_the_peer_tip_stored_now(messages: Messages, chains: Chains) -> None:
    queue(messages, "before")
    before = sequence(chains)
    assert before is not None and before.envelopes[0].header.cross == GENESIS
    deliver(chains, ["from moscow 1", "from moscow 2"])
    peer_tip = chains.book(LINE, OWN_DIRECTION).peer_tip
    assert peer_tip.seq == 2
    queue(messages, "after")
    after = sequence(chains)
    assert after is not None and after.envelopes[0].header.cross == peer_tip
    assert chains.book(LINE, OWN_DIRECTION).own_cross == peer_tip


def test_nothing_is_sequenced_while_halted(messages: Messages, chains: Chains) -> None:
    assert sequence(chains) is None  # empty
    queue(messages, "waits")
    refusal = nack(OWN_DIRECTION)
    chains.halt(LINE, OWN_DIRECTION, nack=refusal, issued=False, now_ms=T0)
    assert sequence(chains) is None
    assert [m.state for m in messages.outbox()] == [OutboxState.QUEUED]
    book = chains.book(LINE, OWN_DIRECTION)
    assert book.halted_out is not None and book.halted_out.encode() == refusal.encode()
    assert book.halted_in is None and book.queued == 1
    assert chains.resume(LINE, OWN_DIRECTION) == 1
    batch = sequence(chains)
    assert batch is not None and texts(batch.envelopes) == ["waits"]


def test_a_failure_inside_the_commit_leaves_nothing(
    messages: Messages, chains: Chains, db_path: Path
) -> None:
    queue(messages, "first")

    class Broken:
        def sign(self, label: bytes, message: bytes) -> HybridSignature:
            raise RuntimeError("the signing token was pulled out")

    before = rows(db_path)
    with pytest.raises(RuntimeError, match="token"):
        chains.sequence(LINE, OWN_DIRECTION, limit=1, signer=Broken(), now_ms=T0)
    envelopes, head = peer_batch(chains, ["from moscow"])
    with pytest.raises(RuntimeError, match="token"):
        chains.deliver(
            LINE,
            PEER_DIRECTION,
            peer="moscow",
            envelopes=envelopes,
            heads=[head],
            signer=Broken(),
            now_ms=T0,
        )
    assert rows(db_path) == before == dict.fromkeys(before, 0)
    assert [(m.state, m.seq) for m in messages.outbox()] == [(OutboxState.QUEUED, None)]
    batch = sequence(chains)  # and the next commit starts cleanly
    assert batch is not None and batch.envelopes[0].seq == 1


# --- Delivery and receipts --------------------------------------------------------------------
def test_deliver_stores_and_returns_a_receipt_that_verifies(
    messages: Messages, chains: Chains, db_path: Path
) -> None:
    queue(messages, "ours")
    ours = sequence(chains)
    assert ours is not None
    envelopes, head = peer_batch(chains, ["один", "שתיים"])
    receipt = chains.deliver(
        LINE,
        PEER_DIRECTION,
        peer="moscow",
        envelopes=envelopes,
        heads=[head],
        signer=OWN,
        now_ms=T0 + 300,
    )
    assert receipt.verify(OWN.public()) and not receipt.verify(PEER.public())
    assert (receipt.line_id, receipt.direction) == (LINE, PEER_DIRECTION)
    assert receipt.ref == envelopes[-1].header.ref
    assert receipt.own == ours.head.ref
    assert receipt.receipted_at_ms == T0 + 300
    assert rows(db_path) == {"envelopes": 3, "heads": 2, "receipts": 1, "nacks": 0, "halts": 0}
    book = chains.book(LINE, OWN_DIRECTION)
    assert book.peer_tip == envelopes[-1].header.ref
    assert book.peer_cross == envelopes[-1].header.cross
    assert book.last_receipt is not None and book.last_receipt.encode() == receipt.encode()
    assert book.receipted == GENESIS  # no receipt for our own direction yet
    assert [m.text for m in messages.inbox()] == ["один", "שתיים"]  # ours are not in it


def test_the_stored_receipt_is_read_back_byte_for_byte(db_path: Path) -> None:
    db = connect(db_path)
    receipt = deliver(Chains(db, db_path, RowCipher(KEY)), ["hello"])
    db.close()
    db = connect(db_path)  # after a restart
    try:
        book = Chains(db, db_path, RowCipher(KEY)).book(LINE, OWN_DIRECTION)
    finally:
        db.close()
    assert book.last_receipt is not None
    assert book.last_receipt.encode() == receipt.encode()  # never signed again
    assert book.last_receipt.signature == receipt.signature


def test_deliver_refuses_a_gap_a_duplicate_a_broken_link_and_a_halted_direction(
    chains: Chains, db_path: Path
) -> None:
    (e1, e2, e3), head = peer_batch(chains, ["1", "2", "3"])
    heads = {
        e.seq: ChainHead.create(
            PEER, line_id=LINE, direction=PEER_DIRECTION, head=e.header.ref, signed_at_ms=T0
        )
        for e in (e1, e2, e3)
    }
    assert heads[3].ref == head.ref

    def attempt(envelopes: list[Envelope], covering: list[ChainHead]) -> Receipt:
        return chains.deliver(
            LINE,
            PEER_DIRECTION,
            peer="moscow",
            envelopes=envelopes,
            heads=covering,
            signer=OWN,
            now_ms=T0,
        )

    with pytest.raises(StoreError, match="does not follow #0"):
        attempt([e2], [heads[2]])  # a gap
    attempt([e1], [heads[1]])
    stored = rows(db_path)
    with pytest.raises(StoreError, match="does not follow #1"):
        attempt([e1], [heads[1]])  # a duplicate
    with pytest.raises(StoreError, match="does not follow #2"):
        attempt([e2, e2], [heads[2]])  # not consecutive
    with pytest.raises(StoreError, match="no chain head covers envelope 3"):
        attempt([e2, e3], [heads[2]])
    with pytest.raises(StoreError, match="names no envelope of the batch"):
        attempt([e2], [heads[2], heads[3]])
    with pytest.raises(StoreError, match="not a whole envelope"):
        attempt([e2.redacted()], [heads[2]])
    chains.halt(LINE, PEER_DIRECTION, nack=nack(PEER_DIRECTION), issued=True, now_ms=T0)
    stored_halted = rows(db_path)
    with pytest.raises(HaltedError, match="halted until an operator resumes"):
        attempt([e2], [heads[2]])
    assert rows(db_path) == stored_halted == stored | {"nacks": 1, "halts": 1}
    assert chains.book(LINE, OWN_DIRECTION).peer_tip == e1.header.ref
    assert chains.resume(LINE) == 1
    attempt([e2, e3], [heads[2], heads[3]])  # two commits' worth, one receipt
    assert chains.book(LINE, OWN_DIRECTION).peer_tip == e3.header.ref


def test_receipts_move_the_outbox_forward_and_never_back(
    messages: Messages, chains: Chains
) -> None:
    ids = [queue(messages, f"m{n}") for n in range(3)]
    batch = sequence(chains)
    assert batch is not None
    e1, e2, e3 = batch.envelopes
    assert chains.accept_receipt(LINE, receipt_for(e2), now_ms=T0) == (ids[0], ids[1])
    assert [(m.id, m.state) for m in messages.outbox()] == [(ids[2], OutboxState.SEQUENCED)]
    assert chains.book(LINE, OWN_DIRECTION).receipted == e2.header.ref
    assert chains.accept_receipt(LINE, receipt_for(e2), now_ms=T0) == ()  # again
    assert chains.accept_receipt(LINE, receipt_for(e1), now_ms=T0) == ()  # older
    assert chains.book(LINE, OWN_DIRECTION).receipted == e2.header.ref
    forged = Receipt.create(
        PEER,
        line_id=LINE,
        direction=OWN_DIRECTION,
        received=ChainRef(3, bytes(range(64))),
        receipted_at_ms=T0,
        own=GENESIS,
    )
    with pytest.raises(StoreError, match="does not hold"):
        chains.accept_receipt(LINE, forged, now_ms=T0)
    assert chains.accept_receipt(LINE, receipt_for(e3), now_ms=T0) == (ids[2],)
    assert messages.outbox() == []
    with pytest.raises(ValueError, match="another line"):
        chains.accept_receipt(OTHER_LINE, receipt_for(e3), now_ms=T0)


def test_each_line_s_receipt_covers_its_own_messages_and_in_flight_is_read_by_index(
    messages: Messages, chains: Chains, db: sqlite3.Connection
) -> None:
    """A message's state is read off the queue, its envelope and its line's latest receipt;
    what is in flight is searched line by line, never by a scan of every envelope sent."""
    ours = [queue(messages, f"a{n}") for n in range(2)]
    other = queue(messages, "b0", line=OTHER_LINE, peer="paris", now_ms=T0 + 1)
    batch = sequence(chains)
    assert batch is not None
    # On the other line this station is the SECOND: each line has its own direction.
    on_other = chains.sequence(OTHER_LINE, Direction.SECOND, limit=8, signer=OWN, now_ms=T0 + 10)
    assert on_other is not None
    waiting = queue(messages, "a2", now_ms=T0 + 2)
    assert chains.accept_receipt(LINE, receipt_for(batch.envelopes[0]), now_ms=T0) == (ours[0],)
    assert [messages.receipted(i) for i in (*ours, other, waiting)] == [True, False, False, False]
    assert [(m.id, m.state, m.seq) for m in messages.outbox()] == [
        (other, OutboxState.SEQUENCED, 1),  # by seq, then by position
        (ours[1], OutboxState.SEQUENCED, 2),
        (waiting, OutboxState.QUEUED, None),
    ]
    assert [m.id for m in messages.outbox("paris")] == [other]
    executed: list[str] = []
    db.set_trace_callback(executed.append)
    try:
        assert messages.outbox_summary() == {"moscow": (2, T0), "paris": (1, T0 + 1)}
    finally:
        db.set_trace_callback(None)
    reads = [sql for sql in executed if sql.startswith("SELECT")]
    assert reads
    for sql in reads:
        plan = " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "SCAN e" not in plan and "SCAN o" not in plan, plan
        if "FROM queue" in sql:  # the backlog may be huge: counted without an outbox lookup
            assert "SEARCH o" not in plan, plan
    other_receipt = Receipt.create(
        PEER,
        line_id=OTHER_LINE,
        direction=Direction.SECOND,
        received=on_other.head.ref,
        receipted_at_ms=T0 + 50,
        own=GENESIS,
    )
    assert chains.accept_receipt(OTHER_LINE, other_receipt, now_ms=T0) == (other,)
    assert messages.receipted(other) and not messages.receipted(ours[1])
    assert messages.outbox_summary() == {"moscow": (2, T0)}


# --- Resending and recovery -------------------------------------------------------------------
def test_segments_end_at_heads_and_resend_a_chain_a_validator_accepts(
    messages: Messages, chains: Chains
) -> None:
    for size in (2, 3, 1):
        for n in range(size):
            queue(messages, f"batch of {size}, {n}")
        assert sequence(chains, limit=size) is not None

    def shape(after: int, limit: int) -> list[tuple[list[int], int]]:
        groups = chains.segment(LINE, OWN_DIRECTION, after_seq=after, limit=limit)
        return [([e.seq for e in group], head.seq) for group, head in groups]

    assert shape(0, 1) == [([1, 2], 2)]
    assert shape(0, 2) == [([1, 2], 2)]
    assert shape(0, 3) == [([1, 2], 2), ([3, 4, 5], 5)]
    assert shape(3, 256) == [([4, 5], 5), ([6], 6)]
    assert shape(6, 256) == []
    assert chains.segment(LINE, PEER_DIRECTION, after_seq=0, limit=256) == []
    validator = ChainValidator(LINE, OWN_DIRECTION, OWN.public())
    delivered: list[Envelope] = []
    for group, head in chains.segment(LINE, OWN_DIRECTION, after_seq=0, limit=256):
        for envelope in group:
            validator.receive_envelope(envelope)
        delivered.extend(validator.receive_head(head))
    assert [e.seq for e in delivered] == [1, 2, 3, 4, 5, 6]
    assert texts(delivered)[-1] == "batch of 1, 0"


def test_segment_gives_the_peer_its_own_envelopes_back(chains: Chains) -> None:
    deliver(chains, ["a", "b"])
    envelopes, head = peer_batch(chains, ["c"])
    chains.deliver(
        LINE,
        PEER_DIRECTION,
        peer="moscow",
        envelopes=envelopes,
        heads=[head],
        signer=OWN,
        now_ms=T0,
    )
    groups = chains.segment(LINE, PEER_DIRECTION, after_seq=1, limit=256)
    assert [([e.seq for e in group], h.seq) for group, h in groups] == [([2], 2), ([3], 3)]
    assert groups[-1] == ((envelopes[0],), head)
    assert groups[-1][1].encode() == head.encode()


def test_swapped_envelope_bodies_fail_to_open(chains: Chains, db_path: Path) -> None:
    deliver(chains, ["one", "two"])
    db = raw(db_path)
    (n1, b1), (n2, b2) = db.execute("SELECT nonce, body FROM envelopes ORDER BY seq").fetchall()
    db.execute("UPDATE envelopes SET nonce = ?, body = ? WHERE seq = 1", (n2, b2))
    db.execute("UPDATE envelopes SET nonce = ?, body = ? WHERE seq = 2", (n1, b1))
    db.close()
    with pytest.raises(StoreCorruptError, match="envelope SECOND #1 fails its integrity check"):
        chains.segment(LINE, PEER_DIRECTION, after_seq=0, limit=256)


def test_a_header_moved_to_another_row_is_noticed(chains: Chains, db_path: Path) -> None:
    deliver(chains, ["one", "two"])
    db = raw(db_path)
    db.execute("UPDATE envelopes SET header = (SELECT header FROM envelopes WHERE seq = 1)")
    db.close()
    with pytest.raises(StoreCorruptError):
        chains.segment(LINE, PEER_DIRECTION, after_seq=0, limit=256)
    with pytest.raises(StoreCorruptError, match="another header"):
        chains.book(LINE, OWN_DIRECTION)


def copy(path: Path, to: Path) -> None:
    """An older copy of the store, as a restore from backup brings back."""
    source, target = raw(path), raw(to)
    source.backup(target)
    source.close()
    target.close()


def test_recover_reconciles_the_outbox_so_nothing_is_sent_twice(
    messages: Messages, chains: Chains, db_path: Path, tmp_path: Path
) -> None:
    a, b, c = (queue(messages, text) for text in ("a", "b", "c"))
    restored_path = tmp_path / "restored.db"
    copy(db_path, restored_path)  # taken while a, b, c were queued
    queue(messages, "d", Precedence.FLASH)
    sent = sequence(chains, limit=3)  # d, a, b leave before the disk dies
    assert sent is not None and texts(sent.envelopes) == ["d", "a", "b"]
    db = connect(restored_path)
    try:
        restored = Chains(db, restored_path, RowCipher(KEY))
        restored_messages = Messages(db, restored_path, RowCipher(KEY))
        assert restored.book(LINE, OWN_DIRECTION).own_tip == GENESIS
        with pytest.raises(StoreError, match="does not follow #0"):
            restored.recover(
                LINE,
                OWN_DIRECTION,
                envelopes=sent.envelopes[1:],
                heads=[sent.head],
                now_ms=T0 + 99,
            )
        matched = restored.recover(
            LINE, OWN_DIRECTION, envelopes=sent.envelopes, heads=[sent.head], now_ms=T0 + 99
        )
        assert matched == (a, b)
        assert [(m.id, m.state, m.seq) for m in restored_messages.outbox()] == [
            (a, OutboxState.SEQUENCED, 2),
            (b, OutboxState.SEQUENCED, 3),
            (c, OutboxState.QUEUED, None),
        ]
        book = restored.book(LINE, OWN_DIRECTION)
        assert book.own_tip == sent.head.ref and book.queued == 1
        assert restored.hash_at(LINE, OWN_DIRECTION, 1) == sent.envelopes[0].hash
        again = restored.sequence(LINE, OWN_DIRECTION, limit=256, signer=OWN, now_ms=T0 + 200)
        assert again is not None
        assert texts(again.envelopes) == ["c"] and again.message_ids == (c,)
        assert again.envelopes[0].seq == 4
        assert again.envelopes[0].header.prev_hash == sent.envelopes[-1].hash
        ids = [r[0] for r in db.execute("SELECT message_id FROM envelopes ORDER BY seq")]
        assert ids[1:] == [a, b, c] and ids[0] not in {a, b, c}  # d: no outbox row here
        assert restored_messages.inbox() == []
    finally:
        db.close()


def test_recover_matches_test_messages_and_acknowledgements_too(
    messages: Messages, chains: Chains, db_path: Path, tmp_path: Path
) -> None:
    """An ACK (its body and salt made when queued) or a TEST sent before the restore is
    matched as a message is: none of them is sequenced again, so the peer gets each once."""
    received = deliver(chains, ["c"])
    ack = AckBody.create(ChainRef(received.seq, received.envelope_hash), "Col. Ivanov", "seen")
    items = [
        ToQueue(LINE, "moscow", Precedence.ROUTINE, "test 1", "t 1", kind=Kind.TEST),
        ToQueue(LINE, "moscow", Precedence.FLASH, "ACK", "ack 1", kind=Kind.ACK, ack=ack),
        ToQueue(LINE, "moscow", Precedence.ROUTINE, "m", "m"),
    ]
    test, acked, message = (q.message.id for q in messages.queue_many(items, now_ms=T0))
    restored_path = tmp_path / "restored.db"
    copy(db_path, restored_path)  # all three queued
    sent = sequence(chains)
    assert sent is not None and sent.message_ids == (acked, test, message)
    db = connect(restored_path)
    try:
        restored = Chains(db, restored_path, RowCipher(KEY))
        matched = restored.recover(
            LINE, OWN_DIRECTION, envelopes=sent.envelopes, heads=[sent.head], now_ms=T0 + 99
        )
        assert matched == (acked, test, message)
        shown = [
            (m.id, m.state, m.seq) for m in Messages(db, restored_path, RowCipher(KEY)).outbox()
        ]
        assert shown == [
            (acked, OutboxState.SEQUENCED, 1),
            (test, OutboxState.SEQUENCED, 2),
            (message, OutboxState.SEQUENCED, 3),
        ]
        assert restored.book(LINE, OWN_DIRECTION).queued == 0
        assert restored.sequence(LINE, OWN_DIRECTION, limit=8, signer=OWN, now_ms=T0 + 200) is None
    finally:
        db.close()


def test_the_backlog_is_counted_per_peer_name_also_within_one_line(messages: Messages) -> None:
    """A pairing renamed keeps its line: the rows queued under each name count under it."""
    for line, peer, text, now_ms in [
        (LINE, "moscow", "a", T0),
        (LINE, "moscow", "b", T0 + 1),
        (LINE, "moskva", "c", T0 + 5),
        (OTHER_LINE, "paris", "d", T0 + 7),
    ]:
        queue(messages, text, line=line, peer=peer, now_ms=now_ms)
    assert messages.outbox_summary() == {
        "moscow": (2, T0),
        "moskva": (1, T0 + 5),
        "paris": (1, T0 + 7),
    }


def test_a_row_neither_queued_nor_sequenced_is_reported_not_shown_as_queued(
    messages: Messages, db: sqlite3.Connection
) -> None:
    queued = queue(messages, "lost")
    db.execute("DELETE FROM queue")  # what only damage or tampering does
    with pytest.raises(StoreCorruptError, match="neither queued nor sequenced"):
        queue(messages, "lost")  # a retry of its key
    assert messages.receipted(queued) is False
    assert messages.outbox() == [] and messages.outbox_summary() == {}


# --- Halts, hashes, the thread ----------------------------------------------------------------
def test_halts_keep_the_first_nack_and_every_nack_stays_on_record(
    chains: Chains, db_path: Path
) -> None:
    first, second = nack(PEER_DIRECTION, 3), nack(PEER_DIRECTION, 4)
    chains.halt(LINE, PEER_DIRECTION, nack=first, issued=True, now_ms=T0)
    chains.halt(LINE, PEER_DIRECTION, nack=second, issued=False, now_ms=T0 + 1)
    chains.halt(LINE, OWN_DIRECTION, nack=nack(OWN_DIRECTION), issued=False, now_ms=T0 + 2)
    book = chains.book(LINE, OWN_DIRECTION)
    assert book.halted_in is not None and book.halted_in.encode() == first.encode()
    assert book.halted_out is not None and book.halted_out.seq == 3
    assert chains.book(OTHER_LINE, OWN_DIRECTION).halted_in is None
    assert chains.resume(LINE, PEER_DIRECTION) == 1
    assert chains.book(LINE, OWN_DIRECTION).halted_in is None
    assert chains.resume(LINE) == 1 and chains.resume(LINE) == 0
    assert count(db_path, "nacks") == 3 and count(db_path, "halts") == 0
    with pytest.raises(ValueError, match="another line or direction"):
        chains.halt(LINE, OWN_DIRECTION, nack=first, issued=True, now_ms=T0)


def test_a_nack_halts_once_even_when_it_is_sent_again_after_a_resume(
    chains: Chains, db_path: Path
) -> None:
    standing = nack(OWN_DIRECTION, 3)
    chains.halt(LINE, OWN_DIRECTION, nack=standing, issued=False, now_ms=T0)
    assert chains.resume(LINE) == 1
    # The peer re-sends its standing NACK at the next session start: no new halt, no new row.
    chains.halt(LINE, OWN_DIRECTION, nack=standing, issued=False, now_ms=T0 + 1)
    assert chains.book(LINE, OWN_DIRECTION).halted_out is None
    assert count(db_path, "nacks") == 1


def test_a_batch_of_large_texts_is_bounded_in_bytes(messages: Messages, chains: Chains) -> None:
    from hotline.store._chains import MAX_BATCH_TEXT_BYTES

    big = "x" * 60_000
    for i in range(40):
        queue(messages, f"{i:02d}{big}")
    batch = sequence(chains, limit=40)
    assert batch is not None
    taken = sum(len(e.body.text) for e in batch.envelopes if isinstance(e.body, MessageBody))
    assert len(batch.envelopes) < 40 and taken <= MAX_BATCH_TEXT_BYTES
    assert len(batch.envelopes) == MAX_BATCH_TEXT_BYTES // 60_050


def test_hash_at_on_both_connections(messages: Messages, chains: Chains, db_path: Path) -> None:
    queue(messages, "ours")
    batch = sequence(chains)
    assert batch is not None
    deliver(chains, ["theirs"])
    (theirs,) = chains.segment(LINE, PEER_DIRECTION, after_seq=0, limit=1)[0][0]
    with Store.open(db_path) as store:
        for lookup in (chains.hash_at, store.hash_at):
            assert lookup(LINE, OWN_DIRECTION, 1) == batch.envelopes[0].hash
            assert lookup(LINE, PEER_DIRECTION, 1) == theirs.hash
            assert lookup(LINE, OWN_DIRECTION, 2) is None
            assert lookup(OTHER_LINE, OWN_DIRECTION, 1) is None
            # A peer names any u64; SQLite's INTEGER stops at 2**63 - 1: nothing is there.
            for beyond in (2**63, 2**64 - 1):
                assert lookup(LINE, PEER_DIRECTION, beyond) is None


def test_the_store_thread_runs_chains_calls_in_order(db_path: Path) -> None:
    with StoreThread.open(db_path, KEY) as thread:
        queued = thread.submit(
            lambda m: m.queue(
                line_id=LINE,
                peer="moscow",
                precedence=Precedence.FLASH,
                text="через поток",
                idempotency_key="k",
                now_ms=T0,
            )
        )
        batch = thread.submit_chains(sequence)
        book: LineBook = thread.submit_chains(lambda c: c.book(LINE, OWN_DIRECTION)).result()
        sequenced = batch.result()
        assert sequenced is not None
        assert sequenced.message_ids == (queued.result().message.id,)
        assert book.own_tip == sequenced.head.ref and book.queued == 0
        assert isinstance(thread.submit_chains(lambda c: c._db).result(), sqlite3.Connection)
        assert (
            thread.submit(lambda m: m._db).result()
            is thread.submit_chains(lambda c: c._db).result()
        )


def test_directions_are_ints_in_the_schema(chains: Chains, db_path: Path) -> None:
    deliver(chains, ["x"])
    db = raw(db_path)
    assert db.execute("SELECT direction, incoming, peer FROM envelopes").fetchall() == [
        (int(Direction.SECOND), 1, "moscow")
    ]
    db.close()


def test_checkpoints_are_stored_once_and_numbered_per_proposer(chains: Chains) -> None:
    from hotline.record import Checkpoint, CheckpointBody

    def checkpoint(proposer: Direction, number: int) -> Checkpoint:
        body = CheckpointBody(LINE, proposer, number, (GENESIS, GENESIS), T0, T0 + 1)
        return Checkpoint(body, (body.sign(OWN), body.sign(PEER)))

    assert chains.book(LINE, OWN_DIRECTION).checkpoints == (0, 0)
    chains.store_checkpoint(checkpoint(OWN_DIRECTION, 1), now_ms=T0)
    chains.store_checkpoint(checkpoint(OWN_DIRECTION, 2), now_ms=T0)
    fifth = checkpoint(PEER_DIRECTION, 5)
    assert chains.store_checkpoint(fifth, now_ms=T0)
    assert chains.store_checkpoint(fifth, now_ms=T0)  # again: held once
    # Another item under that number (signatures are randomised): the first stays.
    assert not chains.store_checkpoint(checkpoint(PEER_DIRECTION, 5), now_ms=T0)
    assert chains.checkpoint_items(LINE, PEER_DIRECTION, above=4, limit=9) == [(5, fifth.encode())]
    assert chains.book(LINE, OWN_DIRECTION).checkpoints == (2, 5)
    assert chains.book(LINE, PEER_DIRECTION).checkpoints == (5, 2)
    # What a proposer sends again: its own, above a number, in order, a step at a time.
    chains.store_checkpoint(checkpoint(OWN_DIRECTION, 4), now_ms=T0)
    numbers = [
        [number for number, _ in chains.checkpoint_items(LINE, proposer, above=n, limit=2)]
        for proposer, n in ((OWN_DIRECTION, 0), (OWN_DIRECTION, 1), (PEER_DIRECTION, 0))
    ]
    assert numbers == [[1, 2], [2, 4], [5]]
    assert chains.checkpoint_items(LINE, OWN_DIRECTION, above=4, limit=2) == []


def test_an_export_takes_the_checkpoints_proposed_in_its_window_and_those_bracketing_it(
    chains: Chains,
) -> None:
    from hotline.record import Checkpoint, CheckpointBody
    from hotline.store import RecordWindow

    for number, at in enumerate((T0, T0 + 1_000, T0 + 2_000, T0 + 256, T0 + 65_536), 1):
        body = CheckpointBody(LINE, OWN_DIRECTION, number, (GENESIS, GENESIS), at, at + 1)
        chains.store_checkpoint(Checkpoint(body, (body.sign(OWN), body.sign(PEER))), now_ms=at)

    def proposed(window: RecordWindow) -> list[int]:
        items = chains.record(LINE, window).checkpoints
        return sorted(c.body.proposed_at_ms - T0 for c in items)

    assert proposed(RecordWindow()) == [0, 256, 1_000, 2_000, 65_536]
    # the window's, and the last before and the first after it (they bracket its ends)
    assert proposed(RecordWindow(T0 + 256, T0 + 2_000)) == [0, 256, 1_000, 2_000, 65_536]
    assert proposed(RecordWindow(T0 + 257, T0 + 1_999)) == [256, 1_000, 2_000]
    assert proposed(RecordWindow(T0 + 257, None)) == [256, 1_000, 2_000, 65_536]
    assert proposed(RecordWindow(None, T0 + 255)) == [0, 256]
    assert proposed(RecordWindow(T0 + 3_000, T0 + 4_000)) == [2_000, 65_536]
