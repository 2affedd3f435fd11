"""The delivery exchange, one station's side (docs/protocol.md §4): SYNC, delivery, receipts,
NACKs, recovery and FETCH, fed frames and a fake store, checked event by event.

The exchange belongs to FIRST: it sends ``Direction.FIRST`` and receives ``Direction.SECOND``
from SECOND. Chains and signatures are built once per module (ML-DSA-87 signs in ~1 ms).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.delivery._events import (
    ChainsDisagree,
    Deliverable,
    Event,
    FetchRequested,
    PeerRefused,
    ProtocolViolation,
    ReceiptAccepted,
    Recovered,
    Refuse,
    Resync,
    Synced,
)
from hotline.delivery._exchange import Exchange
from hotline.delivery._frames import (
    Envelopes,
    Fetch,
    HeadFrame,
    NackFrame,
    ReceiptFrame,
    Sync,
    pack_envelopes,
)
from hotline.record import (
    CHAIN_HEAD_LEN,
    GENESIS,
    MAX_NACK_LEN,
    RECEIPT_LEN,
    BadSignatureError,
    BrokenChainError,
    ChainHead,
    ChainRef,
    ChainWriter,
    CrossLinkError,
    Direction,
    Envelope,
    EquivocationError,
    GapError,
    HeadMismatchError,
    Kind,
    MalformedError,
    Nack,
    NackReason,
    Precedence,
    Receipt,
    RejectionError,
    Subject,
    WrongLineError,
)
from hotline.session import Frame, Ping
from tests.record.helpers import (
    FIRST,
    LINE_ID,
    OTHER_LINE_ID,
    SECOND,
    T0,
    Station,
    build_chain,
    head_of,
    message,
)

OURS_LEN = 8
THEIRS_LEN = 60
OURS = build_chain(OURS_LEN, station=FIRST)
THEIRS = build_chain(THEIRS_LEN, station=SECOND)
E = TypeVar("E")

#: A hash no envelope has.
OTHER_HASH = bytes(range(64))


def other_chain(station: Station, count: int) -> list[Envelope]:
    """Another chain of ``station``'s direction: same seqs, other envelopes (equivocation)."""
    writer = ChainWriter(LINE_ID, station.direction)
    return [
        writer.append(
            message(f"another {i}", i),
            kind=Kind.MESSAGE,
            precedence=Precedence.ROUTINE,
            queued_at_ms=T0 + i,
            sequenced_at_ms=T0 + i + 1,
            cross=GENESIS,
        )
        for i in range(count)
    ]


ALT_OURS = other_chain(FIRST, OURS_LEN)
ALT_THEIRS = other_chain(SECOND, 6)


@functools.cache
def peer_head(seq: int) -> ChainHead:
    """SECOND's signed head at envelope ``seq`` of its chain."""
    return head_of(THEIRS[seq - 1], SECOND)


@functools.cache
def own_head(seq: int) -> ChainHead:
    """FIRST's signed head at envelope ``seq`` of its chain."""
    return head_of(OURS[seq - 1], FIRST)


@functools.cache
def receipt(
    seq: int,
    *,
    signer: str = "SECOND",
    envelope_hash: bytes | None = None,
    line_id: bytes = LINE_ID,
    direction: Direction = Direction.FIRST,
) -> Receipt:
    """SECOND's receipt for our envelopes up to ``seq`` (or a variant, to be refused)."""
    station = {"FIRST": FIRST, "SECOND": SECOND}[signer]
    return Receipt.create(
        station.keys,
        line_id=line_id,
        direction=direction,
        received=ChainRef(seq, envelope_hash or OURS[seq - 1].hash),
        receipted_at_ms=T0 + 1000 + seq,
        own=GENESIS,
    )


@functools.cache
def nack(direction: Direction, *, signer: str = "SECOND", line_id: bytes = LINE_ID) -> Nack:
    """A NACK by ``signer`` refusing an item of ``direction``."""
    station = {"FIRST": FIRST, "SECOND": SECOND}[signer]
    return Nack.refusing(
        station.keys,
        GapError("envelope 9 arrived after 7: 1 missing", seq=9),
        line_id=line_id,
        direction=direction,
        subject=Subject.ENVELOPE if direction is Direction.FIRST else Subject.RECEIPT,
        refused_at_ms=T0 + 5000,
    )


class Store:
    """The station's store, as the exchange sees it: hashes by ``(direction, seq)``."""

    def __init__(self, *, ours: int = 0, theirs: int = 0) -> None:
        self.hashes: dict[tuple[Direction, int], bytes] = {}
        self.hold(OURS[:ours])
        self.hold(THEIRS[:theirs])

    def hold(self, envelopes: Iterable[Envelope]) -> None:
        for envelope in envelopes:
            self.hashes[envelope.header.direction, envelope.seq] = envelope.hash

    def lookup(self, direction: Direction, seq: int) -> bytes | None:
        return self.hashes.get((direction, seq))

    def commit(self, exchange: Exchange, envelopes: Sequence[Envelope]) -> None:
        """Store ``envelopes`` (one direction), then tell the exchange."""
        self.hold(envelopes)
        exchange.committed(envelopes[0].header.direction, envelopes[-1].seq)


def tip(chain: Sequence[Envelope], seq: int) -> ChainRef:
    return chain[seq - 1].header.ref if seq else GENESIS


def make(store: Store, **kwargs: Any) -> Exchange:
    """FIRST's exchange over ``store``; its tips default to what the store holds."""
    ours = sum(1 for d, _ in store.hashes if d is Direction.FIRST)
    theirs = sum(1 for d, _ in store.hashes if d is Direction.SECOND)
    args: dict[str, Any] = {
        "line_id": LINE_ID,
        "direction": Direction.FIRST,
        "own_keys": FIRST.public,
        "peer_keys": SECOND.public,
        "own_tip": tip(OURS, ours),
        "peer_tip": tip(THEIRS, theirs),
        "lookup": store.lookup,
    }
    args.update(kwargs)
    return Exchange(**args)


def synced(store: Store, received: int = 0, **kwargs: Any) -> Exchange:
    """An exchange that took the peer's SYNC (``received`` = our envelope it holds last)."""
    exchange = make(store, **kwargs)
    exchange.frames_to_send()
    assert exchange.receive(Sync(GENESIS, tip(OURS, received))) == [Synced(received, 0)]
    return exchange


def envelopes(chain: Sequence[Envelope], first: int, last: int) -> Envelopes:
    """One ENVELOPES frame with envelopes ``first..last`` (seqs) of ``chain``."""
    return Envelopes(tuple(e.encode() for e in chain[first - 1 : last]))


def head_frame(head: ChainHead) -> HeadFrame:
    return HeadFrame(head.encode())


def only(events: list[Event], kind: type[E]) -> E:
    """The one event of ``events``, of type ``kind``."""
    assert len(events) == 1, events
    assert isinstance(events[0], kind), events
    return events[0]


def refusal(events: list[Event]) -> Refuse:
    return only(events, Refuse)


# --- 1. Session start ----------------------------------------------------------------------------
def test_the_first_frame_to_send_is_sync_with_both_tips() -> None:
    exchange = make(Store(ours=3, theirs=5))

    assert exchange.frames_to_send() == [Sync(OURS[2].header.ref, THEIRS[4].header.ref)]
    assert exchange.frames_to_send() == []
    assert not exchange.synced
    assert not exchange.halted_in


def test_sync_states_the_peers_last_checkpoint_stored_here() -> None:
    exchange = make(Store(ours=3, theirs=5), peer_checkpoint=41)

    assert exchange.frames_to_send() == [Sync(OURS[2].header.ref, THEIRS[4].header.ref, 41)]


def test_a_fresh_line_syncs_from_genesis() -> None:
    exchange = make(Store())

    assert exchange.frames_to_send() == [Sync(GENESIS, GENESIS)]
    assert exchange.receive(Sync(GENESIS, GENESIS)) == [Synced(0, 0)]
    assert exchange.synced
    assert exchange.frames_to_send() == []


def test_synced_carries_what_the_peer_says_it_stored_of_our_checkpoints() -> None:
    """Checkpoints we proposed above it are sent again (§4.10)."""
    exchange = make(Store())
    assert exchange.receive(Sync(GENESIS, GENESIS, 7)) == [Synced(0, 7)]


BEFORE_SYNC: list[Frame] = [
    envelopes(THEIRS, 1, 1),
    head_frame(peer_head(1)),
    ReceiptFrame(receipt(1).encode()),
    NackFrame(nack(Direction.FIRST).encode()),
    Fetch(1),
]


@pytest.mark.parametrize("frame", BEFORE_SYNC, ids=lambda f: type(f).__name__)
def test_anything_before_sync_is_a_protocol_violation(frame: Frame) -> None:
    store = Store(ours=1)
    exchange = make(store)

    assert exchange.receive(frame) == [ProtocolViolation(f"{type(frame).__name__} before SYNC")]
    assert not exchange.synced
    assert not exchange.halted_in  # a protocol matter, nothing refused


def test_a_second_sync_is_a_protocol_violation() -> None:
    exchange = synced(Store(ours=2), received=2)

    assert exchange.receive(Sync(GENESIS, tip(OURS, 2))) == [ProtocolViolation("a second SYNC")]


def test_a_frame_not_of_delivery_is_a_protocol_violation() -> None:
    exchange = synced(Store())

    assert exchange.receive(Ping(1, T0)) == [
        ProtocolViolation("Ping is not a frame of the exchange")
    ]


# --- 2. The peer's SYNC --------------------------------------------------------------------------
def test_sync_at_our_tip_resends_nothing() -> None:
    exchange = make(Store(ours=3))
    exchange.frames_to_send()

    assert exchange.receive(Sync(GENESIS, tip(OURS, 3))) == [Synced(3, 0)]
    assert exchange.synced
    assert exchange.frames_to_send() == []


@pytest.mark.parametrize("received", [0, 1, 2])
def test_sync_below_our_tip_resends_after_it(received: int) -> None:
    exchange = make(Store(ours=3))

    assert exchange.receive(Sync(THEIRS[0].header.ref, tip(OURS, received))) == [
        Synced(received, 0)
    ]
    assert exchange.synced


def test_sync_naming_another_envelope_of_ours_is_a_disagreement() -> None:
    exchange = make(Store(ours=3))
    theirs = ChainRef(2, ALT_OURS[1].hash)

    assert exchange.receive(Sync(GENESIS, theirs)) == [ChainsDisagree(OURS[1].header.ref, theirs)]


def test_after_a_disagreement_our_envelopes_may_not_be_sent() -> None:
    exchange = make(Store(ours=3))
    exchange.receive(Sync(GENESIS, ChainRef(3, OTHER_HASH)))

    assert not exchange.synced


def test_sync_naming_a_seq_our_store_lacks_is_a_disagreement() -> None:
    store = Store(ours=3)
    del store.hashes[Direction.FIRST, 2]  # a store missing an envelope below its tip
    exchange = make(store, own_tip=tip(OURS, 3))
    theirs = OURS[1].header.ref

    events = exchange.receive(Sync(GENESIS, theirs))

    assert len(events) == 1
    assert isinstance(events[0], ChainsDisagree)
    assert events[0].theirs == theirs


@pytest.mark.parametrize(("ours", "fetch_from"), [(0, 1), (3, 4)])
def test_sync_beyond_our_tip_fetches_our_own_envelopes(ours: int, fetch_from: int) -> None:
    exchange = make(Store(ours=ours))
    exchange.frames_to_send()

    assert exchange.receive(Sync(GENESIS, tip(OURS, 6))) == []
    assert exchange.frames_to_send() == [Fetch(fetch_from)]
    assert not exchange.synced
    assert "recovering" in repr(exchange)


# --- 3. Receiving the peer's envelopes and heads ------------------------------------------------
def test_envelopes_then_their_head_are_deliverable() -> None:
    exchange = synced(Store())

    assert exchange.receive(envelopes(THEIRS, 1, 3)) == []
    assert exchange.receive(head_frame(peer_head(3))) == [
        Deliverable(tuple(THEIRS[0:3]), (peer_head(3),))
    ]
    assert exchange.frames_to_send() == []  # the exchange sends no receipt: the station does


def test_a_head_ahead_delivers_when_its_last_envelope_arrives() -> None:
    exchange = synced(Store())

    assert exchange.receive(head_frame(peer_head(3))) == []
    assert exchange.receive(envelopes(THEIRS, 1, 2)) == []
    assert exchange.receive(envelopes(THEIRS, 3, 3)) == [
        Deliverable(tuple(THEIRS[0:3]), (peer_head(3),))
    ]


def test_a_head_ahead_delivers_mid_frame_and_the_rest_waits() -> None:
    exchange = synced(Store())

    assert exchange.receive(head_frame(peer_head(2))) == []
    assert exchange.receive(envelopes(THEIRS, 1, 4)) == [
        Deliverable(tuple(THEIRS[0:2]), (peer_head(2),))
    ]
    assert exchange.receive(head_frame(peer_head(4))) == [
        Deliverable(tuple(THEIRS[2:4]), (peer_head(4),))
    ]


def test_several_head_groups_deliver_one_by_one() -> None:
    exchange = synced(Store())

    assert exchange.receive(envelopes(THEIRS, 1, 6)) == []
    assert exchange.receive(head_frame(peer_head(2))) == [
        Deliverable(tuple(THEIRS[0:2]), (peer_head(2),))
    ]
    assert exchange.receive(head_frame(peer_head(5))) == [
        Deliverable(tuple(THEIRS[2:5]), (peer_head(5),))
    ]
    assert exchange.receive(head_frame(peer_head(6))) == [
        Deliverable((THEIRS[5],), (peer_head(6),))
    ]


def test_two_heads_ahead_each_deliver_their_group() -> None:
    exchange = synced(Store())

    assert exchange.receive(head_frame(peer_head(4))) == []
    assert exchange.receive(head_frame(peer_head(2))) == []
    assert exchange.receive(envelopes(THEIRS, 1, 5)) == [
        Deliverable(tuple(THEIRS[0:2]), (peer_head(2),)),
        Deliverable(tuple(THEIRS[2:4]), (peer_head(4),)),
    ]


@pytest.mark.parametrize("commit", [True, False], ids=["committed", "not-yet-committed"])
def test_resent_envelopes_and_heads_are_ignored(commit: bool) -> None:
    store = Store()
    exchange = synced(store)
    exchange.receive(envelopes(THEIRS, 1, 3))
    exchange.receive(head_frame(peer_head(3)))
    if commit:
        store.commit(exchange, THEIRS[0:3])

    assert exchange.receive(envelopes(THEIRS, 1, 3)) == []
    assert exchange.receive(head_frame(peer_head(3))) == []
    assert exchange.receive(envelopes(THEIRS, 2, 5)) == []  # 2, 3 resent; 4, 5 new
    assert exchange.receive(head_frame(peer_head(5))) == [
        Deliverable(tuple(THEIRS[3:5]), (peer_head(5),))
    ]
    assert not exchange.halted_in


def test_envelopes_stored_in_an_earlier_session_are_duplicates() -> None:
    exchange = synced(Store(theirs=3))

    assert exchange.receive(envelopes(THEIRS, 1, 4)) == []
    assert exchange.receive(head_frame(peer_head(3))) == []
    assert exchange.receive(head_frame(peer_head(4))) == [
        Deliverable((THEIRS[3],), (peer_head(4),))
    ]


def test_a_gap_is_refused_and_halts_the_peers_direction() -> None:
    exchange = synced(Store())
    exchange.receive(envelopes(THEIRS, 1, 2))

    refused = refusal(exchange.receive(envelopes(THEIRS, 4, 4)))

    assert (refused.subject, refused.direction, refused.fallback_seq) == (
        Subject.ENVELOPE,
        Direction.SECOND,
        3,
    )
    assert isinstance(refused.error, GapError)
    assert (refused.error.seq, refused.error.item_hash) == (4, THEIRS[3].hash)
    assert exchange.halted_in


def test_a_refusal_stops_the_frame_and_the_direction_for_good() -> None:
    exchange = synced(Store())
    frame = Envelopes(tuple(e.encode() for e in (THEIRS[0], THEIRS[2], THEIRS[1])))

    assert isinstance(refusal(exchange.receive(frame)).error, GapError)  # 3 after 1; 2 unread
    for later in (
        envelopes(THEIRS, 2, 4),
        head_frame(peer_head(1)),
        head_frame(peer_head(4)),
        Envelopes((b"garbage",)),
        HeadFrame(b"garbage"),
    ):
        assert exchange.receive(later) == []
    assert exchange.halted_in


def test_a_forged_head_is_refused() -> None:
    exchange = synced(Store())
    exchange.receive(envelopes(THEIRS, 1, 3))
    forged = head_of(THEIRS[2], FIRST)  # SECOND's head, signed with FIRST's keys

    refused = refusal(exchange.receive(head_frame(forged)))

    assert (refused.subject, refused.direction, refused.fallback_seq) == (
        Subject.CHAIN_HEAD,
        Direction.SECOND,
        4,
    )
    assert isinstance(refused.error, BadSignatureError)
    assert refused.error.seq == 3
    assert exchange.halted_in
    assert exchange.receive(head_frame(peer_head(3))) == []


def test_a_head_with_a_flipped_signature_byte_is_refused() -> None:
    exchange = synced(Store())
    exchange.receive(envelopes(THEIRS, 1, 1))
    data = bytearray(peer_head(1).encode())
    data[-1] ^= 1

    refused = refusal(exchange.receive(HeadFrame(bytes(data))))

    assert refused.subject is Subject.CHAIN_HEAD
    assert isinstance(refused.error, BadSignatureError)


def test_an_envelope_equivocating_a_delivered_one_is_refused() -> None:
    store = Store()
    exchange = synced(store)
    exchange.receive(envelopes(THEIRS, 1, 3))
    exchange.receive(head_frame(peer_head(3)))
    store.commit(exchange, THEIRS[0:3])

    refused = refusal(exchange.receive(envelopes(ALT_THEIRS, 2, 2)))

    assert (refused.subject, refused.direction) == (Subject.ENVELOPE, Direction.SECOND)
    assert isinstance(refused.error, EquivocationError)
    assert (refused.error.seq, refused.error.accepted, refused.error.conflicting) == (
        2,
        THEIRS[1].hash,
        ALT_THEIRS[1].hash,
    )
    assert exchange.halted_in


def test_a_head_equivocating_a_delivered_envelope_is_refused() -> None:
    exchange = synced(Store())
    exchange.receive(envelopes(THEIRS, 1, 3))
    exchange.receive(head_frame(peer_head(3)))

    refused = refusal(exchange.receive(head_frame(head_of(ALT_THEIRS[1], SECOND))))

    assert (refused.subject, refused.direction) == (Subject.CHAIN_HEAD, Direction.SECOND)
    assert isinstance(refused.error, EquivocationError)
    assert refused.error.seq == 2


def test_a_head_naming_another_waiting_envelope_is_refused() -> None:
    exchange = synced(Store())
    exchange.receive(envelopes(THEIRS, 1, 3))

    refused = refusal(exchange.receive(head_frame(head_of(ALT_THEIRS[2], SECOND))))

    assert isinstance(refused.error, HeadMismatchError)
    assert exchange.halted_in


def test_an_envelope_of_our_own_direction_is_refused_as_the_wrong_line() -> None:
    exchange = synced(Store(ours=2), received=2)

    refused = refusal(exchange.receive(envelopes(OURS, 3, 3)))

    assert (refused.subject, refused.direction) == (Subject.ENVELOPE, Direction.SECOND)
    assert isinstance(refused.error, WrongLineError)


def test_cross_links_are_checked_against_our_stored_chain() -> None:
    crosses = [OURS[1].header.ref, OURS[4].header.ref]  # we hold 1..3: #5 is unknown here
    chain = build_chain(2, station=SECOND, crosses=crosses)
    exchange = synced(Store(ours=3), received=3)

    refused = refusal(exchange.receive(Envelopes(tuple(e.encode() for e in chain))))

    assert isinstance(refused.error, CrossLinkError)
    assert (refused.error.seq, refused.fallback_seq) == (2, 2)  # envelope 1 linked fine


@pytest.mark.parametrize(
    "garbage",
    [THEIRS[1].encode()[:60], b"\x00" * 200],
    ids=["truncated", "zeros"],
)
def test_an_envelope_that_does_not_decode_is_refused_as_malformed(garbage: bytes) -> None:
    exchange = synced(Store())

    events = exchange.receive(Envelopes((THEIRS[0].encode(), garbage, THEIRS[1].encode())))

    refused = refusal(events)
    assert (refused.subject, refused.direction, refused.fallback_seq) == (
        Subject.ENVELOPE,
        Direction.SECOND,
        2,  # envelope 1 was linked: 2 was expected
    )
    assert isinstance(refused.error, MalformedError)
    assert refused.error.reason is NackReason.MALFORMED
    assert exchange.halted_in
    assert exchange.receive(head_frame(peer_head(1))) == []  # never delivered


def test_a_head_that_does_not_decode_is_refused_as_malformed() -> None:
    exchange = synced(Store())

    refused = refusal(exchange.receive(HeadFrame(bytes(CHAIN_HEAD_LEN))))

    assert (refused.subject, refused.direction, refused.fallback_seq) == (
        Subject.CHAIN_HEAD,
        Direction.SECOND,
        1,
    )
    assert isinstance(refused.error, MalformedError)


def test_a_direction_halted_at_the_start_ignores_everything_incoming() -> None:
    store = Store(ours=3)
    exchange = synced(store, halted_in=True)
    assert exchange.halted_in

    for frame in (
        envelopes(THEIRS, 1, 3),
        head_frame(peer_head(3)),
        envelopes(THEIRS, 5, 5),  # a gap: still ignored
        Envelopes((b"garbage",)),
        HeadFrame(b"garbage"),
    ):
        assert exchange.receive(frame) == []
    # Our own direction still runs: receipts are taken.
    assert exchange.receive(ReceiptFrame(receipt(2).encode())) == [ReceiptAccepted(receipt(2))]


# --- 4. Receipts ---------------------------------------------------------------------------------
def test_a_valid_receipt_is_accepted_once_and_never_goes_back() -> None:
    exchange = synced(Store(ours=5))

    assert exchange.receive(ReceiptFrame(receipt(3).encode())) == [ReceiptAccepted(receipt(3))]
    assert exchange.receive(ReceiptFrame(receipt(3).encode())) == []
    assert exchange.receive(ReceiptFrame(receipt(2).encode())) == []
    assert exchange.receive(ReceiptFrame(receipt(5).encode())) == [ReceiptAccepted(receipt(5))]


def test_a_receipt_at_or_below_the_stored_one_is_no_news() -> None:
    exchange = synced(Store(ours=5), receipted=tip(OURS, 3))

    assert exchange.receive(ReceiptFrame(receipt(3).encode())) == []
    assert exchange.receive(ReceiptFrame(receipt(4).encode())) == [ReceiptAccepted(receipt(4))]


def test_a_receipt_beyond_our_chain_is_refused() -> None:
    exchange = synced(Store(ours=5))

    refused = refusal(exchange.receive(ReceiptFrame(receipt(7).encode())))

    assert (refused.subject, refused.direction, refused.fallback_seq) == (
        Subject.RECEIPT,
        Direction.FIRST,
        7,
    )
    assert isinstance(refused.error, HeadMismatchError)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (receipt(3, envelope_hash=ALT_OURS[2].hash), HeadMismatchError),
        (receipt(3, signer="FIRST"), BadSignatureError),
        (receipt(3, line_id=OTHER_LINE_ID), WrongLineError),
        (receipt(3, direction=Direction.SECOND), WrongLineError),
    ],
    ids=["wrong-hash", "bad-signature", "other-line", "other-direction"],
)
def test_a_bad_receipt_is_refused(bad: Receipt, error: type) -> None:
    exchange = synced(Store(ours=5))

    refused = refusal(exchange.receive(ReceiptFrame(bad.encode())))

    assert (refused.subject, refused.direction, refused.fallback_seq) == (
        Subject.RECEIPT,
        Direction.FIRST,
        3,
    )
    assert type(refused.error) is error
    assert refused.error.seq == 3
    # A refused receipt moves nothing: the right one is still news.
    assert exchange.receive(ReceiptFrame(receipt(3).encode())) == [ReceiptAccepted(receipt(3))]


def test_a_bad_old_receipt_is_refused_too() -> None:
    """§4.7: checks 1-3 run before "at or below the latest is ignored"."""
    exchange = synced(Store(ours=5), receipted=tip(OURS, 4))

    refused = refusal(exchange.receive(ReceiptFrame(receipt(2, signer="FIRST").encode())))

    assert isinstance(refused.error, BadSignatureError)


@pytest.mark.parametrize("data", [bytes(RECEIPT_LEN), b"\x01" * 10], ids=["seq-zero", "too-short"])
def test_a_receipt_that_does_not_decode_is_refused_as_malformed(data: bytes) -> None:
    exchange = synced(Store(ours=5), receipted=tip(OURS, 2))

    refused = refusal(exchange.receive(ReceiptFrame(data)))

    assert (refused.subject, refused.direction, refused.fallback_seq) == (
        Subject.RECEIPT,
        Direction.FIRST,
        3,
    )
    assert isinstance(refused.error, MalformedError)
    assert refused.error.reason is NackReason.MALFORMED


# --- 5. NACKs ------------------------------------------------------------------------------------
def test_a_valid_nack_of_our_direction_is_passed_on() -> None:
    exchange = synced(Store(ours=3))

    assert exchange.receive(NackFrame(nack(Direction.FIRST).encode())) == [
        PeerRefused(nack(Direction.FIRST))
    ]
    assert not exchange.halted_in


def test_a_nack_of_the_peers_direction_halts_it_here_too() -> None:
    exchange = synced(Store())
    exchange.receive(envelopes(THEIRS, 1, 2))

    assert exchange.receive(NackFrame(nack(Direction.SECOND).encode())) == [
        PeerRefused(nack(Direction.SECOND))
    ]
    assert exchange.halted_in
    assert exchange.receive(head_frame(peer_head(2))) == []


def flipped(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 1
    return bytes(changed)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (nack(Direction.FIRST, signer="FIRST").encode(), "does not verify"),
        (flipped(nack(Direction.FIRST).encode(), -1), "does not verify"),
        (nack(Direction.FIRST, line_id=OTHER_LINE_ID).encode(), "another line"),
        (b"\x01\x02\x03", "undecodable"),
        (bytes(MAX_NACK_LEN), "undecodable"),
    ],
    ids=["wrong-signer", "flipped-signature", "other-line", "short", "zeros"],
)
def test_a_bad_nack_is_a_protocol_violation(data: bytes, text: str) -> None:
    exchange = synced(Store())

    violation = only(exchange.receive(NackFrame(data)), ProtocolViolation)

    assert text in violation.text
    assert not exchange.halted_in


# --- 6. Recovery: learning our own envelopes back (§4.6) -----------------------------------------
def recovering(store: Store, received: int = 6) -> Exchange:
    """FIRST restored with the envelopes ``store`` holds; SECOND says it stored ``received``."""
    exchange = make(store)
    exchange.frames_to_send()
    assert exchange.receive(Sync(THEIRS[0].header.ref, tip(OURS, received))) == []
    return exchange


def test_recovery_learns_our_envelopes_then_asks_for_a_new_session() -> None:
    store = Store(ours=3)
    exchange = recovering(store)
    assert exchange.frames_to_send() == [Fetch(4)]

    assert exchange.receive(envelopes(OURS, 4, 6)) == []
    events = exchange.receive(head_frame(own_head(6)))

    assert events[0] == Recovered(tuple(OURS[3:6]), (own_head(6),))
    assert len(events) == 2
    assert isinstance(events[1], Resync)
    assert exchange.synced
    assert exchange.frames_to_send() == []


def test_recovery_in_several_groups_with_a_head_ahead() -> None:
    exchange = recovering(Store(ours=3))

    assert exchange.receive(head_frame(own_head(5))) == []
    assert exchange.receive(envelopes(OURS, 4, 5)) == [Recovered(tuple(OURS[3:5]), (own_head(5),))]
    assert not exchange.synced
    assert exchange.receive(envelopes(OURS, 6, 6)) == []
    events = exchange.receive(head_frame(own_head(6)))
    assert events[0] == Recovered((OURS[5],), (own_head(6),))
    assert [type(e) for e in events] == [Recovered, Resync]


def test_recovery_from_nothing() -> None:
    exchange = recovering(Store(), received=2)
    assert exchange.frames_to_send() == [Fetch(1)]

    exchange.receive(envelopes(OURS, 1, 2))
    events = exchange.receive(head_frame(own_head(2)))

    assert events[0] == Recovered(tuple(OURS[0:2]), (own_head(2),))
    assert [type(e) for e in events] == [Recovered, Resync]


def test_a_receipt_during_recovery_waits_until_our_chain_is_whole() -> None:
    exchange = recovering(Store(ours=3))

    assert exchange.receive(ReceiptFrame(receipt(4).encode())) == []
    assert exchange.receive(ReceiptFrame(receipt(6).encode())) == []  # the latest is kept
    exchange.receive(envelopes(OURS, 4, 6))
    events = exchange.receive(head_frame(own_head(6)))

    assert events[:2] == [
        Recovered(tuple(OURS[3:6]), (own_head(6),)),
        ReceiptAccepted(receipt(6)),
    ]
    assert [type(e) for e in events] == [Recovered, ReceiptAccepted, Resync]


def test_a_bad_receipt_during_recovery_is_refused_once_recovered() -> None:
    exchange = recovering(Store(ours=3))

    assert exchange.receive(ReceiptFrame(receipt(5, signer="FIRST").encode())) == []
    exchange.receive(envelopes(OURS, 4, 6))
    events = exchange.receive(head_frame(own_head(6)))

    assert [type(e) for e in events] == [Recovered, Refuse, Resync]
    refused = events[1]
    assert isinstance(refused, Refuse)
    assert (refused.subject, refused.direction) == (Subject.RECEIPT, Direction.FIRST)
    assert isinstance(refused.error, BadSignatureError)


def test_an_undecodable_receipt_during_recovery_is_refused_at_once() -> None:
    exchange = recovering(Store(ours=3))

    refused = refusal(exchange.receive(ReceiptFrame(bytes(RECEIPT_LEN))))

    assert (refused.subject, refused.direction) == (Subject.RECEIPT, Direction.FIRST)


def test_the_peers_items_during_recovery_are_dropped() -> None:
    exchange = recovering(Store(ours=3))

    assert exchange.receive(envelopes(THEIRS, 1, 2)) == []
    assert exchange.receive(head_frame(peer_head(2))) == []
    assert exchange.receive(envelopes(THEIRS, 5, 5)) == []  # not even a gap: not looked at
    exchange.receive(envelopes(OURS, 4, 6))
    assert [type(e) for e in exchange.receive(head_frame(own_head(6)))] == [Recovered, Resync]
    assert not exchange.halted_in
    # Dropped, not held: the peer resends them in the next session.
    assert exchange.receive(head_frame(peer_head(2))) == []


def test_recovered_envelopes_that_disagree_with_the_peers_sync() -> None:
    store = Store(ours=3)
    exchange = make(store)
    theirs = ChainRef(6, OTHER_HASH)
    assert exchange.receive(Sync(GENESIS, theirs)) == []

    exchange.receive(envelopes(OURS, 4, 6))
    events = exchange.receive(head_frame(own_head(6)))

    assert events == [
        Recovered(tuple(OURS[3:6]), (own_head(6),)),
        ChainsDisagree(OURS[5].header.ref, theirs),
    ]


def test_our_own_envelopes_with_a_broken_chain_are_refused() -> None:
    exchange = recovering(Store(ours=3))
    frame = Envelopes((OURS[3].encode(), ALT_OURS[4].encode()))

    refused = refusal(exchange.receive(frame))

    assert (refused.subject, refused.direction, refused.fallback_seq) == (
        Subject.ENVELOPE,
        Direction.FIRST,
        5,
    )
    assert isinstance(refused.error, BrokenChainError)
    assert refused.error.seq == 5
    assert not exchange.halted_in  # our direction halts, not the peer's


def test_our_own_head_forged_during_recovery_is_refused() -> None:
    exchange = recovering(Store(ours=3))
    exchange.receive(envelopes(OURS, 4, 6))

    refused = refusal(exchange.receive(head_frame(head_of(OURS[5], SECOND))))

    assert (refused.subject, refused.direction) == (Subject.CHAIN_HEAD, Direction.FIRST)
    assert isinstance(refused.error, BadSignatureError)


def refused_recovery() -> Exchange:
    """A recovery whose FETCH answer broke our chain at envelope 5."""
    exchange = recovering(Store(ours=3))
    refusal(exchange.receive(Envelopes((OURS[3].encode(), ALT_OURS[4].encode()))))
    return exchange


def test_after_a_refused_recovery_we_are_not_synced() -> None:
    assert not refused_recovery().synced


def test_after_a_refused_recovery_the_rest_of_our_envelopes_is_ignored() -> None:
    exchange = refused_recovery()

    assert exchange.receive(head_frame(own_head(6))) == []
    assert exchange.receive(envelopes(OURS, 6, 6)) == []
    assert not exchange.halted_in


def test_after_a_refused_recovery_the_peers_items_are_still_dropped() -> None:
    exchange = refused_recovery()
    honest = build_chain(1, station=SECOND, crosses=[OURS[4].header.ref])

    assert exchange.receive(Envelopes((honest[0].encode(),))) == []
    assert not exchange.halted_in


# --- 7. FETCH ------------------------------------------------------------------------------------
def test_a_fetch_is_answered_once_and_only_for_what_the_peer_lost() -> None:
    # The peer's SYNC says it holds its own chain up to #3; we stored its #1..#6.
    exchange = make(Store(ours=2, theirs=6))
    exchange.frames_to_send()
    assert exchange.receive(Sync(tip(THEIRS, 3), tip(OURS, 2))) == [Synced(2, 0)]
    assert exchange.receive(Fetch(5)) == [ProtocolViolation("a FETCH from #5 it has no need of")]
    exchange = make(Store(ours=2, theirs=6))
    exchange.frames_to_send()
    exchange.receive(Sync(tip(THEIRS, 3), tip(OURS, 2)))
    assert exchange.receive(Fetch(4)) == [FetchRequested(4)]
    assert exchange.receive(Fetch(4)) == [ProtocolViolation("a FETCH from #4 it has no need of")]


def test_a_fetch_beyond_what_we_hold_is_refused() -> None:
    exchange = make(Store(ours=2, theirs=3))
    exchange.frames_to_send()
    exchange.receive(Sync(tip(THEIRS, 3), tip(OURS, 2)))
    assert exchange.receive(Fetch(4)) == [ProtocolViolation("a FETCH from #4 it has no need of")]


def test_replayed_receipts_and_a_nack_flood_are_cheap_and_bounded() -> None:
    from hotline.delivery._exchange import MAX_NACKS_PER_SESSION

    exchange = synced(Store(ours=3), received=3)
    frame = NackFrame(b"\x00")
    events = [exchange.receive(frame) for _ in range(MAX_NACKS_PER_SESSION + 1)]
    assert events[-1] == [ProtocolViolation(f"more than {MAX_NACKS_PER_SESSION} NACKs")]


# --- Any bytes inside the frames -----------------------------------------------------------------
@settings(max_examples=150)
@given(
    st.sampled_from([Envelopes, HeadFrame, ReceiptFrame, NackFrame]),
    st.one_of(
        st.binary(min_size=1, max_size=400),
        st.sampled_from([CHAIN_HEAD_LEN, RECEIPT_LEN]).flatmap(
            lambda n: st.binary(min_size=n, max_size=n)
        ),
    ),
)
def test_any_item_bytes_give_a_refusal_or_a_violation_never_an_exception(
    kind: type, data: bytes
) -> None:
    exchange = synced(Store(ours=2), received=2)
    frame = Envelopes((data,)) if kind is Envelopes else kind(data)

    [event] = exchange.receive(frame)

    if kind is NackFrame:
        assert isinstance(event, ProtocolViolation)
    else:
        assert isinstance(event, Refuse)
        assert isinstance(event.error, RejectionError)


# --- 8. Exactly once, in order -------------------------------------------------------------------
@st.composite
def deliveries(draw: st.DrawFn) -> tuple[int, list[int], list[Frame], list[bool]]:
    """A chain of SECOND's, its head groups, the frames that carry it (some replayed), and
    after which frames the station commits what it was handed."""
    count = draw(st.integers(1, THEIRS_LEN))
    inner = draw(st.sets(st.integers(1, count - 1), max_size=count - 1)) if count > 1 else set()
    cuts = sorted(inner | {count})
    frames: list[Frame] = []
    start = 1
    for cut in cuts:
        items = [e.encode() for e in THEIRS[start - 1 : cut]]
        chunking = draw(st.sampled_from(["packed", "single", "random"]))
        if chunking == "packed":
            carried: list[Frame] = list(pack_envelopes(items))
        elif chunking == "single":
            carried = [Envelopes((item,)) for item in items]
        else:
            carried, rest = [], items
            while rest:
                size = draw(st.integers(1, len(rest)))
                carried.append(Envelopes(tuple(rest[:size])))
                rest = rest[size:]
        head: Frame = head_frame(peer_head(cut))
        frames += [head, *carried] if draw(st.booleans()) else [*carried, head]
        start = cut + 1
    for _ in range(draw(st.integers(0, 10))):
        at = draw(st.integers(1, len(frames)))
        frames.insert(at, frames[draw(st.integers(0, at - 1))])
    commits = draw(st.lists(st.booleans(), min_size=len(frames), max_size=len(frames)))
    return count, cuts, frames, commits


@settings(max_examples=60)
@given(deliveries())
def test_every_envelope_is_delivered_exactly_once_in_order(
    case: tuple[int, list[int], list[Frame], list[bool]],
) -> None:
    count, cuts, frames, commits = case
    store = Store()
    exchange = synced(store)
    delivered: list[Envelope] = []
    ends: list[int] = []
    handed: list[Envelope] = []

    for frame, commit in zip(frames, commits, strict=True):
        for event in exchange.receive(frame):
            assert isinstance(event, Deliverable), event
            last = event.envelopes[-1].seq
            assert event.heads == (peer_head(last),)
            delivered += event.envelopes
            handed += event.envelopes
            ends.append(last)
        if commit and handed:
            store.commit(exchange, handed)
            handed = []

    assert delivered == THEIRS[:count]
    assert ends == cuts
    assert not exchange.halted_in
