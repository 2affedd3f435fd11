"""The frame codec: exact bytes, strict parsing, bounded sizes, extension by later issues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.constants import (
    MAX_CLOSE_TEXT_LEN,
    MAX_DATA_LEN,
    MAX_HELLO_LEN,
    MSG1_LEN,
    MSG2_LEN,
    PROOF_LEN,
)
from hotline.session import (
    SESSION_FRAMES,
    Close,
    CloseReason,
    Data,
    Flight,
    Frame,
    FrameCodec,
    FrameError,
    Hello,
    LocalProtocolError,
    Ping,
    Pong,
    Rekey,
    Switch,
)

U64 = st.integers(0, 2**64 - 1)

#: What CLOSE text may not hold (it reaches the operator's log), spelled out here independently
#: of the implementation: C0, DEL, C1, the line and paragraph separators, the bidi controls.
FORBIDDEN_IN_CLOSE_TEXT = (
    [chr(c) for c in range(0x00, 0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)
CLOSE_TEXT = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters=FORBIDDEN_IN_CLOSE_TEXT),
    max_size=30,
)


def flights() -> st.SearchStrategy[Rekey]:
    sizes = {Flight.MSG1: MSG1_LEN, Flight.MSG2: MSG2_LEN}
    return st.sampled_from(list(Flight)).flatmap(
        lambda f: st.builds(
            Rekey,
            st.just(f),
            U64,
            st.binary(min_size=sizes.get(f, PROOF_LEN), max_size=sizes.get(f, PROOF_LEN)),
        )
    )


FRAMES = st.one_of(
    st.builds(Hello, st.binary(max_size=MAX_HELLO_LEN)),
    st.builds(Data, st.binary(max_size=2000)),
    st.builds(Ping, U64, U64),
    st.builds(Pong, U64, U64),
    flights(),
    st.builds(Switch, U64),
    st.builds(
        Close,
        st.sampled_from(list(CloseReason)),
        CLOSE_TEXT.filter(lambda t: len(t.encode()) <= MAX_CLOSE_TEXT_LEN),
    ),
)


@given(FRAMES)
def test_every_frame_round_trips(frame: Frame) -> None:
    encoded = SESSION_FRAMES.encode(frame)
    assert encoded[0] == 0x01 and encoded[1] == frame.TYPE
    assert SESSION_FRAMES.decode(encoded) == frame


@given(FRAMES, st.binary(min_size=1, max_size=8))
def test_trailing_bytes_are_refused_for_fixed_layouts(frame: Frame, extra: bytes) -> None:
    if isinstance(frame, Hello | Data):
        return  # their body is the rest of the frame by definition
    with pytest.raises(FrameError):
        SESSION_FRAMES.decode(SESSION_FRAMES.encode(frame) + extra)


@given(FRAMES, st.data())
def test_truncated_frames_are_refused(frame: Frame, data: st.DataObject) -> None:
    encoded = SESSION_FRAMES.encode(frame)
    if isinstance(frame, Hello | Data):
        encoded = encoded[:2]  # a header alone is a valid empty body for these two
        assert SESSION_FRAMES.decode(encoded) in (Hello(b""), Data(b""))
        return
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(FrameError):
        SESSION_FRAMES.decode(encoded[:cut])


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_frame_error(blob: bytes) -> None:
    try:
        frame = SESSION_FRAMES.decode(blob)
    except FrameError:
        return
    assert SESSION_FRAMES.encode(frame) == blob  # what parses re-encodes to the same bytes


@pytest.mark.parametrize(
    ("frame", "hex_bytes"),
    [
        (Hello(b"hi"), "01016869"),
        (Data(b"\x00"), "010200"),
        (Ping(1, 2), "0103" + "0000000000000001" + "0000000000000002"),
        (Pong(2**64 - 1, 0), "0104" + "ff" * 8 + "00" * 8),
        (Switch(258), "0106" + "0000000000000102"),
        (Close(CloseReason.GOING_AWAY, "bye"), "0107" + "01" + "03" + "627965"),
    ],
)
def test_exact_bytes(frame: Frame, hex_bytes: str) -> None:
    assert SESSION_FRAMES.encode(frame).hex() == hex_bytes


def test_rekey_bytes() -> None:
    frame = Rekey(Flight.MSG2, 7, bytes(MSG2_LEN))
    assert SESSION_FRAMES.encode(frame).hex().startswith("0105" + "02" + "0000000000000007")


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x01",
        b"\x00\x02",  # version 0
        b"\x02\x02",  # version 2
        b"\x01\x00",  # type 0
        b"\x01\x08" + bytes(4691),  # PROOF: reserved, never a session frame
        b"\x01\x09",  # a type nobody registered
        b"\x01\x05\x05" + bytes(8),  # REKEY flight 5
        b"\x01\x05\x01" + bytes(8) + bytes(MSG1_LEN - 1),  # msg1 one byte short
        b"\x01\x07\x09\x00",  # unknown close reason
        b"\x01\x07\x00\x02\xff\xfe",  # close text not UTF-8
        b"\x01\x07\x00\x05abc",  # close text shorter than its length
        b"\x01\x07\x00" + bytes([MAX_CLOSE_TEXT_LEN + 1]) + b"a" * (MAX_CLOSE_TEXT_LEN + 1),
        b"\x01\x01" + bytes(MAX_HELLO_LEN + 1),  # hello over its bound
        b"\x01\x02" + bytes(MAX_DATA_LEN + 1),  # data over its bound
    ],
)
def test_malformed_frames_are_refused(blob: bytes) -> None:
    with pytest.raises(FrameError):
        SESSION_FRAMES.decode(blob)


def test_oversize_fields_are_refused_on_encode() -> None:
    for frame in (
        Hello(bytes(MAX_HELLO_LEN + 1)),
        Data(bytes(MAX_DATA_LEN + 1)),
        Close(CloseReason.NORMAL, "я" * MAX_CLOSE_TEXT_LEN),
        Ping(2**64, 0),
        Rekey(Flight.MSG1, 0, bytes(MSG2_LEN)),
    ):
        with pytest.raises(LocalProtocolError):
            SESSION_FRAMES.encode(frame)


def test_the_largest_data_frame_fits_one_noise_message() -> None:
    assert len(SESSION_FRAMES.encode(Data(bytes(MAX_DATA_LEN)))) + 16 == 65535


@dataclass(frozen=True, slots=True)
class Envelope(Frame):
    """What a later issue adds: a frame type of its own."""

    TYPE: ClassVar[int] = 0x10
    MAX_BODY: ClassVar[int] = 100

    body: bytes

    def encode_body(self) -> bytes:
        return self.body

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        return cls(body)


def test_later_issues_extend_the_codec_without_touching_it() -> None:
    codec = SESSION_FRAMES.extended(Envelope)
    assert codec.decode(codec.encode(Envelope(b"x"))) == Envelope(b"x")
    assert codec.decode(SESSION_FRAMES.encode(Ping(1, 1))) == Ping(1, 1)
    with pytest.raises(FrameError):
        SESSION_FRAMES.decode(codec.encode(Envelope(b"x")))  # the base codec is unchanged
    with pytest.raises(FrameError):
        codec.decode(b"\x01\x10" + bytes(101))  # its bound applies
    with pytest.raises(LocalProtocolError):
        SESSION_FRAMES.encode(Envelope(b"x"))
    assert Envelope in codec and Envelope not in SESSION_FRAMES


def test_a_codec_refuses_taken_or_reserved_codes() -> None:
    @dataclass(frozen=True, slots=True)
    class Impostor(Envelope):
        TYPE: ClassVar[int] = 0x02  # DATA's

    @dataclass(frozen=True, slots=True)
    class ProofLike(Envelope):
        TYPE: ClassVar[int] = 0x08

    for cls in (Impostor, ProofLike, Envelope):
        codec = SESSION_FRAMES.extended(Envelope) if cls is Envelope else SESSION_FRAMES
        with pytest.raises(LocalProtocolError):
            codec.extended(cls)


def test_a_connection_needs_the_control_frames() -> None:
    from hotline.session import Connection, SessionConfig

    from ..handshake.stations import make_station, pair

    alice, bob = make_station(1), make_station(2)
    config = SessionConfig(alice.creds, pair(alice, bob)[0], codec=FrameCodec([Hello, Data]))
    with pytest.raises(LocalProtocolError):
        Connection.connect(config, 0.0)


@pytest.mark.parametrize("char", FORBIDDEN_IN_CLOSE_TEXT, ids=lambda c: f"U+{ord(c):04X}")
def test_close_text_cannot_carry_a_control_or_bidi_character(char: str) -> None:
    """CLOSE text ends up in the peer's log: a newline would forge a line, an escape sequence
    or a bidi override would disguise one. Refused when sent and when received."""
    text = f"bye{char}2026-11-25T10:00:00.000Z info line up peer=moscow"
    with pytest.raises(LocalProtocolError):
        SESSION_FRAMES.encode(Close(CloseReason.NORMAL, text))
    raw = text.encode("utf-8")[:MAX_CLOSE_TEXT_LEN]
    with pytest.raises(FrameError, match="control or bidirectional"):
        SESSION_FRAMES.decode(b"\x01\x07\x00" + bytes([len(raw)]) + raw)


@pytest.mark.parametrize("text", ["été à Genève", "Москва", "東京", "\u200d", "tab-free"])
def test_close_text_may_be_any_other_text(text: str) -> None:
    frame = Close(CloseReason.GOING_AWAY, text)
    assert SESSION_FRAMES.decode(SESSION_FRAMES.encode(frame)) == frame
