"""The four flights of a Hotline handshake, one sans-IO object per side.

    initiator                                         responder
    msg1 = KKhfs -> e, es, e1, ss  (payload: timestamp) || mac1   ──►
                                 ◄──  msg2 = KKhfs <- e, ee, ekem1, se  (payload: empty)
    proof I = Enc_new(PROOF frame)                                ──►
                                 ◄──  proof R = Enc_new(PROOF frame)

Rules, each checked before the step it guards (as h11's ``_state.py`` states its invariants):

1. Each method belongs to one stage; calling it in another stage is a ``LocalProtocolError``.
2. Any exception, of any type, moves the object to ``ERROR`` for good; it never half-completes
   and is never reused.
3. The responder checks, in this order and before the next costs anything: the exact length of
   msg1 and its mac1 (hashes only), then the two DHs that decrypt msg1, then the timestamp
   (against the handshake id a rekey announced it with, if any; against the last one accepted
   from this peer; against its own clock). Only then does it encapsulate (its one ML-KEM
   operation) and write msg2.
4. The responder signs its proof only after the initiator's proof verified, so an initiator
   that cannot prove its pinned identity never costs an ML-DSA signature.
5. Nothing is handed out (an :class:`Established` session) before both proofs verified (the
   responder: the initiator's proof verified and its own signed). The caller keeps its live
   session until then; a failed handshake leaves it untouched.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hotline.constants import MSG2_LEN, PROOF_LEN
from hotline.noise import (
    HandshakeState,
    Kem,
    LocalProtocolError,
    RemoteProtocolError,
    TransportState,
)

from ._keys import LocalCredentials
from ._mac1 import PairedPeer
from ._proof import Role, sign_proof, verify_proof
from ._suite import PROTOCOL, prologue
from ._timestamps import (
    check_fresh,
    check_timestamp,
    decode_timestamp,
    encode_timestamp,
    next_timestamp,
    now_ms,
    require_timestamp,
)


class Stage(enum.Enum):
    """Where a handshake is: the flight it waits for next, or how it ended."""

    START = "start"  #: initiator, nothing sent yet
    AWAIT_MSG1 = "await msg1"  #: responder, nothing received yet
    AWAIT_MSG2 = "await msg2"  #: initiator sent msg1
    AWAIT_INITIATOR_PROOF = "await initiator proof"  #: responder sent msg2
    AWAIT_RESPONDER_PROOF = "await responder proof"  #: initiator sent its proof
    DONE = "done"  #: both proofs verified (or, for the responder, verified and answered)
    ERROR = "error"  #: a step failed; this object is finished


@dataclass(frozen=True, slots=True, repr=False)
class KatHooks:
    """Test-only inputs that make a handshake deterministic (known-answer tests, cost counting).

    Never set in production: a fixed ephemeral key or KEM seed destroys forward secrecy.

    Attributes:
        ephemeral: raw X25519 private key to use as ``e``.
        kem_seed: 64-byte ML-KEM seed for ``e1`` (initiator).
        kem: a KEM standing in for ML-KEM-1024 (to inject a recorded encapsulation, or count
            calls).
    """

    ephemeral: bytes | None = None
    kem_seed: bytes | None = None
    kem: Kem | None = None

    def __repr__(self) -> str:
        return "KatHooks(<hidden>)"


@dataclass(frozen=True, slots=True, repr=False)
class Established:
    """A session whose two proofs verified: its transport keys and what identifies it.

    Attributes:
        transport: the two CipherStates; each has carried one message (the proof) already.
        handshake_hash: the final Noise handshake hash (64 bytes), the channel binding.
        role: the part we played in this handshake.
        peer: the peer it authenticated.
        timestamp: the msg1 timestamp; it names this handshake on the wire (REKEY, SWITCH).
    """

    transport: TransportState
    handshake_hash: bytes
    role: Role
    peer: PairedPeer
    timestamp: int

    def __repr__(self) -> str:
        return f"Established({self.role.name}, h={self.handshake_hash.hex()[:16]}…)"


@dataclass(slots=True)
class _Keys:
    """What a handshake holds between flights (mutable, private, never in a repr)."""

    noise: HandshakeState | None = field(default=None, repr=False)
    transport: TransportState | None = field(default=None, repr=False)
    handshake_hash: bytes = field(default=b"", repr=False)


class _Side:
    """Shared machinery of the two sides: stage checks, error capture, the Noise state."""

    __slots__ = ("_hooks", "_keys", "local", "peer", "stage", "timestamp")

    role: Role

    def __init__(
        self, local: LocalCredentials, peer: PairedPeer, stage: Stage, hooks: KatHooks | None
    ) -> None:
        self.local = local
        self.peer = peer
        self.stage = stage
        #: The msg1 timestamp (0 until known): the initiator's to persist as last sent, the
        #: responder's to persist as last accepted from this peer.
        self.timestamp = 0
        self._hooks = hooks or KatHooks()
        self._keys = _Keys()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.stage.value}, {self.peer!r})"

    def _expect(self, stage: Stage) -> None:
        if self.stage is not stage:
            problem = f"handshake is at {self.stage.value!r}, not {stage.value!r}"
            self.stage = Stage.ERROR
            raise LocalProtocolError(problem)

    def _new_noise(self) -> HandshakeState:
        """Start the Noise state for this handshake.

        The Noise core takes the static key as raw bytes, not as a key object, so each
        handshake copies the private scalar into a short-lived ``bytes`` (which Python cannot
        wipe) and the core derives our static public key from it again: one fixed-base X25519
        multiplication per handshake, on top of the DHs. Handing the core the pyca key object
        (or a ready ``DhKeyPair``) would avoid both; that is a change to ``hotline.noise``.
        """
        hooks = self._hooks
        return HandshakeState(
            PROTOCOL,
            initiator=self.role is Role.INITIATOR,
            prologue=prologue(self.peer.line_id),
            s=self.local.static.private_bytes_raw(),
            rs=self.peer.keys.static,
            e=hooks.ephemeral,
            e1=hooks.kem_seed,
            kem=hooks.kem,
        )

    def _finish_noise(self, noise: HandshakeState) -> None:
        """Keep the transport keys and the hash; drop the handshake secrets."""
        self._keys = _Keys(transport=noise.split(), handshake_hash=noise.handshake_hash)

    def _transport(self) -> TransportState:
        if self._keys.transport is None:  # unreachable after the stage check; a bug otherwise
            raise LocalProtocolError("no transport keys yet")
        return self._keys.transport

    def _own_proof(self) -> bytes:
        frame = sign_proof(self.local, self.role, self.peer.line_id, self._keys.handshake_hash)
        return self._transport().send.encrypt_with_ad(b"", frame)

    def _check_peer_proof(self, message: bytes) -> None:
        if len(message) != PROOF_LEN:
            raise RemoteProtocolError(f"a proof flight is {PROOF_LEN} bytes")
        frame = self._transport().receive.decrypt_with_ad(b"", message)
        peer_role = Role.RESPONDER if self.role is Role.INITIATOR else Role.INITIATOR
        verify_proof(self.peer.keys, peer_role, self.peer.line_id, self._keys.handshake_hash, frame)

    def _established(self) -> Established:
        self.stage = Stage.DONE
        return Established(
            self._transport(), self._keys.handshake_hash, self.role, self.peer, self.timestamp
        )


class Initiator(_Side):
    """The initiator's side of one handshake with one paired peer.

    Use: ``msg1 = start(now, last_sent)``; persist ``timestamp``; send msg1;
    ``proof = receive_msg2(msg2)``; send proof; ``established = receive_proof(proof_r)``.
    """

    __slots__ = ()
    role = Role.INITIATOR

    def __init__(
        self, local: LocalCredentials, peer: PairedPeer, *, hooks: KatHooks | None = None
    ) -> None:
        """Prepare a handshake from ``local`` to ``peer``; nothing is computed yet.

        Args:
            local: our credentials.
            peer: the paired peer to call.
            hooks: test-only fixed inputs; leave ``None``.
        """
        super().__init__(local, peer, Stage.START, hooks)

    def start(self, now: float, last_sent: int) -> bytes:
        """Write msg1 (with its mac1).

        Args:
            now: the wall clock, seconds since the Unix epoch.
            last_sent: the last msg1 timestamp sent to this peer (0 if none).

        Returns:
            msg1 as sent on the wire. ``timestamp`` now holds the value to persist.

        Raises:
            LocalProtocolError: wrong stage; ``now`` not finite and non-negative; ``last_sent``
                not a u64; or a bad key or hook.
        """
        self._expect(Stage.START)
        try:
            timestamp = next_timestamp(last_sent, now)
            noise = self._new_noise()
            message = self.peer.seal_msg1(noise.write_message(encode_timestamp(timestamp)))
        except Exception:
            self.stage = Stage.ERROR
            raise
        self.timestamp = timestamp
        self._keys = _Keys(noise=noise)
        self.stage = Stage.AWAIT_MSG2
        return message

    def receive_msg2(self, message: bytes) -> bytes:
        """Read msg2, then sign and encrypt our identity proof.

        Args:
            message: msg2 as received.

        Returns:
            our proof flight, to send.

        Raises:
            RemoteProtocolError: msg2 is malformed or fails to decrypt (``DecryptError``).
            LocalProtocolError: wrong stage.
        """
        self._expect(Stage.AWAIT_MSG2)
        try:
            if len(message) != MSG2_LEN:
                raise RemoteProtocolError(f"msg2 is {MSG2_LEN} bytes")
            noise = self._keys.noise
            if noise is None:  # unreachable after the stage check
                raise LocalProtocolError("no handshake in progress")
            if noise.read_message(message) != b"":
                raise RemoteProtocolError("msg2 carries no payload")
            self._finish_noise(noise)
            proof = self._own_proof()
        except Exception:
            self.stage = Stage.ERROR
            raise
        self.stage = Stage.AWAIT_RESPONDER_PROOF
        return proof

    def receive_proof(self, message: bytes) -> Established:
        """Verify the responder's proof.

        Args:
            message: the responder's proof flight.

        Returns:
            the new session.

        Raises:
            ProofError: the proof does not verify against the pinned card.
            RemoteProtocolError: it is malformed or fails to decrypt.
            LocalProtocolError: wrong stage.
        """
        self._expect(Stage.AWAIT_RESPONDER_PROOF)
        try:
            self._check_peer_proof(message)
        except Exception:
            self.stage = Stage.ERROR
            raise
        return self._established()


class Responder(_Side):
    """The responder's side of one handshake, once mac1 has named the peer.

    The responder is created after :meth:`PeerTable.identify` (or, in a session, for the one
    expected peer): an unpaired initiator never gets one.

    Use: ``msg2 = receive_msg1(msg1, now)``; persist ``timestamp``; send msg2;
    ``proof, established = receive_proof(proof_i)``; send proof.
    """

    __slots__ = ("_last_accepted",)
    role = Role.RESPONDER

    def __init__(
        self,
        local: LocalCredentials,
        peer: PairedPeer,
        *,
        last_accepted: int,
        hooks: KatHooks | None = None,
    ) -> None:
        """Prepare to answer ``peer``; nothing is computed yet.

        Args:
            local: our credentials.
            peer: the paired peer whose msg1 this will read.
            last_accepted: the last msg1 timestamp accepted from this peer (0 if none).
            hooks: test-only fixed inputs; leave ``None``.

        Raises:
            LocalProtocolError: ``last_accepted`` is not an int from 0 to 2**64 - 1.
        """
        super().__init__(local, peer, Stage.AWAIT_MSG1, hooks)
        self._last_accepted = require_timestamp(last_accepted, "last_accepted")

    def receive_msg1(
        self, message: bytes, now: float, *, expected_timestamp: int | None = None
    ) -> bytes:
        """Check and read msg1, then write msg2.

        Args:
            message: msg1 as received (Noise message and mac1).
            now: the wall clock, seconds since the Unix epoch: the msg1 timestamp must be
                within ``MSG1_MAX_AGE`` behind and ``MSG1_MAX_FUTURE`` ahead of it.
            expected_timestamp: the timestamp this msg1 must carry, when the caller already
                knows it (a REKEY frame names its handshake by the msg1 timestamp,
                docs/protocol.md §3.3): checked before any KEM work, like the replay check.

        Returns:
            msg2, to send. ``timestamp`` now holds the value to persist as last accepted.

        Raises:
            UnknownPeerError: wrong size or not this peer's mac1 (before any DH).
            RemoteProtocolError: msg1 fails to decrypt or is malformed, or its timestamp is not
                ``expected_timestamp`` (before any KEM).
            ReplayError: the timestamp is not newer than the last accepted (before any KEM).
            StaleTimestampError: the timestamp is too far from ``now`` (before any KEM).
            LocalProtocolError: wrong stage, or ``now`` is not finite and non-negative.
        """
        self._expect(Stage.AWAIT_MSG1)
        try:
            local_ms = now_ms(now)
            noise_msg1 = self.peer.open_msg1(message)
            noise = self._new_noise()
            timestamp = decode_timestamp(noise.read_message(noise_msg1))
            if expected_timestamp is not None and timestamp != expected_timestamp:
                raise RemoteProtocolError("msg1 timestamp does not match its handshake id")
            check_timestamp(timestamp, self._last_accepted)
            check_fresh(timestamp, local_ms)
            reply = noise.write_message(b"")
            self._finish_noise(noise)
        except Exception:
            self.stage = Stage.ERROR
            raise
        self.timestamp = timestamp
        self.stage = Stage.AWAIT_INITIATOR_PROOF
        return reply

    def receive_proof(self, message: bytes) -> tuple[bytes, Established]:
        """Verify the initiator's proof; only then sign and encrypt ours.

        Args:
            message: the initiator's proof flight.

        Returns:
            our proof flight (to send) and the new session.

        Raises:
            ProofError: the proof does not verify against the pinned card (for example an
                application frame sent in its place).
            RemoteProtocolError: it is malformed or fails to decrypt.
            LocalProtocolError: wrong stage.
        """
        self._expect(Stage.AWAIT_INITIATOR_PROOF)
        try:
            self._check_peer_proof(message)
            proof = self._own_proof()
        except Exception:
            self.stage = Stage.ERROR
            raise
        return proof, self._established()
