"""One Hotline connection over one stream: handshake, proofs, frames, rekey. Sans-IO.

As aioquic's ``QuicConnection``: the caller feeds received bytes with ``receive_data(data,
now)``, drains ``next_event()``, sends what ``data_to_send()`` returns, and calls
``handle_timer(now)`` at ``get_timer()``. The object never reads a clock or touches a socket.

Rules:

1. States: ``HANDSHAKE`` → ``ESTABLISHED`` → ``CLOSED``; any exception, of any type, moves to
   ``ERROR`` for good and is re-raised (h11's rule), and the caller drops the stream. No reply
   is sent for a peer's error.
2. Until both proofs verified, only the four handshake flights are accepted, each of its exact
   size (checked on the length prefix, before buffering the message). No frame is parsed, no
   event but the timestamp ones is emitted, and ``send_*`` refuses.
3. After that, each message is one transport message holding one frame. Application frames
   come out as ``FrameReceived``; control frames (PING, PONG, REKEY, SWITCH, CLOSE) are handled
   here. A frame that fails to decrypt or parse ends the connection; a failed decrypt does not
   advance the nonce.
4. ``now`` is the wall clock (seconds since the Unix epoch): the msg1 timestamps and the ping
   times are wall-clock values, and one clock keeps the interface simple. A clock step only
   moves a rekey earlier or later; ``REJECT_AFTER_TIME`` on the peer still bounds a session.
   Every method that receives or sends takes ``now`` and checks it (finite, non-negative)
   before anything else.
5. Deadlines hold whether or not the caller's timer fired: every ``receive_data``, send and
   ``handle_timer`` first closes the connection if, at ``now``, the handshake deadline or the
   keys' ``REJECT_AFTER_TIME`` has passed, before it decrypts or encrypts anything.
6. A session that has sent ``REJECT_AFTER_MESSAGES`` messages under one key closes at once
   (``SESSION_EXPIRED``), as at its time limit; no nonce at or above the limit is ever used.
   Each step of this object sends at most one frame before the limit is checked again.
"""

from __future__ import annotations

import contextlib
import enum
import math
from collections import deque
from collections.abc import Iterator
from typing import Final

from hotline.constants import (
    FRAME_HEADER_LEN,
    LENGTH_PREFIX_LEN,
    MAX_NOISE_MESSAGE_LEN,
    MAX_OUTSTANDING_PINGS,
    MSG1_LEN,
    MSG2_LEN,
    PROOF_LEN,
    REJECT_AFTER_MESSAGES,
    REKEY_AFTER_MESSAGES,
)
from hotline.handshake import Established, Initiator, PairedPeer, Responder, Stage
from hotline.noise import LocalProtocolError, RemoteProtocolError

from ._events import (
    ConnectionTerminated,
    Event,
    FrameReceived,
    PingReceived,
    PongReceived,
    SessionEstablished,
)
from ._frames import Close, CloseReason, Data, Frame, Hello, Ping, Pong, Rekey, Switch
from ._handshakes import Handshakes, SessionConfig
from ._rekey import Epoch, Rekeyer
from ._timing import check_now
from ._wire import ReceiveBuffer, with_length

#: The smallest transport message: a frame header and the AEAD tag.
_MIN_TRANSPORT_LEN = FRAME_HEADER_LEN + 16

#: ``receive_data`` feeds its buffer at most this much at a time (one largest message and its
#: prefix), so the buffer never holds more than one incomplete message plus one such slice,
#: however large a chunk the caller hands in (see :mod:`._wire`).
FEED_SLICE: Final = LENGTH_PREFIX_LEN + MAX_NOISE_MESSAGE_LEN

#: Frames the session itself must be able to send and parse.
_CONTROL_FRAMES = (Ping, Pong, Rekey, Switch, Close)


class ConnectionState(enum.Enum):
    """Where a connection is."""

    HANDSHAKE = "handshake"  #: flights and proofs in progress
    ESTABLISHED = "established"  #: both proofs verified; frames flow
    CLOSED = "closed"  #: ended in order (CLOSE sent or received, or a timer)
    ERROR = "error"  #: ended by an error; the stream must be dropped


class Connection:
    """A sans-IO Hotline connection with one paired peer."""

    __slots__ = (
        "_buffer",
        "_codec",
        "_config",
        "_created_at",
        "_events",
        "_handshake",
        "_handshakes",
        "_next_ping_id",
        "_outgoing",
        "_pings",
        "_rekeyer",
        "_state",
    )

    def __init__(self, config: SessionConfig, now: float) -> None:
        """Use :meth:`connect` or :meth:`accept`."""
        for cls in _CONTROL_FRAMES:
            if cls not in config.codec:
                raise LocalProtocolError(f"the codec lacks the control frame {cls.__name__}")
        self._config = config
        self._codec = config.codec
        self._created_at = check_now(now)
        self._state = ConnectionState.HANDSHAKE
        self._buffer = ReceiveBuffer()
        self._outgoing = bytearray()
        self._events: deque[Event] = deque()
        self._handshakes = Handshakes(config, self._events.append)
        self._handshake: Initiator | Responder | None = None
        self._rekeyer: Rekeyer | None = None
        self._pings: dict[int, float] = {}
        self._next_ping_id = 1

    @classmethod
    def connect(cls, config: SessionConfig, now: float) -> Connection:
        """Open a connection as initiator: msg1 is ready in :meth:`data_to_send` at once.

        Args:
            config: our keys, the peer, the peer's shared timestamps.
            now: the wall clock, seconds since the Unix epoch.

        Raises:
            LocalProtocolError: a bad ``now``, codec or stored timestamp.
        """
        connection = cls(config, now)
        connection._handshake, message = connection._handshakes.initiate(now)
        connection._outgoing += with_length(message)
        return connection

    @classmethod
    def accept(cls, config: SessionConfig, now: float) -> Connection:
        """Answer a connection whose first message named ``config.peer`` (see ``Acceptor``).

        Args:
            config: our keys, the identified peer, the peer's shared timestamps.
            now: the wall clock, seconds since the Unix epoch; the handshake deadline counts
                from it.

        Raises:
            LocalProtocolError: a bad ``now`` or codec.
        """
        return cls(config, now)

    def __repr__(self) -> str:
        return f"Connection({self._state.value}, {self._config.peer!r})"

    # --- State ---------------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """Where the connection is."""
        return self._state

    @property
    def peer(self) -> PairedPeer:
        """The paired peer at the other end."""
        return self._config.peer

    @property
    def handshake_hash(self) -> bytes | None:
        """The channel binding of the session we send with, once established."""
        if self._rekeyer is None:
            return None
        return self._rekeyer.send.session.handshake_hash

    # --- Input ---------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Take bytes received from the stream and act on every whole message in them.

        If a deadline has passed at ``now`` (rule 5), the connection closes instead and reads
        nothing. Events produced before an error stay queued for :meth:`next_event`.

        Args:
            data: the bytes, in stream order, split anywhere.
            now: the wall clock, seconds since the Unix epoch.

        Raises:
            RemoteProtocolError: the peer broke the protocol (a subclass names how: a bad
                frame, a failed decrypt, a replayed msg1, a proof that does not verify...). The
                connection is then in ``ERROR``.
            LocalProtocolError: ``now`` is not a usable clock (the connection is then in
                ``ERROR``), or the connection was already in ``ERROR``.
        """
        if self._state is ConnectionState.ERROR:
            raise LocalProtocolError("the connection is in ERROR")
        if self._state is ConnectionState.CLOSED:
            return  # the stream is being dropped; nothing more is read
        with self._errors_end_the_connection():
            check_now(now)
            if self._expire(now):
                return
            view = memoryview(data)
            for start in range(0, len(view), FEED_SLICE):
                self._buffer.feed(view[start : start + FEED_SLICE])
                self._receive_messages(now)
                if not self._is_open():
                    break
            self._rekey_if_worn(now)
        if not self._is_open():
            self._buffer.take()  # a CLOSE arrived: whatever follows it is never read

    def handle_timer(self, now: float) -> None:
        """Act on the deadline :meth:`get_timer` named: close, or start or retry a rekey.

        Args:
            now: the wall clock, seconds since the Unix epoch.

        Raises:
            LocalProtocolError: ``now`` is not a usable clock (the connection is then in
                ``ERROR``).
        """
        if not self._is_open():
            return
        with self._errors_end_the_connection():
            check_now(now)
            if self._expire(now) or self._state is not ConnectionState.ESTABLISHED:
                return
            self._require_rekeyer().handle_timer(now)
            self._check_message_limit()

    # --- Output --------------------------------------------------------------------------------

    def next_event(self) -> Event | None:
        """Return the next event, or ``None`` when there is none."""
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes to write to the stream."""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called, or ``None``."""
        if self._state is ConnectionState.HANDSHAKE:
            return self._created_at + self._config.timing.handshake_deadline
        if self._state is ConnectionState.ESTABLISHED:
            rekeyer = self._require_rekeyer()
            deadlines = [rekeyer.reject_at(), rekeyer.rekey_deadline()]
            return min(d for d in deadlines if d is not None)
        return None

    # --- Sending -------------------------------------------------------------------------------

    def send_frame(self, frame: Frame, now: float) -> None:
        """Encrypt and queue an application frame.

        Args:
            frame: an application frame of this connection's codec.
            now: the wall clock, seconds since the Unix epoch.

        Raises:
            LocalProtocolError: not established (the proofs have not both verified, or the
                connection ended: at ``now`` the session may have just expired, rule 5, and a
                ``ConnectionTerminated`` is then queued), a control frame, a type outside the
                codec, a field too big, or a bad ``now``. The connection is then in ``ERROR``.
        """
        with self._errors_end_the_connection():
            check_now(now)
            self._expire(now)
            if self._state is not ConnectionState.ESTABLISHED:
                raise LocalProtocolError(f"cannot send frames in state {self._state.value}")
            if frame.CONTROL:
                raise LocalProtocolError(f"{type(frame).__name__} is sent by the session only")
            self._send_frame(frame)
            self._check_message_limit()
            self._rekey_if_worn(now)

    def send_hello(self, body: bytes, now: float) -> None:
        """Send a HELLO frame (see :meth:`send_frame`)."""
        self.send_frame(Hello(body), now)

    def send_data(self, payload: bytes, now: float) -> None:
        """Send a DATA frame (see :meth:`send_frame`)."""
        self.send_frame(Data(payload), now)

    def send_ping(self, now: float) -> int:
        """Send a PING; its PONG arrives as ``PongReceived`` with the round-trip time.

        Returns:
            the ping id.

        Raises:
            LocalProtocolError: not established (see :meth:`send_frame`), or a bad ``now``.
        """
        with self._errors_end_the_connection():
            check_now(now)
            self._expire(now)
            if self._state is not ConnectionState.ESTABLISHED:
                raise LocalProtocolError(f"cannot ping in state {self._state.value}")
            ping_id = self._next_ping_id
            self._next_ping_id += 1
            self._send_frame(Ping(ping_id, _ms(now)))
            self._pings[ping_id] = now
            if len(self._pings) > MAX_OUTSTANDING_PINGS:
                del self._pings[next(iter(self._pings))]
            self._check_message_limit()
            self._rekey_if_worn(now)
            return ping_id

    def close(
        self, reason: CloseReason = CloseReason.NORMAL, text: str = "", *, now: float
    ) -> None:
        """End the connection: send CLOSE if a session exists, and go to ``CLOSED``.

        A ``ConnectionTerminated`` event follows. Closing a closed connection does nothing, and
        so does closing one whose session expired at ``now`` (it closes as expired, rule 5).

        Raises:
            LocalProtocolError: ``text`` is too long or holds a control character, a bad
                ``now``, or the connection is in ``ERROR``.
        """
        if self._state is ConnectionState.CLOSED:
            return
        with self._errors_end_the_connection():
            if self._state is ConnectionState.ERROR:
                raise LocalProtocolError("the connection is in ERROR")
            check_now(now)
            if self._expire(now):
                return
            if self._state is ConnectionState.ESTABLISHED:
                self._send_frame(Close(reason, text))
            self._terminate(reason, text)

    # --- Internals -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors_end_the_connection(self) -> Iterator[None]:
        """Move to ``ERROR`` for good on any exception, then let it propagate (rule 1)."""
        try:
            yield
        except Exception:
            self._state = ConnectionState.ERROR
            self._rekeyer = None
            self._handshake = None
            self._buffer.take()
            raise

    def _is_open(self) -> bool:
        return self._state in (ConnectionState.HANDSHAKE, ConnectionState.ESTABLISHED)

    def _require_rekeyer(self) -> Rekeyer:
        if self._rekeyer is None:  # unreachable once ESTABLISHED
            raise LocalProtocolError("no session yet")
        return self._rekeyer

    def _terminate(self, reason: CloseReason, text: str, *, by_peer: bool = False) -> None:
        self._state = ConnectionState.CLOSED
        self._rekeyer = None
        self._handshake = None
        self._events.append(ConnectionTerminated(reason, text, by_peer))

    def _expire(self, now: float) -> bool:
        """Close the connection if a deadline passed at ``now`` (rule 5); return whether it did."""
        if self._state is ConnectionState.HANDSHAKE:
            if now >= self._created_at + self._config.timing.handshake_deadline:
                self._terminate(CloseReason.HANDSHAKE_TIMEOUT, "handshake deadline passed")
                return True
        elif (
            self._state is ConnectionState.ESTABLISHED
            and now >= self._require_rekeyer().reject_at()
        ):
            self._terminate(CloseReason.SESSION_EXPIRED, "no rekey before REJECT_AFTER_TIME")
            return True
        return False

    def _check_message_limit(self) -> None:
        """Close the connection once its sending key has used its last nonce (rule 6)."""
        if (
            self._state is ConnectionState.ESTABLISHED
            and self._require_rekeyer().send.send.nonce >= REJECT_AFTER_MESSAGES
        ):
            self._terminate(CloseReason.SESSION_EXPIRED, "no rekey before REJECT_AFTER_MESSAGES")

    def _rekey_if_worn(self, now: float) -> None:
        """Start a rekey at the send that reached ``REKEY_AFTER_MESSAGES``, not at the next
        timer (the rekeyer's rule 2)."""
        if self._state is ConnectionState.ESTABLISHED:
            rekeyer = self._require_rekeyer()
            if rekeyer.send.send.nonce >= REKEY_AFTER_MESSAGES:
                rekeyer.handle_timer(now)
                self._check_message_limit()

    def _message_bounds(self) -> tuple[int, int]:
        """The sizes the next message may have: exact for a flight, a range for transport."""
        if self._state is ConnectionState.ESTABLISHED:
            return _MIN_TRANSPORT_LEN, MAX_NOISE_MESSAGE_LEN
        handshake = self._handshake
        if handshake is None:
            size = MSG1_LEN
        elif handshake.stage is Stage.AWAIT_MSG2:
            size = MSG2_LEN
        else:
            size = PROOF_LEN
        return size, size

    def _receive_messages(self, now: float) -> None:
        """Act on every whole message buffered; each sends at most one frame (rule 6)."""
        while self._is_open():
            low, high = self._message_bounds()
            message = self._buffer.next_message(low, high)
            if message is None:
                return
            if self._state is ConnectionState.HANDSHAKE:
                self._receive_flight(message, now)
            else:
                self._receive_transport(message, now)
                self._check_message_limit()

    def _receive_flight(self, message: bytes, now: float) -> None:
        handshake = self._handshake
        if handshake is None:
            self._handshake, reply = self._handshakes.respond(message, now)
            self._outgoing += with_length(reply)
        elif isinstance(handshake, Initiator):
            if handshake.stage is Stage.AWAIT_MSG2:
                self._outgoing += with_length(handshake.receive_msg2(message))
            else:
                self._establish(handshake.receive_proof(message), now)
        else:
            proof, session = handshake.receive_proof(message)
            self._outgoing += with_length(proof)
            self._establish(session, now)

    def _establish(self, session: Established, now: float) -> None:
        self._handshake = None
        first = Epoch(session, now, self._config.timing)
        self._rekeyer = Rekeyer(first, self._handshakes, self._send_frame, self._events.append)
        self._state = ConnectionState.ESTABLISHED
        self._events.append(SessionEstablished(session.handshake_hash, session.role, rekey=False))

    def _receive_transport(self, message: bytes, now: float) -> None:
        rekeyer = self._require_rekeyer()
        cipher = rekeyer.receive.receive
        if cipher.nonce >= REJECT_AFTER_MESSAGES:
            raise RemoteProtocolError("the peer went past REJECT_AFTER_MESSAGES without rekeying")
        frame = self._codec.decode(cipher.decrypt_with_ad(b"", message))
        if not frame.CONTROL:
            self._events.append(FrameReceived(frame))
        elif isinstance(frame, Ping):
            self._send_frame(Pong(frame.ping_id, _ms(now)))
            self._events.append(PingReceived(frame.ping_id, frame.time_ms))
        elif isinstance(frame, Pong):
            sent = self._pings.pop(frame.ping_id, None)
            rtt = None if sent is None else now - sent
            self._events.append(PongReceived(frame.ping_id, frame.time_ms, rtt))
        elif isinstance(frame, Rekey):
            rekeyer.receive_rekey(frame, now)
        elif isinstance(frame, Switch):
            rekeyer.receive_switch(frame)
        elif isinstance(frame, Close):
            self._terminate(frame.reason, frame.text, by_peer=True)
        else:  # a control frame this session does not know: a codec bug, not the peer's
            raise LocalProtocolError(f"no handler for control frame {type(frame).__name__}")

    def _send_frame(self, frame: Frame) -> None:
        """Encrypt ``frame`` under the sending keys *now* and queue it."""
        cipher = self._require_rekeyer().send.send
        if cipher.nonce >= REJECT_AFTER_MESSAGES:  # unreachable: rule 6 closed the connection
            raise LocalProtocolError("REJECT_AFTER_MESSAGES reached; the connection is over")
        self._outgoing += with_length(cipher.encrypt_with_ad(b"", self._codec.encode(frame)))


def _ms(now: float) -> int:
    return math.floor(now * 1000)
