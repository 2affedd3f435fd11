"""Run Noise test vectors: ``python -m hotline.noise.vectors FILE...``.

Reads the Noise-wiki JSON format used by cacophony and snow (described in
``shared/vectors/noise/README.md``) and replays every vector twice, once with our code as the
initiator and once as the responder, each against the vector's own bytes rather than against
our other side. It checks every handshake ciphertext, the final handshake hash and every
transport message after the handshake (one-way patterns: all messages initiator→responder).

For ``hfs`` known-answer vectors three extra fields make an ML-KEM handshake deterministic
even though pyca takes no encapsulation randomness: ``init_e1_seed`` (64-byte ML-KEM seed of
``e1``), and ``resp_kem_ciphertext`` / ``resp_kem_shared_secret`` (the responder's
encapsulation, injected through the ``kem`` hook; the initiator really decapsulates it).

Output: one line per failing vector (protocol name and reason), then
``N passed, M failed, K skipped`` as the last line. Exit status 0, 1 on any failure, 2 on a
file or format error (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ._errors import NoiseError, UnsupportedProtocolError
from ._handshake import HandshakeState, HandshakeStatus, TransportState
from ._kem import Kem, KemKeyPair
from ._protocol import NoiseProtocol

#: The largest vector file we read. The official cacophony file is 1.7 MB; a cap keeps a wrong
#: path (a disk image, /dev/zero) from eating memory.
MAX_VECTOR_FILE_LEN: Final = 64 * 1024 * 1024

#: Keys of the general format that describe features this runner does not replay.
_UNSUPPORTED_KEYS: Final = ("fallback", "fallback_pattern", "fail", "hybrid")


class VectorFormatError(Exception):
    """A vector file that cannot be read or does not follow the format."""


class Outcome(enum.Enum):
    """What became of one vector."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class VectorResult:
    """The outcome of one vector, with the reason when it failed or was skipped."""

    protocol_name: str
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class _Side:
    """One side's inputs from a vector (``init_*`` or ``resp_*``)."""

    prologue: bytes
    static: bytes | None
    ephemeral: bytes | None
    remote_static: bytes | None
    psks: tuple[bytes, ...]
    e1_seed: bytes | None
    kem_ciphertext: bytes | None
    kem_shared_secret: bytes | None


@dataclass(frozen=True, slots=True, repr=False)
class _Vector:
    protocol_name: str
    init: _Side
    resp: _Side
    handshake_hash: bytes | None
    messages: tuple[tuple[bytes, bytes], ...]  # (payload, ciphertext)
    unsupported: str | None


class _FixedEncapsulation:
    """A Kem whose ``encapsulate`` returns a recorded (ciphertext, shared secret)."""

    __slots__ = ("_ciphertext", "_inner", "_shared_secret")

    def __init__(self, inner: Kem, ciphertext: bytes, shared_secret: bytes) -> None:
        self._inner = inner
        self._ciphertext = ciphertext
        self._shared_secret = shared_secret

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def public_key_len(self) -> int:
        return self._inner.public_key_len

    @property
    def ciphertext_len(self) -> int:
        return self._inner.ciphertext_len

    @property
    def shared_secret_len(self) -> int:
        return self._inner.shared_secret_len

    def generate(self, seed: bytes | None = None) -> KemKeyPair:
        return self._inner.generate(seed)

    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        return self._ciphertext, self._shared_secret

    def decapsulate(self, keypair: KemKeyPair, ciphertext: bytes) -> bytes:
        return self._inner.decapsulate(keypair, ciphertext)


# --- Loading -------------------------------------------------------------------------------------


def _load_vectors(path: Path) -> list[_Vector]:
    """Read and validate every vector in ``path``.

    Raises:
        VectorFormatError: unreadable file, bad JSON, or a vector that breaks the format.
    """
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_VECTOR_FILE_LEN + 1)
    except OSError as exc:
        raise VectorFormatError(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_VECTOR_FILE_LEN:
        raise VectorFormatError(f"{path}: larger than {MAX_VECTOR_FILE_LEN} bytes")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VectorFormatError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("vectors"), list):
        raise VectorFormatError(f'{path}: expected an object with a "vectors" list')
    vectors = []
    for index, entry in enumerate(document["vectors"]):
        try:
            vectors.append(_parse_vector(entry))
        except VectorFormatError as exc:
            raise VectorFormatError(f"{path}: vector {index}: {exc}") from None
    return vectors


def _parse_vector(entry: Any) -> _Vector:
    if not isinstance(entry, dict):
        raise VectorFormatError("not an object")
    name = entry.get("protocol_name")
    if not isinstance(name, str):
        raise VectorFormatError('missing "protocol_name"')
    messages = entry.get("messages")
    if not isinstance(messages, list):
        raise VectorFormatError(f'{name}: missing "messages" list')
    unsupported = next((key for key in _UNSUPPORTED_KEYS if entry.get(key)), None)
    return _Vector(
        protocol_name=name,
        init=_parse_side(entry, "init"),
        resp=_parse_side(entry, "resp"),
        handshake_hash=_hex(entry, "handshake_hash"),
        messages=tuple(_parse_message(message) for message in messages),
        unsupported=unsupported,
    )


def _parse_side(entry: Mapping[str, Any], prefix: str) -> _Side:
    psks = entry.get(f"{prefix}_psks", [])
    if not isinstance(psks, list):
        raise VectorFormatError(f'"{prefix}_psks" is not a list')
    return _Side(
        prologue=_hex(entry, f"{prefix}_prologue") or b"",
        static=_hex(entry, f"{prefix}_static"),
        ephemeral=_hex(entry, f"{prefix}_ephemeral"),
        remote_static=_hex(entry, f"{prefix}_remote_static"),
        psks=tuple(_decode_hex(psk, f"{prefix}_psks") for psk in psks),
        e1_seed=_hex(entry, f"{prefix}_e1_seed"),
        kem_ciphertext=_hex(entry, f"{prefix}_kem_ciphertext"),
        kem_shared_secret=_hex(entry, f"{prefix}_kem_shared_secret"),
    )


def _parse_message(message: Any) -> tuple[bytes, bytes]:
    if not isinstance(message, dict):
        raise VectorFormatError("a message is not an object")
    payload, ciphertext = _hex(message, "payload"), _hex(message, "ciphertext")
    if payload is None or ciphertext is None:
        raise VectorFormatError('a message needs "payload" and "ciphertext"')
    return payload, ciphertext


def _hex(entry: Mapping[str, Any], key: str) -> bytes | None:
    value = entry.get(key)
    return None if value is None else _decode_hex(value, key)


def _decode_hex(value: object, key: str) -> bytes:
    if not isinstance(value, str):
        raise VectorFormatError(f'"{key}" is not a hex string')
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise VectorFormatError(f'"{key}" is not valid hex') from None


# --- Running -------------------------------------------------------------------------------------


def _run_vector(vector: _Vector) -> VectorResult:
    """Replay one vector as initiator and as responder; it passes only if both roles do."""
    name = vector.protocol_name
    if vector.unsupported is not None:
        return VectorResult(name, Outcome.SKIPPED, f"unsupported: {vector.unsupported}")
    try:
        protocol = NoiseProtocol.from_name(name)
    except UnsupportedProtocolError as exc:
        return VectorResult(name, Outcome.SKIPPED, str(exc))
    except NoiseError as exc:
        return VectorResult(name, Outcome.FAILED, str(exc))
    for initiator in (True, False):
        reason = _run_role(protocol, vector, initiator=initiator)
        if reason is not None:
            role = "initiator" if initiator else "responder"
            return VectorResult(name, Outcome.FAILED, f"as {role}: {reason}")
    return VectorResult(name, Outcome.PASSED)


def _run_role(protocol: NoiseProtocol, vector: _Vector, *, initiator: bool) -> str | None:
    """Play one role against the vector's bytes; return why it failed, or None."""
    side = vector.init if initiator else vector.resp
    index = 0
    try:
        state = HandshakeState(
            protocol,
            initiator=initiator,
            prologue=side.prologue,
            s=side.static,
            e=side.ephemeral,
            rs=side.remote_static,
            psks=side.psks,
            e1=side.e1_seed,
            kem=_injected_kem(protocol, side),
        )
        transport: TransportState | None = None
        for index, (payload, ciphertext) in enumerate(vector.messages):
            ours = protocol.pattern.sent_by_initiator(index) == initiator
            if transport is None and ours:
                if state.write_message(payload) != ciphertext:
                    return f"message {index}: ciphertext differs"
            elif transport is None:
                if state.read_message(ciphertext) != payload:
                    return f"message {index}: payload differs"
            elif ours:
                if transport.send.encrypt_with_ad(b"", payload) != ciphertext:
                    return f"message {index} (transport): ciphertext differs"
            elif transport.receive.decrypt_with_ad(b"", ciphertext) != payload:
                return f"message {index} (transport): payload differs"
            if transport is None and state.status is HandshakeStatus.COMPLETE:
                if vector.handshake_hash not in (None, state.handshake_hash):
                    return "handshake hash differs"
                transport = state.split()
        if transport is None:
            return "the vector ends before the handshake does"
    except NoiseError as exc:
        return f"message {index}: {type(exc).__name__}: {exc}"
    return None


def _injected_kem(protocol: NoiseProtocol, side: _Side) -> Kem | None:
    if protocol.kem is None or side.kem_ciphertext is None or side.kem_shared_secret is None:
        return None
    return _FixedEncapsulation(protocol.kem, side.kem_ciphertext, side.kem_shared_secret)


def run_file(path: Path) -> list[VectorResult]:
    """Load ``path`` and run every vector in it.

    Raises:
        VectorFormatError: the file cannot be read or breaks the format.
    """
    return [_run_vector(vector) for vector in _load_vectors(path)]


def summary(results: Iterable[VectorResult]) -> str:
    """Return the ``N passed, M failed, K skipped`` line."""
    outcomes = [result.outcome for result in results]
    return ", ".join(f"{outcomes.count(o)} {o.value}" for o in Outcome)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the vector files named in ``argv``; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m hotline.noise.vectors", description="Run Noise test vectors."
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    results: list[VectorResult] = []
    try:
        for path in args.files:
            results.extend(run_file(path))
    except VectorFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for result in results:
        if result.outcome is Outcome.FAILED:
            print(f"FAIL {result.protocol_name}: {result.reason}")
    print(summary(results))
    return 1 if any(result.outcome is Outcome.FAILED for result in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
