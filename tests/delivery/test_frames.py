"""Delivery frames: exact layouts, exact sizes, strict parsing, and envelope packing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.constants import MAX_FRAME_BODY_LEN, MAX_FRAME_LEN
from hotline.delivery import (
    DELIVERY_FRAMES,
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
    MAX_CHECKPOINT_NUMBER,
    MAX_ENVELOPE_LEN,
    MAX_NACK_LEN,
    RECEIPT_LEN,
    ChainRef,
    Envelope,
)
from hotline.session import SESSION_FRAMES, Frame, FrameError, LocalProtocolError, Ping
from tests.record.helpers import build_chain, head_of

#: The sizes these frames must hold, written out (docs/record-format.md §5-7, §15), so a change
#: of an item's size shows up here rather than silently changing the wire.
SIZES = {"head": 4836, "receipt": 4908, "max nack": 5098, "max envelope": 61773}

HASH = st.binary(min_size=64, max_size=64).filter(any)
REFS = st.one_of(st.just(GENESIS), st.builds(ChainRef, st.integers(1, 2**64 - 1), HASH))
ITEMS = st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=20).map(tuple)

FRAMES = st.one_of(
    st.builds(Sync, REFS, REFS, st.integers(0, MAX_CHECKPOINT_NUMBER)),
    st.builds(Envelopes, ITEMS),
    st.builds(HeadFrame, st.binary(min_size=CHAIN_HEAD_LEN, max_size=CHAIN_HEAD_LEN)),
    st.builds(ReceiptFrame, st.binary(min_size=RECEIPT_LEN, max_size=RECEIPT_LEN)),
    st.builds(NackFrame, st.binary(min_size=1, max_size=MAX_NACK_LEN)),
    st.builds(Fetch, st.integers(1, 2**64 - 1)),
)


def header(code: int) -> bytes:
    return bytes([0x01, code])


def ref_bytes(seq: int, digest: bytes) -> bytes:
    return seq.to_bytes(8, "big") + digest


def envelopes_body(*items: bytes, count: int | None = None) -> bytes:
    count = len(items) if count is None else count
    return count.to_bytes(2, "big") + b"".join(len(i).to_bytes(4, "big") + i for i in items)


def test_item_sizes_are_the_records() -> None:
    assert tuple(SIZES.values()) == (CHAIN_HEAD_LEN, RECEIPT_LEN, MAX_NACK_LEN, MAX_ENVELOPE_LEN)


def test_the_codes_and_the_codec() -> None:
    codes = [cls.TYPE for cls in (Sync, Envelopes, HeadFrame, ReceiptFrame, NackFrame, Fetch)]
    assert codes == [0x10, 0x11, 0x12, 0x13, 0x14, 0x15]
    assert all(
        cls in DELIVERY_FRAMES
        for cls in (Sync, Envelopes, HeadFrame, ReceiptFrame, NackFrame, Fetch)
    )
    assert DELIVERY_FRAMES.decode(SESSION_FRAMES.encode(Ping(1, 2))) == Ping(1, 2)
    with pytest.raises(FrameError):
        SESSION_FRAMES.decode(DELIVERY_FRAMES.encode(Fetch(1)))  # the session codec is unchanged


# --- Round trips ------------------------------------------------------------------------------
@given(FRAMES)
def test_every_frame_round_trips(frame: Frame) -> None:
    encoded = DELIVERY_FRAMES.encode(frame)
    assert encoded[:2] == header(frame.TYPE)
    assert DELIVERY_FRAMES.decode(encoded) == frame


@given(FRAMES, st.binary(min_size=1, max_size=8))
def test_trailing_bytes_are_refused(frame: Frame, extra: bytes) -> None:
    if isinstance(frame, NackFrame) and len(frame.item) + len(extra) <= MAX_NACK_LEN:
        return  # a NACK's length is its body's: more bytes are a longer NACK, for the record
    with pytest.raises(FrameError):
        DELIVERY_FRAMES.decode(DELIVERY_FRAMES.encode(frame) + extra)


@given(FRAMES, st.data())
def test_truncated_frames_are_refused(frame: Frame, data: st.DataObject) -> None:
    encoded = DELIVERY_FRAMES.encode(frame)
    # A shorter non-empty NACK body is still a valid layout (the record refuses it): cut to
    # the header. Every other layout fails at any cut.
    cut = 2 if isinstance(frame, NackFrame) else data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(FrameError):
        DELIVERY_FRAMES.decode(encoded[:cut])


@given(st.binary(max_size=400))
def test_arbitrary_bodies_only_ever_raise_frame_error(body: bytes) -> None:
    for code in range(0x10, 0x16):
        try:
            frame = DELIVERY_FRAMES.decode(header(code) + body)
        except FrameError:
            continue
        assert DELIVERY_FRAMES.encode(frame) == header(code) + body


# --- SYNC -------------------------------------------------------------------------------------
def test_sync_bytes() -> None:
    digest = bytes(range(64))
    frame = Sync(ChainRef(258, digest), GENESIS, 7)
    assert DELIVERY_FRAMES.encode(frame) == (
        b"\x01\x10" + ref_bytes(258, digest) + ref_bytes(0, bytes(64)) + (7).to_bytes(8, "big")
    )
    assert len(frame.encode_body()) == 152


def test_genesis_round_trips() -> None:
    encoded = DELIVERY_FRAMES.encode(Sync(GENESIS, GENESIS))
    assert encoded == b"\x01\x10" + bytes(152)
    assert DELIVERY_FRAMES.decode(encoded) == Sync(GENESIS, GENESIS, 0)


def test_the_checkpoint_number_is_bounded_both_ways() -> None:
    """No number past the last a checkpoint may have (it fits SQLite's INTEGER)."""
    top = Sync(GENESIS, GENESIS, MAX_CHECKPOINT_NUMBER)
    assert DELIVERY_FRAMES.decode(DELIVERY_FRAMES.encode(top)) == top
    for beyond in (MAX_CHECKPOINT_NUMBER + 1, 2**63, 2**64 - 1):
        with pytest.raises(FrameError, match="beyond 2\\*\\*53"):
            DELIVERY_FRAMES.decode(header(0x10) + bytes(144) + beyond.to_bytes(8, "big"))
    with pytest.raises(LocalProtocolError):
        DELIVERY_FRAMES.encode(Sync(GENESIS, GENESIS, MAX_CHECKPOINT_NUMBER + 1))


@pytest.mark.parametrize(
    "body",
    [
        ref_bytes(0, b"\x01" + bytes(63)) + bytes(80),  # seq 0 with a hash
        bytes(72) + ref_bytes(0, bytes(63) + b"\x01") + bytes(8),  # ... in `received`
        ref_bytes(5, bytes(64)) + bytes(80),  # a seq without a hash
        bytes(144),  # a SYNC without its checkpoint number
        bytes(151),
        bytes(153),
        b"",
    ],
)
def test_bad_syncs_are_refused(body: bytes) -> None:
    with pytest.raises(FrameError):
        DELIVERY_FRAMES.decode(header(0x10) + body)


def test_checkpoint_names_past_the_last_number_are_malformed() -> None:
    """CK_COSIGN and CK_COUNTERSIGN name a checkpoint: 1 to 2**53, as its body (record §8)."""
    for code in (0x17, 0x18):
        for number in (MAX_CHECKPOINT_NUMBER + 1, 2**63, 2**64 - 1):
            name = b"\x00" + number.to_bytes(8, "big")
            with pytest.raises(FrameError, match="2\\*\\*53"):
                DELIVERY_FRAMES.decode(header(code) + name + bytes(8 * (code == 0x17)))


# --- ENVELOPES --------------------------------------------------------------------------------
def test_envelopes_bytes() -> None:
    frame = Envelopes((b"ab", b"c"))
    assert DELIVERY_FRAMES.encode(frame).hex() == "0111" + "0002" + "00000002" + "6162" + (
        "00000001" + "63"
    )


def test_envelopes_repr_shows_sizes_not_text() -> None:
    assert repr(Envelopes((b"secret text", b"x"))) == "Envelopes(2 items, 12 bytes)"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00",  # a count cut short
        envelopes_body(),  # count 0
        envelopes_body(b"", count=1),  # an empty envelope
        envelopes_body(b"a", b"", b"c"),  # ... among others
        envelopes_body(b"a", count=2),  # fewer envelopes than counted
        envelopes_body(b"abc")[:-1],  # an envelope shorter than its length
        envelopes_body(b"a") + b"\x00",  # trailing bytes
        envelopes_body(b"a")[:2] + (MAX_FRAME_BODY_LEN).to_bytes(4, "big") + b"a",  # past the body
        b"\x00\x01" + (MAX_ENVELOPE_LEN + 1).to_bytes(4, "big") + bytes(MAX_ENVELOPE_LEN + 1),
        b"\x00\x01" + (2**32 - 1).to_bytes(4, "big"),  # an absurd length, refused before reading
    ],
)
def test_bad_envelopes_are_refused(body: bytes) -> None:
    with pytest.raises(FrameError):
        DELIVERY_FRAMES.decode(header(0x11) + body)


def test_envelopes_body_over_the_frame_is_refused() -> None:
    items = (bytes(MAX_ENVELOPE_LEN), bytes(MAX_FRAME_BODY_LEN - 2 - 8 - MAX_ENVELOPE_LEN + 1))
    with pytest.raises(LocalProtocolError):
        DELIVERY_FRAMES.encode(Envelopes(items))
    with pytest.raises(FrameError):
        DELIVERY_FRAMES.decode(header(0x11) + envelopes_body(*items))


@pytest.mark.parametrize(
    "items", [(), (b"",), (bytes(MAX_ENVELOPE_LEN + 1),)], ids=["none", "empty", "too long"]
)
def test_bad_envelopes_are_refused_on_encode(items: tuple[bytes, ...]) -> None:
    with pytest.raises(LocalProtocolError):
        DELIVERY_FRAMES.encode(Envelopes(items))


def test_real_envelopes_travel_unchanged() -> None:
    chain = build_chain(3)
    frame = DELIVERY_FRAMES.decode(
        DELIVERY_FRAMES.encode(Envelopes(tuple(e.encode() for e in chain)))
    )
    assert isinstance(frame, Envelopes)
    assert [Envelope.decode(item) for item in frame.items] == chain
    head = head_of(chain[-1])
    assert DELIVERY_FRAMES.decode(DELIVERY_FRAMES.encode(HeadFrame(head.encode()))) == HeadFrame(
        head.encode()
    )


# --- pack_envelopes ---------------------------------------------------------------------------
def test_the_largest_envelope_fits_a_frame_alone() -> None:
    (frame,) = pack_envelopes([bytes(MAX_ENVELOPE_LEN)])
    encoded = DELIVERY_FRAMES.encode(frame)
    assert len(encoded) == 2 + 2 + 4 + MAX_ENVELOPE_LEN <= MAX_FRAME_LEN
    assert DELIVERY_FRAMES.decode(encoded) == frame


def test_packing_nothing_gives_no_frames() -> None:
    assert pack_envelopes([]) == []


def test_packing_exactly_fills_a_frame() -> None:
    """Two items that fill a body to the last byte share a frame; one more byte splits them."""
    room = MAX_FRAME_BODY_LEN - 2 - 2 * 4
    first = bytes(MAX_ENVELOPE_LEN)
    second = b"\x01" * (room - MAX_ENVELOPE_LEN)
    (frame,) = pack_envelopes([first, second])
    assert len(frame.encode_body()) == MAX_FRAME_BODY_LEN
    assert [f.items for f in pack_envelopes([first, second + b"\x02"])] == [
        (first,),
        (second + b"\x02",),
    ]


@given(st.lists(st.integers(1, MAX_ENVELOPE_LEN), max_size=12))
def test_packing_is_greedy_ordered_and_bounded(sizes: list[int]) -> None:
    items = [i.to_bytes(4, "big") * (n // 4) + bytes(n % 4) for i, n in enumerate(sizes)]
    frames = pack_envelopes(items)
    assert [item for frame in frames for item in frame.items] == items
    for index, frame in enumerate(frames):
        body = frame.encode_body()
        assert len(body) <= MAX_FRAME_BODY_LEN
        if index + 1 < len(frames):  # greedy: the next frame's first item did not fit here
            assert len(body) + 4 + len(frames[index + 1].items[0]) > MAX_FRAME_BODY_LEN
    assert len(frames) == expected_frame_count(sizes)


def expected_frame_count(sizes: list[int]) -> int:
    """The greedy count, computed independently: fill each frame until the next item overflows."""
    count, used = 0, None
    for size in sizes:
        if used is None or used + 4 + size > MAX_FRAME_BODY_LEN:
            count, used = count + 1, 2
        used += 4 + size
    return count


def test_many_small_envelopes_share_frames() -> None:
    items = [bytes(1000)] * 200  # 1004 bytes each on the wire: 65 per frame
    frames = pack_envelopes(items)
    assert [len(f.items) for f in frames] == [65, 65, 65, 5]


@pytest.mark.parametrize("item", [b"", bytes(MAX_ENVELOPE_LEN + 1)], ids=["empty", "too long"])
def test_packing_refuses_what_no_frame_can_carry(item: bytes) -> None:
    with pytest.raises(ValueError, match="envelope"):
        pack_envelopes([b"ok", item])


# --- HEAD, RECEIPT, NACK, FETCH ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "low", "high"),
    [
        (HeadFrame, CHAIN_HEAD_LEN, CHAIN_HEAD_LEN),
        (ReceiptFrame, RECEIPT_LEN, RECEIPT_LEN),
        (NackFrame, 1, MAX_NACK_LEN),
    ],
)
def test_item_frames_have_exact_bounds(
    cls: type[HeadFrame | ReceiptFrame | NackFrame], low: int, high: int
) -> None:
    for size in (low, high):
        frame = cls(b"\x07" * size)
        assert DELIVERY_FRAMES.encode(frame) == header(cls.TYPE) + frame.item
        assert DELIVERY_FRAMES.decode(header(cls.TYPE) + frame.item) == frame
    for size in (low - 1, high + 1):
        with pytest.raises(FrameError):
            DELIVERY_FRAMES.decode(header(cls.TYPE) + bytes(size))
        with pytest.raises(LocalProtocolError):
            DELIVERY_FRAMES.encode(cls(bytes(size)))


def test_item_reprs_show_sizes_only() -> None:
    assert repr(NackFrame(b"why")) == "NackFrame(<3 bytes>)"
    assert repr(HeadFrame(bytes(CHAIN_HEAD_LEN))) == f"HeadFrame(<{CHAIN_HEAD_LEN} bytes>)"


def test_fetch_bytes() -> None:
    assert DELIVERY_FRAMES.encode(Fetch(258)).hex() == "0115" + "0000000000000102"


@pytest.mark.parametrize("body", [bytes(8), bytes(7), bytes(9), b"\x00" * 7 + b"\x01\x00"])
def test_bad_fetches_are_refused(body: bytes) -> None:
    with pytest.raises(FrameError):
        DELIVERY_FRAMES.decode(header(0x15) + body)


@pytest.mark.parametrize("seq", [0, -1, 2**64])
def test_bad_fetches_are_refused_on_encode(seq: int) -> None:
    with pytest.raises(LocalProtocolError):
        DELIVERY_FRAMES.encode(Fetch(seq))
