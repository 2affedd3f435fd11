"""In-band rekey: the next handshake runs inside the current session, then a marked key switch.

A session's keys are replaced every two minutes without a new connection and without losing or
reordering a frame. The four flights of the next handshake travel as REKEY frames under the
current keys; the new keys take over at a SWITCH frame, the last frame each side sends under the
old keys. TCP delivers in order, so the receiver knows exactly which frame is the last old one.

    rekey initiator X                               rekey responder Y
    REKEY(msg1, id)                        ──►
                                           ◄──      REKEY(msg2, id)
    REKEY(initiator proof, id)             ──►      (verifies X, signs)
                                           ◄──      REKEY(responder proof, id)
    (verifies Y) SWITCH(id); send with new ──►      receive with new; SWITCH(id); send with new
                                           ◄──
    receive with new

Rules:

1. Only one next handshake at a time (``pending``, then ``next`` until both directions switched).
2. Who starts: the side that initiated the current session, ``REKEY_AFTER_TIME`` after it was
   established, and either side once it sent ``REKEY_AFTER_MESSAGES`` under the current keys
   (checked after every send, not only when a timer fires); the other side at
   ``RESPONDER_REKEY_AFTER_TIME``, as a fallback. An attempt not finished after
   ``REKEY_TIMEOUT`` is started again with a fresh msg1; flights of the abandoned attempt (an
   older ``id``) are then ignored.
3. Crossing msg1s (both sides started): the attempt whose initiator has the lower static key
   goes on; the other side drops its own attempt and answers.
4. A new session is used only after both proofs verified. The responder switches its sending
   keys only after the initiator's SWITCH, so an initiator that abandoned the attempt (rule 2)
   never sees a SWITCH it cannot follow.
5. A SWITCH that does not name the completed next handshake is a protocol error, and so is a
   REKEY msg1 whose timestamp is not the ``id`` of its frame (checked right after decrypting
   msg1, before the responder's KEM work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hotline.constants import REKEY_AFTER_MESSAGES
from hotline.handshake import Established, Initiator, Responder, Role, Stage
from hotline.noise import CipherState, RemoteProtocolError

from ._events import Event, SessionEstablished
from ._frames import Flight, Frame, Rekey, Switch
from ._handshakes import Handshakes
from ._timing import SessionTiming


@dataclass(frozen=True, slots=True, repr=False)
class Epoch:
    """One session's keys as this side holds them, and when they were established.

    Attributes:
        session: the handshake result: keys, hash, our role, id.
        established_at: ``now`` when both proofs had verified on this side.
        timing: the connection's timers (:attr:`SessionConfig.timing`).
    """

    session: Established
    established_at: float
    timing: SessionTiming

    def __repr__(self) -> str:
        return f"Epoch(id={self.handshake_id}, at={self.established_at})"

    @property
    def handshake_id(self) -> int:
        """The msg1 timestamp of the handshake that made this session."""
        return self.session.timestamp

    @property
    def send(self) -> CipherState:
        """The sending CipherState."""
        return self.session.transport.send

    @property
    def receive(self) -> CipherState:
        """The receiving CipherState."""
        return self.session.transport.receive

    def rekey_at(self) -> float:
        """When this side should start replacing this session (rule 2)."""
        timing = self.timing
        initiator = self.session.role is Role.INITIATOR
        after = timing.rekey_after if initiator else timing.responder_rekey_after
        return self.established_at + after

    def reject_at(self) -> float:
        """When this session's keys must no longer be used."""
        return self.established_at + self.timing.reject_after


class Rekeyer:
    """The keys one connection sends and receives with, and the handshake that replaces them.

    ``send`` and ``receive`` are the same epoch except between the two SWITCH frames.
    """

    __slots__ = (
        "_emit",
        "_handshakes",
        "_send_frame",
        "next",
        "pending",
        "pending_since",
        "receive",
        "send",
    )

    def __init__(
        self,
        first: Epoch,
        handshakes: Handshakes,
        send_frame: Callable[[Frame], None],
        emit: Callable[[Event], None],
    ) -> None:
        """Start with the connection's first session.

        Args:
            first: the session the connection's own handshake established.
            handshakes: makes the next handshakes.
            send_frame: encrypts and queues a frame under ``send`` *at the time of the call*.
            emit: queues an event for the caller.
        """
        self.send = first
        self.receive = first
        self.next: Epoch | None = None
        self.pending: Initiator | Responder | None = None
        #: When our attempt in ``pending`` started (only an initiator's attempt is retried).
        self.pending_since = 0.0
        self._handshakes = handshakes
        self._send_frame = send_frame
        self._emit = emit

    def __repr__(self) -> str:
        return f"Rekeyer(send={self.send!r}, receive={self.receive!r}, next={self.next!r})"

    # --- Timers --------------------------------------------------------------------------------

    def reject_at(self) -> float:
        """When the older of the keys in use expires; the connection closes then."""
        return min(self.send.reject_at(), self.receive.reject_at())

    def rekey_deadline(self) -> float | None:
        """When :meth:`handle_timer` may start or restart a handshake, if ever."""
        if self.next is not None:
            return None  # switching: the peer's SWITCH is on its way
        if isinstance(self.pending, Initiator):
            return self.pending_since + self._handshakes.timing.rekey_timeout
        if self.pending is not None:
            return None  # answering: the initiator's timers drive this attempt
        if self.send.send.nonce >= REKEY_AFTER_MESSAGES:
            return self.send.established_at  # overdue: fire at the next chance
        return self.send.rekey_at()

    def handle_timer(self, now: float) -> None:
        """Start a rekey when due (by time or by messages sent), or restart one that timed out.

        The connection calls this from its timer and after everything it sends, so a rekey by
        message count starts at the send that reaches ``REKEY_AFTER_MESSAGES``.
        """
        deadline = self.rekey_deadline()
        if deadline is not None and now >= deadline:
            self._start(now)

    def _start(self, now: float) -> None:
        initiator, message = self._handshakes.initiate(now)
        self.pending = initiator
        self.pending_since = now
        self._send_frame(Rekey(Flight.MSG1, initiator.timestamp, message))

    # --- Frames --------------------------------------------------------------------------------

    def receive_rekey(self, frame: Rekey, now: float) -> None:
        """Handle one flight of the next handshake.

        Raises:
            RemoteProtocolError: the flight is malformed, fails, or is out of turn.
        """
        if frame.flight is Flight.MSG1:
            self._receive_msg1(frame, now)
        elif frame.flight is Flight.INITIATOR_PROOF:
            self._receive_initiator_proof(frame, now)
        else:
            initiator = self._initiator_for(frame)
            if initiator is None:
                return  # a flight of an attempt we abandoned (rule 2)
            if frame.flight is Flight.MSG2:
                proof = initiator.receive_msg2(frame.message)
                self._send_frame(Rekey(Flight.INITIATOR_PROOF, frame.handshake_id, proof))
            else:
                established = initiator.receive_proof(frame.message)
                self.next = Epoch(established, now, self._handshakes.timing)
                self.pending = None
                self._send_frame(Switch(self.next.handshake_id))
                self.send = self.next

    def receive_switch(self, frame: Switch) -> None:
        """The peer's last frame under the old keys: receive with the new ones from now on.

        Raises:
            RemoteProtocolError: no completed handshake has that id (rule 5).
        """
        new = self.next
        if new is None or new.handshake_id != frame.handshake_id or self.receive is new:
            raise RemoteProtocolError("SWITCH without a completed rekey handshake")
        self.receive = new
        if self.send is not new:  # we answered this rekey: switch our side now (rule 4)
            self._send_frame(Switch(new.handshake_id))
            self.send = new
        self.next = None
        self._emit(SessionEstablished(new.session.handshake_hash, new.session.role, rekey=True))

    def _receive_msg1(self, frame: Rekey, now: float) -> None:
        if self.next is not None and self.send is self.next:
            raise RemoteProtocolError("msg1 before the SWITCH of the previous rekey")
        if isinstance(self.pending, Initiator):
            if self._handshakes.wins_crossing:
                return  # crossing msg1s: ours goes on, the peer will answer it (rule 3)
            self.pending = None
        # Anything else pending was the peer's own earlier attempt, now superseded.
        self.next = None
        responder, reply = self._handshakes.respond(
            frame.message, now, handshake_id=frame.handshake_id
        )
        self.pending = responder
        self._send_frame(Rekey(Flight.MSG2, frame.handshake_id, reply))

    def _receive_initiator_proof(self, frame: Rekey, now: float) -> None:
        responder = self.pending
        if (
            not isinstance(responder, Responder)
            or responder.stage is not Stage.AWAIT_INITIATOR_PROOF
            or responder.timestamp != frame.handshake_id
        ):
            raise RemoteProtocolError("initiator proof out of turn")
        proof, session = responder.receive_proof(frame.message)
        self.pending = None
        self.next = Epoch(session, now, self._handshakes.timing)
        self._send_frame(Rekey(Flight.RESPONDER_PROOF, frame.handshake_id, proof))

    def _initiator_for(self, frame: Rekey) -> Initiator | None:
        """Our attempt this msg2 or responder proof answers; ``None`` if it answers an older one.

        Raises:
            RemoteProtocolError: it answers nothing we started.
        """
        initiator = self.pending
        if not isinstance(initiator, Initiator):
            raise RemoteProtocolError(f"{frame.flight.name} without a rekey of ours")
        if frame.handshake_id < initiator.timestamp:
            return None
        expected = Stage.AWAIT_MSG2 if frame.flight is Flight.MSG2 else Stage.AWAIT_RESPONDER_PROOF
        if frame.handshake_id != initiator.timestamp or initiator.stage is not expected:
            raise RemoteProtocolError(f"{frame.flight.name} out of turn")
        return initiator
