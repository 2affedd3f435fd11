"""HandshakeState (spec §5.3) as an explicit state machine, plus the TransportState it splits into.

Rules (h11's habit of writing the invariants down first):

1. ``status`` is ``WRITING`` or ``READING`` by turn, ``COMPLETE`` after the last message, and
   ``ERROR`` after any exception from a method; ``ERROR`` is final and every later call
   raises ``LocalProtocolError``.
2. A message is computed on a scratch copy of everything it may change (``_Progress``) and
   committed only when every token, length and tag checked out (WireGuard's habit).
3. Keys are checked at construction: a key the pattern needs must be given, and a key it never
   uses is refused (a forgotten ``s`` on an ``NN`` must not look like authentication).
4. ``split()`` may be called once: two TransportStates from one handshake would reuse nonces.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ._cipherstate import CipherState
from ._constants import MAX_MESSAGE_LEN, PSK_LEN, TAG_LEN
from ._dh import DhKeyPair
from ._errors import LocalProtocolError, RemoteProtocolError
from ._kem import Kem, KemKeyPair
from ._patterns import Token
from ._protocol import NoiseProtocol
from ._symmetric import SymmetricState
from ._util import Reader, require_bytes

_T = TypeVar("_T")


class HandshakeStatus(enum.Enum):
    """Where a HandshakeState stands."""

    WRITING = "writing"  # our turn: call write_message()
    READING = "reading"  # the peer's turn: call read_message()
    COMPLETE = "complete"  # every message done: handshake_hash and split() are available
    ERROR = "error"  # an exception was raised; this object is dead


@dataclass(frozen=True, slots=True)
class TransportState:
    """The two CipherStates of a finished handshake, oriented for this side.

    For one-way patterns only initiator→responder exists: the initiator's ``receive`` and the
    responder's ``send`` are closed and raise ``LocalProtocolError`` when used.
    """

    send: CipherState
    receive: CipherState


@dataclass(slots=True, repr=False)
class _Progress:
    """Everything a handshake message may change, so one message can run on a copy."""

    symmetric: SymmetricState
    message_index: int = 0
    psk_index: int = 0
    e: DhKeyPair | None = None
    re: bytes | None = None
    rs: bytes | None = None
    e1: KemKeyPair | None = None
    re1: bytes | None = None

    def copy(self) -> _Progress:
        twin = copy.copy(self)
        twin.symmetric = self.symmetric.copy()
        return twin


class HandshakeState:
    """One side of a Noise handshake: feed it messages, take messages from it.

    Sans-IO: it never touches a socket or a clock; the caller moves the bytes.
    """

    __slots__ = (
        "_e1_seed",
        "_fixed_e",
        "_initiator",
        "_kem",
        "_progress",
        "_protocol",
        "_psks",
        "_s",
        "_split_done",
        "_status",
    )

    def __init__(
        self,
        protocol: NoiseProtocol,
        *,
        initiator: bool,
        prologue: bytes = b"",
        s: bytes | None = None,
        e: bytes | None = None,
        rs: bytes | None = None,
        re: bytes | None = None,
        psks: Sequence[bytes] = (),
        e1: bytes | None = None,
        kem: Kem | None = None,
    ) -> None:
        """``Initialize()`` of spec §5.3: hash the name, the prologue and the pre-messages.

        Args:
            protocol: the protocol to run.
            initiator: whether this side sends the first message.
            prologue: data both sides must agree on, mixed into ``h``.
            s: this side's raw static private key.
            e: a fixed ephemeral private key (test vectors and known-answer tests only).
            rs: the peer's static public key, for a ``<- s`` / ``-> s`` pre-message.
            re: the peer's ephemeral public key, for an ``e`` pre-message.
            psks: one 32-byte PSK per ``psk`` token, in the order the tokens are processed.
            e1: a fixed 64-byte ML-KEM seed for ``e1`` (known-answer tests only).
            kem: a KEM to use instead of the protocol's (a test hook), with the same name.

        Raises:
            LocalProtocolError: a key the pattern needs is missing, a key it never uses is
                given, or a key has the wrong type or length.
        """
        pattern = protocol.pattern
        mine = pattern.tokens_sent(initiator)
        theirs_pre = pattern.premessage(not initiator)
        dhlen = protocol.dh.dhlen
        _check_key_given("s", s, needed=Token.S in mine)
        _check_key_given("rs", rs, needed=Token.S in theirs_pre)
        _check_key_given("re", re, needed=Token.E in theirs_pre)
        if e is None and Token.E in pattern.premessage(initiator):
            raise LocalProtocolError(f"{pattern.name}: the pre-message needs e")
        if e is not None and Token.E not in mine:
            raise LocalProtocolError(f"{pattern.name}: this side sends no e")
        if e1 is not None and Token.E1 not in mine:
            raise LocalProtocolError(f"{pattern.name}: this side sends no e1")
        if kem is not None and (protocol.kem is None or kem.name != protocol.kem.name):
            raise LocalProtocolError(f"kem override must be a {protocol.kem!r}")
        if len(psks) != pattern.psk_count:
            raise LocalProtocolError(f"{pattern.name} takes {pattern.psk_count} PSKs")
        self._protocol = protocol
        self._initiator = initiator
        self._psks = tuple(require_bytes(psk, "psk", PSK_LEN) for psk in psks)
        self._s = None if s is None else protocol.dh.generate(s)
        self._fixed_e = None if e is None else protocol.dh.generate(e)
        self._kem = kem if kem is not None else protocol.kem
        self._e1_seed = e1
        if e1 is not None:
            _known(self._kem, "KEM").generate(e1)  # validates the seed now, not mid-handshake
        self._split_done = False

        symmetric = SymmetricState(protocol.name.encode("ascii"), protocol.hash, protocol.cipher)
        symmetric.mix_hash(require_bytes(prologue, "prologue"))
        progress = _Progress(
            symmetric,
            e=self._fixed_e,
            rs=None if rs is None else require_bytes(rs, "rs", dhlen),
            re=None if re is None else require_bytes(re, "re", dhlen),
        )
        for side_is_initiator in (True, False):  # the initiator's pre-message is hashed first
            local = side_is_initiator == initiator
            for token in pattern.premessage(side_is_initiator):
                if local:
                    public = _known(self._s if token is Token.S else progress.e, "ours").public
                else:
                    public = _known(progress.rs if token is Token.S else progress.re, "theirs")
                if token is Token.E:
                    self._mix_ephemeral(symmetric, public)
                else:
                    symmetric.mix_hash(public)
        self._progress = progress
        self._status = self._turn()

    def __repr__(self) -> str:
        role = "initiator" if self._initiator else "responder"
        return f"HandshakeState({self._protocol.name}, {role}, {self._status.name})"

    # --- Public state --------------------------------------------------------------------------

    @property
    def status(self) -> HandshakeStatus:
        """Whose turn it is, or ``COMPLETE``/``ERROR``."""
        return self._status

    @property
    def is_initiator(self) -> bool:
        """Whether this side sent the first message."""
        return self._initiator

    @property
    def complete(self) -> bool:
        """Whether every handshake message has been written or read."""
        return self._status is HandshakeStatus.COMPLETE

    @property
    def remote_static(self) -> bytes | None:
        """The peer's static public key, once known (pre-message or received ``s``)."""
        return self._progress.rs

    @property
    def local_static_public(self) -> bytes | None:
        """This side's static public key, if it has one."""
        return None if self._s is None else self._s.public

    @property
    def handshake_hash(self) -> bytes:
        """The final ``h`` (spec §11.2), for channel binding.

        Raises:
            LocalProtocolError: the handshake is not complete.
        """
        self._require(HandshakeStatus.COMPLETE, "handshake_hash")
        return self._progress.symmetric.handshake_hash

    # --- Messages ------------------------------------------------------------------------------

    def write_message(self, payload: bytes = b"") -> bytes:
        """Write the next handshake message (spec ``WriteMessage``).

        Args:
            payload: application data; encrypted once a key exists, sent in clear before.

        Returns:
            the message bytes to send to the peer.

        Raises:
            LocalProtocolError: not our turn, or the message would exceed ``MAX_MESSAGE_LEN``.
            RemoteProtocolError: a public key received earlier is unusable.
        """
        return self._step(HandshakeStatus.WRITING, "write_message", self._write, payload)

    def read_message(self, message: bytes) -> bytes:
        """Read the peer's next handshake message (spec ``ReadMessage``).

        Args:
            message: exactly one message as the peer wrote it.

        Returns:
            the payload it carried.

        Raises:
            LocalProtocolError: not the peer's turn.
            RemoteProtocolError: wrong length, too long, or an unusable public key.
            DecryptError: an encrypted field failed authentication.
        """
        return self._step(HandshakeStatus.READING, "read_message", self._read, message)

    def split(self) -> TransportState:
        """Return the transport CipherStates (spec ``Split``), oriented for this side.

        Raises:
            LocalProtocolError: the handshake is not complete, or split() was already called.
        """
        self._require(HandshakeStatus.COMPLETE, "split")
        if self._split_done:
            self._status = HandshakeStatus.ERROR
            raise LocalProtocolError("split() was already called; its nonces must not repeat")
        self._split_done = True
        to_responder, to_initiator = self._progress.symmetric.split()
        if self._protocol.pattern.one_way:
            to_initiator = CipherState.closed(self._protocol.cipher, "one-way pattern: no way back")
        if self._initiator:
            return TransportState(send=to_responder, receive=to_initiator)
        return TransportState(send=to_initiator, receive=to_responder)

    # --- Internals -----------------------------------------------------------------------------

    def _turn(self) -> HandshakeStatus:
        pattern = self._protocol.pattern
        index = self._progress.message_index
        if index == len(pattern.messages):
            return HandshakeStatus.COMPLETE
        if pattern.sent_by_initiator(index) == self._initiator:
            return HandshakeStatus.WRITING
        return HandshakeStatus.READING

    def _require(self, wanted: HandshakeStatus, call: str) -> None:
        if self._status is not wanted:
            was = self._status
            self._status = HandshakeStatus.ERROR
            raise LocalProtocolError(f"{call}() needs status {wanted.name}, not {was.name}")

    def _step(
        self,
        wanted: HandshakeStatus,
        call: str,
        run: Callable[[_Progress, bytes], bytes],
        data: bytes,
    ) -> bytes:
        """Run one message on a scratch copy; commit it only if nothing raised (rule 2)."""
        self._require(wanted, call)
        try:
            progress = self._progress.copy()
            result = run(progress, require_bytes(data, f"the {call}() argument"))
        except Exception:
            self._status = HandshakeStatus.ERROR
            raise
        progress.message_index += 1
        self._progress = progress
        self._status = self._turn()
        return result

    def _tokens(self, progress: _Progress) -> tuple[Token, ...]:
        return self._protocol.pattern.messages[progress.message_index]

    def _write(self, progress: _Progress, payload: bytes) -> bytes:
        protocol = self._protocol
        symmetric = progress.symmetric
        out: list[bytes] = []
        for token in self._tokens(progress):
            if token is Token.E:
                progress.e = self._fixed_e or protocol.dh.generate()
                out.append(progress.e.public)
                self._mix_ephemeral(symmetric, progress.e.public)
            elif token is Token.S:
                out.append(symmetric.encrypt_and_hash(_known(self._s, "s").public))
            elif token.is_dh:
                symmetric.mix_key(self._dh(progress, token))
            elif token is Token.PSK:
                self._mix_psk(progress)
            elif token is Token.E1:
                progress.e1 = _known(self._kem, "KEM").generate(self._e1_seed)
                out.append(symmetric.encrypt_and_hash(progress.e1.public))
            else:  # Token.EKEM1
                kem = _known(self._kem, "KEM")
                ciphertext, shared = kem.encapsulate(_known(progress.re1, "peer's e1"))
                out.append(symmetric.encrypt_and_hash(ciphertext))
                symmetric.mix_key(shared)
        out.append(symmetric.encrypt_and_hash(payload))
        message = b"".join(out)
        if len(message) > MAX_MESSAGE_LEN:
            raise LocalProtocolError(f"message of {len(message)} bytes > {MAX_MESSAGE_LEN}")
        return message

    def _read(self, progress: _Progress, message: bytes) -> bytes:
        if len(message) > MAX_MESSAGE_LEN:
            raise RemoteProtocolError(f"message of {len(message)} bytes > {MAX_MESSAGE_LEN}")
        symmetric = progress.symmetric
        reader = Reader(message)
        for token in self._tokens(progress):
            if token is Token.E:
                progress.re = reader.take(self._protocol.dh.dhlen)
                self._mix_ephemeral(symmetric, progress.re)
            elif token is Token.S:
                field = reader.take(self._protocol.dh.dhlen + _tag(symmetric))
                progress.rs = symmetric.decrypt_and_hash(field)
            elif token.is_dh:
                symmetric.mix_key(self._dh(progress, token))
            elif token is Token.PSK:
                self._mix_psk(progress)
            elif token is Token.E1:
                field = reader.take(_known(self._kem, "KEM").public_key_len + _tag(symmetric))
                progress.re1 = symmetric.decrypt_and_hash(field)
            else:  # Token.EKEM1
                kem = _known(self._kem, "KEM")
                field = reader.take(kem.ciphertext_len + _tag(symmetric))
                ciphertext = symmetric.decrypt_and_hash(field)
                symmetric.mix_key(kem.decapsulate(_known(progress.e1, "our e1"), ciphertext))
        return symmetric.decrypt_and_hash(reader.rest())

    def _mix_ephemeral(self, symmetric: SymmetricState, public: bytes) -> None:
        """Token ``e``: MixHash, and in a PSK handshake also MixKey (spec §9.2)."""
        symmetric.mix_hash(public)
        if self._protocol.pattern.psk_count:
            symmetric.mix_key(public)

    def _mix_psk(self, progress: _Progress) -> None:
        progress.symmetric.mix_key_and_hash(self._psks[progress.psk_index])
        progress.psk_index += 1

    def _dh(self, progress: _Progress, token: Token) -> bytes:
        """``ee es se ss``: the first letter is the initiator's key, the second the responder's."""
        initiator_key, responder_key = token.value[0], token.value[1]
        local, remote = (
            (initiator_key, responder_key) if self._initiator else (responder_key, initiator_key)
        )
        keypair = _known(progress.e if local == "e" else self._s, f"{token} (local key)")
        public = _known(progress.re if remote == "e" else progress.rs, f"{token} (remote key)")
        return self._protocol.dh.dh(keypair, public)


def _tag(symmetric: SymmetricState) -> int:
    """The tag length an encrypted field carries: 16 once a key exists, else 0."""
    return TAG_LEN if symmetric.has_key else 0


def _known(value: _T | None, what: str) -> _T:
    """``value``, which the key checks in ``__init__`` guarantee is present."""
    if value is None:
        raise LocalProtocolError(f"{what} is not known at this point of the pattern")
    return value


def _check_key_given(name: str, value: bytes | None, *, needed: bool) -> None:
    if needed and value is None:
        raise LocalProtocolError(f"the pattern needs {name}")
    if not needed and value is not None:
        raise LocalProtocolError(f"the pattern never uses {name}")
