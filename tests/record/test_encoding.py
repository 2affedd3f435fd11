"""Strict, canonical encodings: round trips, and every kind of malformed input refused typed."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.constants import (
    MAX_ACK_NOTE_LEN,
    MAX_FRAME_BODY_LEN,
    MAX_NACK_TEXT_LEN,
    MAX_OPERATOR_NAME_LEN,
    MAX_STATEMENT_TEXT_LEN,
    MAX_TEXT_LEN,
)
from hotline.record import (
    ENVELOPE_HEADER_LEN,
    GENESIS,
    MAX_CHECKPOINT_NUMBER,
    MAX_ENVELOPE_LEN,
    MAX_TIME_MS,
    ZERO_HASH,
    AckBody,
    BodyMismatchError,
    ChainHead,
    ChainRef,
    ChainWriter,
    Checkpoint,
    CheckpointBody,
    Direction,
    Envelope,
    EnvelopeHeader,
    Kind,
    MalformedError,
    MessageBody,
    Nack,
    NackReason,
    Precedence,
    Receipt,
    RecordError,
    Statement,
    Subject,
    UnknownValueError,
    UnknownVersionError,
)
from hotline.record._envelope import MAX_BODY_LEN

from .helpers import FIRST, LINE_ID, SECOND, T0, build_chain, fixed, head_of, message


def make_ack(seq: int = 3) -> Envelope:
    body = AckBody(
        ChainRef(seq, fixed("acked", 64)), "Дежурный офицер", "passed on", fixed("s", 32)
    )
    return Envelope.create(
        line_id=LINE_ID,
        direction=Direction.SECOND,
        seq=1,
        prev_hash=ZERO_HASH,
        cross=ChainRef(seq, fixed("acked", 64)),
        queued_at_ms=T0,
        sequenced_at_ms=T0,
        precedence=Precedence.FLASH,
        kind=Kind.ACK,
        body=body,
    )


ENVELOPES = build_chain(2)
MESSAGE = ENVELOPES[1]
ACK = make_ack()
HEAD = head_of(MESSAGE)
RECEIPT = Receipt.create(
    SECOND.keys,
    line_id=LINE_ID,
    direction=Direction.FIRST,
    received=MESSAGE.header.ref,
    receipted_at_ms=T0 + 5,
    own=GENESIS,
)
NACK = Nack.refusing(
    SECOND.keys,
    MalformedError("bad"),
    line_id=LINE_ID,
    direction=Direction.FIRST,
    subject=Subject.ENVELOPE,
    refused_at_ms=T0,
    fallback_seq=3,
)
BODY = CheckpointBody(LINE_ID, Direction.FIRST, 1, (MESSAGE.header.ref, GENESIS), T0, T0 + 3)
CHECKPOINT = Checkpoint(BODY, (BODY.sign(FIRST.keys), BODY.sign(SECOND.keys)))
STATEMENT = Statement.create(
    FIRST.keys, fingerprint=fixed("fingerprint", 64), signed_at_ms=T0, text="הודעה לעיתונות"
)

#: (name, encoded, decoder) for every structure with a wire form.
ITEMS: list[tuple[str, bytes, Callable[[bytes], object]]] = [
    ("message", MESSAGE.encode(), Envelope.decode),
    ("ack", ACK.encode(), Envelope.decode),
    ("header", MESSAGE.header.encoded, EnvelopeHeader.decode),
    ("head", HEAD.encode(), ChainHead.decode),
    ("receipt", RECEIPT.encode(), Receipt.decode),
    ("nack", NACK.encode(), Nack.decode),
    ("checkpoint body", BODY.encode(), CheckpointBody.decode),
    ("checkpoint", CHECKPOINT.encode(), Checkpoint.decode),
    ("statement", STATEMENT.encode(), Statement.decode),
]
ITEM_IDS = [name for name, _, _ in ITEMS]


def reencode(item: object) -> bytes:
    if isinstance(item, EnvelopeHeader):
        return item.encoded
    encode: Callable[[], bytes] = item.encode  # type: ignore[attr-defined]
    return encode()


@pytest.mark.parametrize(("name", "data", "decode"), ITEMS, ids=ITEM_IDS)
def test_round_trip_is_byte_exact(
    name: str, data: bytes, decode: Callable[[bytes], object]
) -> None:
    item = decode(data)
    assert reencode(item) == data
    assert decode(reencode(item)) == item


@pytest.mark.parametrize(("name", "data", "decode"), ITEMS, ids=ITEM_IDS)
def test_every_truncation_and_any_trailing_byte_is_refused(
    name: str, data: bytes, decode: Callable[[bytes], object]
) -> None:
    # Every cut inside the fields (signatures are fixed-size blocks: a few cuts suffice there).
    cuts = [*range(min(len(data), 400)), len(data) - 4691, len(data) - 1]
    for cut in cuts:
        with pytest.raises(MalformedError):
            decode(data[:cut])
    with pytest.raises(MalformedError):
        decode(data + b"\0")


def test_sizes_are_as_documented() -> None:
    assert ENVELOPE_HEADER_LEN == 296
    assert MAX_BODY_LEN == 32 + 4 + MAX_TEXT_LEN + 1 == 61_477
    assert MAX_ENVELOPE_LEN == 61_773
    # An envelope travels as one session frame, with room for a frame field or two.
    assert MAX_ENVELOPE_LEN < MAX_FRAME_BODY_LEN - 1024
    assert len(HEAD.message()) == 145 and len(HEAD.encode()) == 4836
    assert len(RECEIPT.message()) == 217 and len(RECEIPT.encode()) == 4908
    assert len(BODY.encode()) == 233 and len(CHECKPOINT.encode()) == 9615


def test_the_largest_message_fits_and_one_more_byte_does_not() -> None:
    text = "x" * MAX_TEXT_LEN
    big = ChainWriter(LINE_ID, Direction.FIRST).append(
        message(text),
        kind=Kind.MESSAGE,
        precedence=Precedence.ROUTINE,
        queued_at_ms=T0,
        sequenced_at_ms=T0,
        cross=GENESIS,
    )
    assert len(big.encode()) == MAX_ENVELOPE_LEN
    assert Envelope.decode(big.encode()) == big
    with pytest.raises(MalformedError, match="more than"):
        message(text + "x")
    with pytest.raises(MalformedError, match="more than"):
        Envelope.decode(big.encode() + b"\0")


def test_unknown_version_is_its_own_error() -> None:
    data = MESSAGE.encode()
    for version in (0, 2, 255):
        with pytest.raises(UnknownVersionError) as caught:
            Envelope.decode(bytes([version]) + data[1:])
        assert caught.value.reason is NackReason.UNKNOWN_VERSION
    with pytest.raises(MalformedError):
        Envelope.decode(b"")


@pytest.mark.parametrize(
    ("offset", "value", "field"),
    [(65, 2, "direction"), (226, 4, "precedence"), (227, 0, "kind"), (227, 4, "kind")],
)
def test_unknown_codes_in_a_header_are_typed(offset: int, value: int, field: str) -> None:
    data = bytearray(MESSAGE.encode())
    data[offset] = value
    with pytest.raises(UnknownValueError) as caught:
        Envelope.decode(bytes(data))
    assert (caught.value.field, caught.value.value) == (field, value)
    assert caught.value.reason is NackReason.UNKNOWN_VALUE


@pytest.mark.parametrize(
    ("item", "offset", "field"),
    [
        (NACK, 64, "direction"),
        (NACK, 65, "subject"),
        (NACK, 65 + 1 + 8 + 64, "reason"),
        (HEAD, 64, "direction"),
        (RECEIPT, 64, "direction"),
        (CHECKPOINT, 64, "proposer"),
    ],
)
def test_unknown_codes_in_signed_items_are_typed(
    item: Nack | ChainHead | Receipt | Checkpoint, offset: int, field: str
) -> None:
    decoder = type(item).decode
    mutated = bytearray(item.encode())
    mutated[offset] = 0x7F
    with pytest.raises(UnknownValueError) as caught:
        decoder(bytes(mutated))
    assert caught.value.field == field


def patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


@pytest.mark.parametrize(
    ("offset", "new", "match"),
    [
        (66, bytes(8), "start at 1"),  # seq 0
        (74, bytes(64), "zero exactly for envelope 1"),  # seq 2 with a zero previous hash
        (138, (5).to_bytes(8, "big"), "seq 0 exactly"),  # cross seq 5 with a zero hash
        (228, (MAX_BODY_LEN + 1).to_bytes(4, "big"), "at most"),  # body_len over the limit
    ],
)
def test_header_rules_are_enforced(offset: int, new: bytes, match: str) -> None:
    with pytest.raises(MalformedError, match=match):
        Envelope.decode(patch(MESSAGE.encode(), offset, new))


def test_envelope_one_must_have_a_zero_previous_hash() -> None:
    first = ENVELOPES[0].encode()
    with pytest.raises(MalformedError, match="zero exactly"):
        Envelope.decode(patch(first, 74, b"\x01"))


def test_a_body_that_does_not_match_its_header_is_refused() -> None:
    data = MESSAGE.encode()
    # One flipped byte of the text: same length, another hash.
    tampered = data[:-2] + bytes([data[-2] ^ 1]) + data[-1:]
    with pytest.raises(BodyMismatchError) as caught:
        Envelope.decode(tampered)
    assert caught.value.seq == 2 and caught.value.item_hash == MESSAGE.hash
    with pytest.raises(BodyMismatchError, match="announces"):
        Envelope.decode(data[:-1])
    # A body of the wrong kind for the header.
    with pytest.raises(BodyMismatchError, match="another kind"):
        Envelope(ACK.header, MESSAGE.body)


def test_a_non_empty_attachment_list_is_refused_in_version_1() -> None:
    body = message("hi").encode()[:-1] + b"\x01"
    with pytest.raises(MalformedError, match="attachments"):
        from hotline.record._body import decode_body

        decode_body(Kind.MESSAGE, body)


@pytest.mark.parametrize(
    "bad",
    [
        b"\xc0\xaf",  # overlong "/"
        b"\xed\xa0\x80",  # an encoded surrogate
        b"\xff",
        b"caf\xc3",  # cut inside a character
    ],
)
def test_text_must_be_strict_utf8(bad: bytes) -> None:
    from hotline.record._body import decode_body

    body = fixed("s", 32) + len(bad).to_bytes(4, "big") + bad + b"\x00"
    with pytest.raises(MalformedError, match="UTF-8"):
        decode_body(Kind.MESSAGE, body)


def test_text_is_not_normalised() -> None:
    composed, decomposed = "é", "e\u0301"
    a, b = message(composed), MessageBody(decomposed, message(composed).salt)
    assert a.encode() != b.encode()


def test_lone_surrogates_cannot_be_built() -> None:
    with pytest.raises(MalformedError, match="surrogates"):
        MessageBody("\udc80", fixed("s", 32))


@pytest.mark.parametrize(
    "make",
    [
        lambda: AckBody(GENESIS, "op", "", fixed("s", 32)),
        lambda: AckBody(ChainRef(1, fixed("h", 64)), "", "", fixed("s", 32)),
        lambda: AckBody(
            ChainRef(1, fixed("h", 64)), "o" * (MAX_OPERATOR_NAME_LEN + 1), "", fixed("s", 32)
        ),
        lambda: AckBody(
            ChainRef(1, fixed("h", 64)), "op", "n" * (MAX_ACK_NOTE_LEN + 1), fixed("s", 32)
        ),
        lambda: MessageBody("hi", bytes(31)),
        lambda: ChainRef(0, fixed("h", 64)),
        lambda: ChainRef(1, ZERO_HASH),
        lambda: ChainRef(2**64, fixed("h", 64)),
        lambda: dataclasses.replace(HEAD, seq=0),
        lambda: dataclasses.replace(RECEIPT, seq=0),
        lambda: dataclasses.replace(NACK, text="x" * (MAX_NACK_TEXT_LEN + 1)),
        lambda: dataclasses.replace(NACK, item_hash=b"short"),
        lambda: dataclasses.replace(BODY, number=0),
        lambda: dataclasses.replace(BODY, number=MAX_CHECKPOINT_NUMBER + 1),
        lambda: dataclasses.replace(STATEMENT, text=""),
        lambda: dataclasses.replace(STATEMENT, text="s" * (MAX_STATEMENT_TEXT_LEN + 1)),
        lambda: dataclasses.replace(MESSAGE.header, line_id=b"short"),
        lambda: dataclasses.replace(MESSAGE.header, queued_at_ms=-1),
        lambda: dataclasses.replace(MESSAGE.header, sequenced_at_ms=MAX_TIME_MS + 1),  # year 10000
        lambda: dataclasses.replace(MESSAGE.header, queued_at_ms=2**64 - 1),
        lambda: dataclasses.replace(MESSAGE.header, kind=9),
    ],
)
def test_building_a_malformed_item_raises_the_same_error(make: Callable[[], object]) -> None:
    with pytest.raises(MalformedError):
        make()


def test_plain_ints_become_codes() -> None:
    header = dataclasses.replace(MESSAGE.header, direction=0, precedence=3, kind=1)
    assert header.direction is Direction.FIRST and header.precedence is Precedence.FLASH
    assert header == dataclasses.replace(
        MESSAGE.header, direction=Direction.FIRST, precedence=Precedence.FLASH
    )


def test_a_redacted_envelope_keeps_its_hash_but_has_no_wire_form() -> None:
    redacted = MESSAGE.redacted()
    assert redacted.hash == MESSAGE.hash and redacted.body is None
    assert EnvelopeHeader.decode(redacted.header.encoded) == MESSAGE.header
    with pytest.raises(ValueError, match="redacted"):
        redacted.encode()


def test_reprs_do_not_show_what_operators_wrote() -> None:
    envelope = build_chain(1)[0]
    assert "message 1" not in repr(envelope)
    assert "passed on" not in repr(ACK) and "Дежурный" not in repr(ACK)


# --- Fuzzing: decoders raise only their typed errors ------------------------------------------
@given(st.sampled_from(range(len(ITEMS))), st.binary(max_size=600))
def test_random_bytes_raise_only_record_errors(index: int, data: bytes) -> None:
    with contextlib.suppress(RecordError):
        item = ITEMS[index][2](data)
        assert reencode(item) == data


@given(
    st.sampled_from(range(len(ITEMS))),
    st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutated_items_raise_only_record_errors(index: int, edits: list[tuple[int, int]]) -> None:
    _, data, decode = ITEMS[index]
    mutated = bytearray(data)
    for position, value in edits:
        mutated[position % len(mutated)] = value
    try:
        item = decode(bytes(mutated))
    except RecordError:
        return
    assert reencode(item) == bytes(mutated)  # whatever decodes is canonical


@given(st.binary(min_size=0, max_size=300), st.sampled_from(list(Kind)))
def test_random_bodies_raise_only_record_errors(data: bytes, kind: Kind) -> None:
    from hotline.record._body import decode_body

    try:
        body = decode_body(kind, data)
    except RecordError:
        return
    assert body.encode() == data
