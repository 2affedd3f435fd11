"""A hostile peer for station tests: a real, paired station whose line is driven by hand.

Its home is made and paired with the CLI like any other station's, but it is never served:
the test unlocks its keys in this process and runs one :class:`~hotline.line.Line` that dials
the victim (a real ``hotline serve``). Once the session is up, the test speaks the delivery
protocol itself, and may lie: forged heads, broken chains, another envelope for a seq already
receipted, frames of a wrong layout or type, bytes that are no AEAD message at all.

The line's codec carries every delivery frame as raw bytes (:class:`RawFrame`), so any type
code and any body can be sent through the real, encrypted session; what the victim sends is
decoded back with the real codec (:data:`~hotline.delivery.DELIVERY_FRAMES`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, Self, TypeVar

from hotline.constants import MAX_FRAME_BODY_LEN
from hotline.delivery import DELIVERY_FRAMES, Envelopes, HeadFrame, Sync
from hotline.handshake import LocalCredentials, PairedPeer, PeerKeys
from hotline.identity import line_id, normalise_passphrase
from hotline.line import Line, LinePeer, LineState, LineTiming, RefusalLog, SessionProtocol
from hotline.record import (
    GENESIS,
    ChainHead,
    ChainRef,
    ChainWriter,
    Envelope,
    Kind,
    MessageBody,
    Precedence,
    Signer,
    direction_of,
)
from hotline.session import SESSION_FRAMES, Frame, SessionTiming, with_length
from hotline.signatures import SigningKeys
from hotline.station import StationHome

from ..line.nodes import FrameTap, MemoryLedger, wait_for
from .stations import PASSPHRASE, Station

#: Delivery frame types (SYNC 0x10 .. CK_RESEND 0x19), and one no station knows.
DELIVERY_TYPES: Final = range(0x10, 0x1A)
UNKNOWN_TYPE: Final = 0x7E
#: The hostile line's timers: as ``fast()`` gives the stations.
TIMING: Final = LineTiming(ping_interval=0.25, ping_timeout=1.5, dial_backoff_max=1.0)

F = TypeVar("F", bound=Frame)


@dataclass(frozen=True, slots=True)
class RawFrame(Frame):
    """A frame whose body is whatever the test says: its type code is its class's."""

    MAX_BODY: ClassVar[int] = MAX_FRAME_BODY_LEN

    body: bytes

    def encode_body(self) -> bytes:
        return self.body

    @classmethod
    def decode_body(cls, body: bytes) -> Self:
        return cls(body)


def _raw_type(code: int) -> type[RawFrame]:
    return type(f"Raw{code:#04x}", (RawFrame,), {"TYPE": code, "__slots__": ()})


#: One raw class per type code the hostile line speaks.
RAW: Final = {code: _raw_type(code) for code in (*DELIVERY_TYPES, UNKNOWN_TYPE)}
HOSTILE_FRAMES: Final = SESSION_FRAMES.extended(*RAW.values())


def raw(frame: Frame) -> RawFrame:
    """The real frame's type and body, to send through the hostile codec."""
    data = DELIVERY_FRAMES.encode(frame)
    return RAW[data[1]](data[2:])


def decoded(frame: Frame) -> Frame:
    """What the victim sent, as the real codec decodes it."""
    return DELIVERY_FRAMES.decode(HOSTILE_FRAMES.encode(frame))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Hostile:
    """The hostile station's keys, unlocked here, and its view of its line to the victim."""

    def __init__(self, station: Station, victim: Station) -> None:
        unlocked = StationHome.open(station.home).unlock(normalise_passphrase(PASSPHRASE))
        keys = unlocked.keys
        self.local = LocalCredentials(keys.x25519, keys.ed25519, keys.mldsa87)
        self.signer = SigningKeys(keys.ed25519, keys.mldsa87)
        own, theirs = station.card(), victim.card()
        self.name = station.name
        self.line_id = line_id(own, theirs)
        self.direction = direction_of(own.fingerprint.digest, theirs.fingerprint.digest)
        #: The victim's signing keys, from its card: its NACKs and receipts verify with them.
        self.victim_keys = victim.verify_keys()
        peer_keys = PeerKeys(theirs.keys.x25519, self.victim_keys.ed25519, self.victim_keys.mldsa87)
        paired = PairedPeer.derive(self.local, peer_keys, self.line_id)
        # One LinePeer for every session: its msg1 timestamps keep growing across them.
        self.peer = LinePeer(victim.name, paired, (victim.address,))

    def writer(self, tip: ChainRef = GENESIS) -> ChainWriter:
        """A writer of the hostile direction, from ``tip``."""
        return ChainWriter(self.line_id, self.direction, tip=tip)

    def envelope(self, writer: ChainWriter, text: str) -> Envelope:
        """The writer's next envelope: a routine message of ``text``."""
        now = _now_ms()
        return writer.append(
            MessageBody.create(text),
            kind=Kind.MESSAGE,
            precedence=Precedence.ROUTINE,
            queued_at_ms=now,
            sequenced_at_ms=now,
            cross=GENESIS,
        )

    def head(self, writer: ChainWriter, signer: Signer | None = None) -> ChainHead:
        """The head over the writer's tip, signed by ``signer`` (default: its own keys)."""
        return writer.sign_head(signer or self.signer, _now_ms())

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[HostileSession]:
        """Dial the victim; yield the session once it is up and the victim's SYNC arrived."""
        frames: list[Frame] = []
        line = Line(
            self.peer,
            self.local,
            ledger=MemoryLedger(),
            refusals=RefusalLog(TIMING.refusal_log_interval),
            timing=TIMING,
            session_timing=SessionTiming(),
            observer=FrameTap(lambda frame: frames.append(decoded(frame))),
            codec=HOSTILE_FRAMES,
        )
        line.start()
        try:
            await wait_for(lambda: line.state is LineState.UP, 10, "the hostile line up")
            assert line.session is not None
            session = HostileSession(line.session, frames)
            session.sync = await session.next(Sync)
            yield session
        finally:
            await line.stop()


class HostileSession:
    """One session of the hostile line: what the victim sent, and ways to send anything."""

    def __init__(self, protocol: SessionProtocol, frames: list[Frame]) -> None:
        self.protocol = protocol
        #: Every delivery frame the victim sent on this session, decoded, in order.
        self.frames = frames
        self.sync = Sync(GENESIS, GENESIS)

    def send(self, *frames: Frame) -> None:
        """Send real delivery frames, or :class:`RawFrame` of any type and body."""
        self.protocol.send_frames(f if isinstance(f, RawFrame) else raw(f) for f in frames)

    def send_sync(self, sent: ChainRef = GENESIS) -> None:
        """Our SYNC: ``sent`` is our claimed tip; we hold all the victim said it sent."""
        self.send(Sync(sent, self.sync.sent))

    def deliver(self, envelopes: Sequence[Envelope], head: ChainHead | None) -> None:
        """ENVELOPES, then HEAD if given."""
        self.send(Envelopes(tuple(e.encode() for e in envelopes)))
        if head is not None:
            self.send(HeadFrame(head.encode()))

    def write_bytes(self, data: bytes) -> None:
        """A length-prefixed message straight onto the stream: no AEAD, no frame."""
        transport = self.protocol.transport
        assert transport is not None
        transport.write(with_length(data))

    def of(self, kind: type[F]) -> list[F]:
        """The frames of ``kind`` the victim sent so far."""
        return [frame for frame in self.frames if isinstance(frame, kind)]

    async def next(self, kind: type[F], timeout: float = 10.0) -> F:
        """The first frame of ``kind`` the victim sent on this session, once it came."""
        await wait_for(lambda: bool(self.of(kind)), timeout, f"a {kind.__name__} from the victim")
        return self.of(kind)[0]

    async def ended(self, timeout: float = 10.0) -> str:
        """Wait until the victim drops the session; return how it ended, as our side saw it."""
        return await asyncio.wait_for(asyncio.shield(self.protocol.closed), timeout)
