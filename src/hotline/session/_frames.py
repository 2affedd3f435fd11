"""Session frames: the typed plaintext of every transport message, and their strict codec.

    frame = version (1: 0x01) || type (1) || body

One transport message carries exactly one frame. Every body has a named maximum size and an
exact layout; a frame is refused (``FrameError``) if its version or type is unknown, its body is
too long or too short, or any byte is left over. The codec is a :class:`FrameCodec` built from
frame classes, so a later issue adds its frame types (envelope, receipt, ...) by extending the
codec, without touching the session's receive loop.

Parsing uses a cursor (:class:`FrameReader`) that checks each length before it reads, as
aioquic's ``Buffer`` does; it is public so that later issues parse their bodies the same way.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, Self, TypeVar

from hotline.constants import (
    FRAME_CLOSE,
    FRAME_DATA,
    FRAME_HEADER_LEN,
    FRAME_HELLO,
    FRAME_PING,
    FRAME_PONG,
    FRAME_PROOF,
    FRAME_REKEY,
    FRAME_SWITCH,
    FRAME_VERSION,
    MAX_CLOSE_TEXT_LEN,
    MAX_DATA_LEN,
    MAX_FRAME_BODY_LEN,
    MAX_HELLO_LEN,
    MSG1_LEN,
    MSG2_LEN,
    PROOF_LEN,
)
from hotline.noise import LocalProtocolError

from ._errors import FrameError

_U64_MAX: Final = 2**64 - 1

#: Characters CLOSE text may not hold. The text ends up in the operator's log, so nothing in it
#: may end a line or rewrite how one looks: the C0 controls (newline, carriage return, escape),
#: DEL and the C1 controls (NEL, CSI), the Unicode line and paragraph separators, and the
#: bidirectional controls that can make a log line read differently from its bytes (LRE, RLE,
#: PDF, LRO, RLO; LRI, RLI, FSI, PDI; LRM, RLM; the Arabic letter mark).
CLOSE_TEXT_FORBIDDEN: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)

_Code = TypeVar("_Code", bound=enum.IntEnum)


class FrameReader:
    """A cursor over one frame body: every pull checks its length first.

    Raises:
        FrameError: (from every pull) fewer bytes left than asked for; (from :meth:`end`)
            bytes left over.
    """

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def pull_bytes(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise FrameError("frame body is too short")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def pull_u8(self) -> int:
        return self.pull_bytes(1)[0]

    def pull_u16(self) -> int:
        return int.from_bytes(self.pull_bytes(2), "big")

    def pull_u32(self) -> int:
        return int.from_bytes(self.pull_bytes(4), "big")

    def pull_u64(self) -> int:
        return int.from_bytes(self.pull_bytes(8), "big")

    def pull_code(self, kind: type[_Code], what: str) -> _Code:
        """Pull one byte that must be a member of ``kind``."""
        code = self.pull_u8()
        try:
            return kind(code)
        except ValueError:
            raise FrameError(f"unknown {what} {code}") from None

    def pull_rest(self) -> bytes:
        return self.pull_bytes(len(self._data) - self._pos)

    def end(self) -> None:
        """Refuse trailing bytes."""
        if self._pos != len(self._data):
            raise FrameError(f"{len(self._data) - self._pos} trailing bytes after the frame body")


def _u64(value: int, what: str) -> bytes:
    if not 0 <= value <= _U64_MAX:
        raise LocalProtocolError(f"{what} must fit in 64 bits")
    return value.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class Frame:
    """Base of every frame type.

    Class attributes:
        TYPE: the type byte on the wire (from :mod:`hotline.constants`).
        MAX_BODY: the largest body this type may have; checked before parsing.
        CONTROL: the session handles the frame itself; the application never sends or sees it.
    """

    TYPE: ClassVar[int]
    MAX_BODY: ClassVar[int]
    CONTROL: ClassVar[bool] = False

    def encode_body(self) -> bytes:
        """Return the body bytes (the header is the codec's job)."""
        raise NotImplementedError

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        """Parse a body of at most ``MAX_BODY`` bytes.

        Raises:
            FrameError: the body does not have this type's exact layout.
        """
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _Opaque(Frame):
    """The layout HELLO and DATA share: the body is opaque bytes, up to ``MAX_BODY``.

    Attributes:
        body: the bytes.
    """

    body: bytes = b""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self.body)} bytes>)"

    def encode_body(self) -> bytes:
        if len(self.body) > self.MAX_BODY:
            raise LocalProtocolError(f"{type(self).__name__} body exceeds {self.MAX_BODY} bytes")
        return self.body

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        return cls(body)


@dataclass(frozen=True, slots=True, repr=False)
class Hello(_Opaque):
    """Opens the conversation on a fresh session; later issues put the sync heads in its body
    (at most ``MAX_HELLO_LEN`` bytes)."""

    TYPE: ClassVar[int] = FRAME_HELLO
    MAX_BODY: ClassVar[int] = MAX_HELLO_LEN


@dataclass(frozen=True, slots=True, repr=False)
class Data(_Opaque):
    """Opaque application bytes, as many as fit in one frame (``MAX_DATA_LEN``)."""

    TYPE: ClassVar[int] = FRAME_DATA
    MAX_BODY: ClassVar[int] = MAX_DATA_LEN


@dataclass(frozen=True, slots=True)
class _Heartbeat(Frame):
    """The layout PING and PONG share: ``ping_id (u64) || time_ms (u64)``.

    Attributes:
        ping_id: chosen by the pinger, echoed by the pong.
        time_ms: the sender's wall clock in ms (for RTT and clock-skew estimates).
    """

    MAX_BODY: ClassVar[int] = 16
    CONTROL: ClassVar[bool] = True

    ping_id: int
    time_ms: int

    def encode_body(self) -> bytes:
        return _u64(self.ping_id, "ping id") + _u64(self.time_ms, "time")

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        frame = cls(reader.pull_u64(), reader.pull_u64())
        reader.end()
        return frame


@dataclass(frozen=True, slots=True)
class Ping(_Heartbeat):
    """A heartbeat; the session answers each with a :class:`Pong` echoing ``ping_id``."""

    TYPE: ClassVar[int] = FRAME_PING


@dataclass(frozen=True, slots=True)
class Pong(_Heartbeat):
    """The answer to a :class:`Ping`; ``time_ms`` is the answering side's clock."""

    TYPE: ClassVar[int] = FRAME_PONG


class Flight(enum.IntEnum):
    """The four flights of a handshake, as numbered inside a REKEY frame."""

    MSG1 = 1
    MSG2 = 2
    INITIATOR_PROOF = 3
    RESPONDER_PROOF = 4


#: Each flight has one exact size (handshake messages are fixed-size, as in WireGuard).
FLIGHT_LEN: Final[Mapping[Flight, int]] = {
    Flight.MSG1: MSG1_LEN,
    Flight.MSG2: MSG2_LEN,
    Flight.INITIATOR_PROOF: PROOF_LEN,
    Flight.RESPONDER_PROOF: PROOF_LEN,
}


@dataclass(frozen=True, slots=True)
class Rekey(Frame):
    """One flight of the next handshake, carried inside the current session.

    Attributes:
        flight: which of the four flights ``message`` is.
        handshake_id: the msg1 timestamp of the handshake it belongs to, so a flight of an
            abandoned attempt is recognised as such.
        message: the flight, exactly as it would travel on a fresh connection.
    """

    TYPE: ClassVar[int] = FRAME_REKEY
    MAX_BODY: ClassVar[int] = 1 + 8 + PROOF_LEN
    CONTROL: ClassVar[bool] = True

    flight: Flight
    handshake_id: int
    message: bytes

    def __repr__(self) -> str:
        return f"Rekey({self.flight.name}, id={self.handshake_id})"

    def encode_body(self) -> bytes:
        if len(self.message) != FLIGHT_LEN[self.flight]:
            raise LocalProtocolError(f"{self.flight.name} is {FLIGHT_LEN[self.flight]} bytes")
        return bytes([self.flight]) + _u64(self.handshake_id, "handshake id") + self.message

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        flight = reader.pull_code(Flight, "handshake flight")
        handshake_id = reader.pull_u64()
        message = reader.pull_bytes(FLIGHT_LEN[flight])
        reader.end()
        return cls(flight, handshake_id, message)


@dataclass(frozen=True, slots=True)
class Switch(Frame):
    """The last frame under the old keys: everything after it uses handshake ``handshake_id``.

    Attributes:
        handshake_id: the msg1 timestamp of the handshake whose keys take over.
    """

    TYPE: ClassVar[int] = FRAME_SWITCH
    MAX_BODY: ClassVar[int] = 8
    CONTROL: ClassVar[bool] = True

    handshake_id: int

    def encode_body(self) -> bytes:
        return _u64(self.handshake_id, "handshake id")

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        frame = cls(reader.pull_u64())
        reader.end()
        return frame


class CloseReason(enum.IntEnum):
    """Why a connection ended: the code in a CLOSE frame, and in ``ConnectionTerminated``."""

    NORMAL = 0  #: the application closed it
    GOING_AWAY = 1  #: the station is shutting down
    PROTOCOL_ERROR = 2  #: the peer broke the protocol
    SESSION_EXPIRED = 3  #: no rekey completed before ``REJECT_AFTER_TIME`` or the message limit
    HANDSHAKE_TIMEOUT = 4  #: the handshake did not finish within ``HANDSHAKE_DEADLINE``
    REPLACED = 5  #: another connection to the same peer won (crossing dials)


@dataclass(frozen=True, slots=True)
class Close(Frame):
    """The last frame a side sends.

    Attributes:
        reason: why.
        text: one short line for the peer's log (at most ``MAX_CLOSE_TEXT_LEN`` UTF-8 bytes,
            none of them in ``CLOSE_TEXT_FORBIDDEN``: it cannot forge or disguise a log line).
    """

    TYPE: ClassVar[int] = FRAME_CLOSE
    MAX_BODY: ClassVar[int] = 2 + MAX_CLOSE_TEXT_LEN
    CONTROL: ClassVar[bool] = True

    reason: CloseReason
    text: str = ""

    def encode_body(self) -> bytes:
        text = self.text.encode("utf-8")
        if len(text) > MAX_CLOSE_TEXT_LEN:
            raise LocalProtocolError(f"close text exceeds {MAX_CLOSE_TEXT_LEN} UTF-8 bytes")
        if CLOSE_TEXT_FORBIDDEN.search(self.text):
            raise LocalProtocolError("close text holds a control or bidirectional character")
        return bytes([self.reason, len(text)]) + text

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        reader = FrameReader(body)
        reason = reader.pull_code(CloseReason, "close reason")
        length = reader.pull_u8()
        if length > MAX_CLOSE_TEXT_LEN:
            raise FrameError("close text is too long")
        raw = reader.pull_bytes(length)
        reader.end()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError("close text is not UTF-8") from None
        if CLOSE_TEXT_FORBIDDEN.search(text):
            raise FrameError("close text holds a control or bidirectional character")
        return cls(reason, text)


#: Type codes no frame class may take: PROOF frames open a session and are parsed by the
#: handshake (:mod:`hotline.handshake._proof`); inside a session one is refused as unknown.
RESERVED_TYPES: Final = frozenset({FRAME_PROOF})


class FrameCodec:
    """Encodes frames and decodes them strictly, for a fixed set of frame types.

    Immutable: :meth:`extended` returns a new codec with more types, so a later issue builds
    ``SESSION_FRAMES.extended(Envelope, Receipt)`` and hands it to its connections.
    """

    __slots__ = ("_types",)

    def __init__(self, frame_types: Iterable[type[Frame]]) -> None:
        """Build a codec for ``frame_types``.

        Raises:
            LocalProtocolError: two classes share a type code, a code is reserved, or a
                ``MAX_BODY`` does not fit in one frame.
        """
        types: dict[int, type[Frame]] = {}
        for cls in frame_types:
            if cls.TYPE in types or cls.TYPE in RESERVED_TYPES or not 0 <= cls.TYPE <= 0xFF:
                raise LocalProtocolError(f"frame type {cls.TYPE:#04x} is taken or reserved")
            if not 0 <= cls.MAX_BODY <= MAX_FRAME_BODY_LEN:
                raise LocalProtocolError(f"{cls.__name__}.MAX_BODY does not fit in a frame")
            types[cls.TYPE] = cls
        self._types: Mapping[int, type[Frame]] = types

    def __repr__(self) -> str:
        return f"FrameCodec({', '.join(cls.__name__ for cls in self._types.values())})"

    def __contains__(self, frame_type: object) -> bool:
        return (
            isinstance(frame_type, type)
            and self._types.get(getattr(frame_type, "TYPE", -1)) is frame_type
        )

    def extended(self, *frame_types: type[Frame]) -> FrameCodec:
        """Return a codec for these types and ``frame_types``.

        Raises:
            LocalProtocolError: a type code is already taken or reserved.
        """
        return FrameCodec([*self._types.values(), *frame_types])

    def encode(self, frame: Frame) -> bytes:
        """Return ``version || type || body``.

        Raises:
            LocalProtocolError: the frame's type is not in this codec, or a field is too big.
        """
        if self._types.get(frame.TYPE) is not type(frame):
            raise LocalProtocolError(f"{type(frame).__name__} is not a frame of this codec")
        return bytes([FRAME_VERSION, frame.TYPE]) + frame.encode_body()

    def decode(self, data: bytes) -> Frame:
        """Parse one frame: the whole plaintext of one transport message.

        Raises:
            FrameError: unknown version or type, body too long, malformed, or trailing bytes.
        """
        if len(data) < FRAME_HEADER_LEN:
            raise FrameError("frame shorter than its header")
        if data[0] != FRAME_VERSION:
            raise FrameError(f"unknown frame version {data[0]}")
        cls = self._types.get(data[1])
        if cls is None:
            raise FrameError(f"unknown frame type {data[1]:#04x}")
        body = data[FRAME_HEADER_LEN:]
        if len(body) > cls.MAX_BODY:
            raise FrameError(f"{cls.__name__} body of {len(body)} bytes exceeds {cls.MAX_BODY}")
        return cls.decode_body(body)


#: The frames of this issue. Later issues extend it.
SESSION_FRAMES: Final = FrameCodec([Hello, Data, Ping, Pong, Rekey, Switch, Close])
