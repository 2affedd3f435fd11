"""Test stations: deterministic keys, pairings, and a counter of C-level crypto calls."""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, x25519

from hotline.handshake import LocalCredentials, PairedPeer, PeerKeys
from hotline.noise import MLKEM1024, KemKeyPair


@dataclass(frozen=True)
class Station:
    """A station's private credentials and the public keys its peers pin."""

    creds: LocalCredentials
    keys: PeerKeys


def make_station(seed: int) -> Station:
    """Keys derived from ``seed`` (so tests and KATs are reproducible)."""

    def material(label: bytes, n: int) -> bytes:
        return hashlib.sha512(label + seed.to_bytes(4, "big")).digest()[:n]

    static = x25519.X25519PrivateKey.from_private_bytes(material(b"static", 32))
    signing = ed25519.Ed25519PrivateKey.from_private_bytes(material(b"ed25519", 32))
    pq = mldsa.MLDSA87PrivateKey.from_seed_bytes(material(b"mldsa", 32))
    creds = LocalCredentials(static, signing, pq)
    return Station(creds, PeerKeys(creds.static_public, signing.public_key(), pq.public_key()))


def line_id(a: Station, b: Station) -> bytes:
    """A stand-in for the identity layer's line id: SHA-512 over both static keys, sorted."""
    return hashlib.sha512(b"".join(sorted((a.keys.static, b.keys.static)))).digest()


def pair(a: Station, b: Station) -> tuple[PairedPeer, PairedPeer]:
    """Return (a's entry for b, b's entry for a)."""
    line = line_id(a, b)
    return PairedPeer.derive(a.creds, b.keys, line), PairedPeer.derive(b.creds, a.keys, line)


@contextlib.contextmanager
def count_c_calls(*names: str) -> Iterator[Counter[str]]:
    """Count calls to C functions or methods called ``names`` (``exchange``, ``encapsulate``...).

    Works at the interpreter level (``sys.setprofile`` sees every call from Python into C), so
    it counts pyca's X25519 and ML-KEM work no matter which module makes the call.
    """
    counts: Counter[str] = Counter()
    wanted = set(names)

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and getattr(arg, "__name__", None) in wanted:
            counts[arg.__name__] += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield counts
    finally:
        sys.setprofile(previous)


class DelegatingKem:
    """ML-KEM-1024 itself, as a base for KEMs that change one thing (the ``kem=`` test hook)."""

    name = MLKEM1024.name
    public_key_len = MLKEM1024.public_key_len
    ciphertext_len = MLKEM1024.ciphertext_len
    shared_secret_len = MLKEM1024.shared_secret_len

    def generate(self, seed: bytes | None = None) -> KemKeyPair:
        return MLKEM1024.generate(seed)

    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        return MLKEM1024.encapsulate(public_key)

    def decapsulate(self, keypair: KemKeyPair, ciphertext: bytes) -> bytes:
        return MLKEM1024.decapsulate(keypair, ciphertext)


class FixedEncapsulationKem(DelegatingKem):
    """ML-KEM-1024 with one recorded encapsulation injected (pyca takes no randomness).

    Key generation and decapsulation are the real ones, so the initiator side still checks the
    recorded ciphertext really carries the recorded secret.
    """

    def __init__(self, ciphertext: bytes, shared_secret: bytes) -> None:
        self._result = (ciphertext, shared_secret)

    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        return self._result


class CountingKem(DelegatingKem):
    """ML-KEM-1024 that counts every operation (the replay defence must cause none)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def generate(self, seed: bytes | None = None) -> KemKeyPair:
        self.calls["generate"] += 1
        return super().generate(seed)

    def encapsulate(self, public_key: bytes) -> tuple[bytes, bytes]:
        self.calls["encapsulate"] += 1
        return super().encapsulate(public_key)

    def decapsulate(self, keypair: KemKeyPair, ciphertext: bytes) -> bytes:
        self.calls["decapsulate"] += 1
        return super().decapsulate(keypair, ciphertext)
