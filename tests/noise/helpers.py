"""Test tools for the Noise core: fixed keys, paired HandshakeStates, a recording KEM."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hotline.noise import HandshakeState, HandshakeStatus, Kem, KemKeyPair, NoiseProtocol, Token


def fixed_key(label: str, size: int) -> bytes:
    """A reproducible key of ``size`` bytes (up to 64) derived from ``label``."""
    return hashlib.sha512(label.encode()).digest()[:size]


def public_key(protocol: NoiseProtocol, private: bytes) -> bytes:
    return protocol.dh.generate(private).public


@dataclass
class RecordingKem:
    """Wraps a Kem and records every call: the hook the brief asks for (count, inject)."""

    inner: Kem
    generated: list[KemKeyPair] = field(default_factory=list)
    encapsulations: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)  # pk, ct, ss
    decapsulations: list[tuple[bytes, bytes]] = field(default_factory=list)  # ct, ss

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def public_key_len(self) -> int:
        return self.inner.public_key_len

    @property
    def ciphertext_len(self) -> int:
        return self.inner.ciphertext_len

    @property
    def shared_secret_len(self) -> int:
        return self.inner.shared_secret_len

    def generate(self, seed: bytes | None = None) -> KemKeyPair:
        keypair = self.inner.generate(seed)
        self.generated.append(keypair)
        return keypair

    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        ciphertext, shared = self.inner.encapsulate(public_key)
        self.encapsulations.append((public_key, ciphertext, shared))
        return ciphertext, shared

    def decapsulate(self, keypair: KemKeyPair, ciphertext: bytes) -> bytes:
        shared = self.inner.decapsulate(keypair, ciphertext)
        self.decapsulations.append((ciphertext, shared))
        return shared


@dataclass(frozen=True)
class SideKeys:
    """What one side of a pair was built with (``None`` where the pattern needs nothing)."""

    static: bytes | None
    ephemeral: bytes | None
    remote_static: bytes | None
    psks: tuple[bytes, ...]


def side_keys(protocol: NoiseProtocol, *, initiator: bool, fixed_ephemeral: bool) -> SideKeys:
    """The keys a pattern needs on one side, all fixed (ephemeral only if asked)."""
    pattern = protocol.pattern
    dhlen = protocol.dh.dhlen
    mine, theirs = ("init", "resp") if initiator else ("resp", "init")
    needs_static = Token.S in pattern.tokens_sent(initiator)
    knows_remote = Token.S in pattern.premessage(not initiator)
    return SideKeys(
        static=fixed_key(f"{mine} static", dhlen) if needs_static else None,
        ephemeral=(
            fixed_key(f"{mine} ephemeral", dhlen)
            if fixed_ephemeral and Token.E in pattern.tokens_sent(initiator)
            else None
        ),
        remote_static=(
            public_key(protocol, fixed_key(f"{theirs} static", dhlen)) if knows_remote else None
        ),
        psks=tuple(fixed_key(f"psk {i}", 32) for i in range(pattern.psk_count)),
    )


def make_side(
    protocol: NoiseProtocol,
    *,
    initiator: bool,
    prologue: bytes = b"hotline test",
    fixed_ephemeral: bool = False,
    e1: bytes | None = None,
    kem: Kem | None = None,
) -> HandshakeState:
    keys = side_keys(protocol, initiator=initiator, fixed_ephemeral=fixed_ephemeral)
    return HandshakeState(
        protocol,
        initiator=initiator,
        prologue=prologue,
        s=keys.static,
        e=keys.ephemeral,
        rs=keys.remote_static,
        psks=keys.psks,
        e1=e1,
        kem=kem,
    )


def make_pair(name: str, **kwargs: Any) -> tuple[HandshakeState, HandshakeState]:
    """An initiator and a responder for ``name`` with every key the pattern needs.

    Keyword arguments prefixed ``init_``/``resp_`` go to one side only, the rest to both.
    """
    protocol = NoiseProtocol.from_name(name)
    init_kw = {k.removeprefix("init_"): v for k, v in kwargs.items() if not k.startswith("resp_")}
    resp_kw = {k.removeprefix("resp_"): v for k, v in kwargs.items() if not k.startswith("init_")}
    return (
        make_side(protocol, initiator=True, **init_kw),
        make_side(protocol, initiator=False, **resp_kw),
    )


def run_handshake(
    initiator: HandshakeState,
    responder: HandshakeState,
    payloads: Sequence[bytes] = (),
) -> list[bytes]:
    """Drive both sides to COMPLETE; return the messages. Payload i goes into message i."""
    messages = []
    index = 0
    while not (initiator.complete and responder.complete):
        writer, reader = (
            (initiator, responder)
            if initiator.status is HandshakeStatus.WRITING
            else (responder, initiator)
        )
        payload = payloads[index] if index < len(payloads) else b""
        message = writer.write_message(payload)
        assert reader.read_message(message) == payload
        messages.append(message)
        index += 1
    return messages
