"""Benchmark: the CPU cost of a Hotline handshake, and of refusing an unpaired initiator.

Two questions, both from issue 3:

1. Does the handshake cost what its cryptography costs? A full four-flight handshake, both
   sides, is timed next to the sum of the primitive operations it must do (X25519, ML-KEM-1024,
   AES-256-GCM, SHA-512/HMAC, Ed25519, ML-DSA-87), each timed in the same run on the same
   sizes. Target: overhead ratio at most 1.5.
2. How cheap is "no"? The sans-IO responder refusing a msg1 that no paired peer sent (mac1 fails)
   must manage at least 10,000 per second on one core.

Run: ``.venv/bin/python -m bench.bench_handshake`` (or ``python bench/bench_handshake.py``).
Each figure is the best of several repeats of CPU time (``time.process_time``), per operation.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``tests`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hotline.constants import LABEL_MSG1_DIGEST, MSG1_LEN, NOISE_MSG1_LEN, PROOF_LEN
from hotline.handshake import (
    Initiator,
    LocalCredentials,
    PairedPeer,
    PeerKeys,
    PeerTable,
    Responder,
    Role,
    proof_message,
)
from hotline.session import Acceptor, with_length

REPEATS = 5
NOW = 1_750_000_000.0


def _accept(table: PeerTable, wire: bytes) -> object:
    """What a listening station does per accepted stream: a fresh acceptor reads one msg1."""
    return Acceptor(table).receive_data(wire)


def cpu_per_call(fn: Callable[[], object], number: int) -> float:
    """Best-of-``REPEATS`` CPU seconds per call of ``fn``."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - start) / number)
    return best


@dataclass(frozen=True)
class Station:
    creds: LocalCredentials
    keys: PeerKeys


def station() -> Station:
    creds = LocalCredentials(
        x25519.X25519PrivateKey.generate(),
        ed25519.Ed25519PrivateKey.generate(),
        mldsa.MLDSA87PrivateKey.generate(),
    )
    public = PeerKeys(creds.static_public, creds.ed25519.public_key(), creds.mldsa.public_key())
    return Station(creds, public)


def handshake_row(number: int) -> tuple[float, float, list[tuple[str, int, float]]]:
    """Time full handshakes and the primitives they are made of.

    Returns:
        (handshake seconds, sum of primitives seconds, [(primitive, count, seconds each)]).
    """
    alice, bob = station(), station()
    line = os.urandom(64)
    to_bob = PairedPeer.derive(alice.creds, bob.keys, line)
    to_alice = PairedPeer.derive(bob.creds, alice.keys, line)

    def full_handshake() -> None:
        initiator = Initiator(alice.creds, to_bob)
        responder = Responder(bob.creds, to_alice, last_accepted=0)
        msg2 = responder.receive_msg1(initiator.start(NOW, 0), NOW)
        proof_r, _ = responder.receive_proof(initiator.receive_msg2(msg2))
        initiator.receive_proof(proof_r)

    handshake = cpu_per_call(full_handshake, number)

    # The primitives, on the sizes the handshake uses.
    x_priv = x25519.X25519PrivateKey.generate()
    x_pub = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    kem_priv = mlkem.MLKEM1024PrivateKey.generate()
    kem_pub = kem_priv.public_key().public_bytes_raw()
    _, kem_ct = kem_priv.public_key().encapsulate()
    aes = AESGCM(os.urandom(32))
    nonce = bytes(12)
    kem_field = os.urandom(1568)
    proof_plain = os.urandom(PROOF_LEN - 16)
    kem_sealed = aes.encrypt(nonce, kem_field, b"h" * 64)
    proof_sealed = aes.encrypt(nonce, proof_plain, b"")
    ck = os.urandom(64)
    labelled_msg1 = LABEL_MSG1_DIGEST + os.urandom(NOISE_MSG1_LEN)
    msg1_digest = os.urandom(64)
    static_raw = x_priv.private_bytes_raw()
    m = proof_message(Role.INITIATOR, line, os.urandom(64))
    ed_sig = alice.creds.ed25519.sign(b"label" + m)
    ml_sig = alice.creds.mldsa.sign(m, b"label")

    def hkdf() -> None:  # one Noise HKDF with two outputs: three HMAC-SHA512
        temp = hmac.digest(ck, x_pub, "sha512")
        out1 = hmac.digest(temp, b"\x01", "sha512")
        hmac.digest(temp, out1 + b"\x02", "sha512")

    # (name, count per handshake (both sides), callable, repetitions)
    ops: list[tuple[str, int, Callable[[], object], int]] = [
        ("X25519 key generation", 2, x25519.X25519PrivateKey.generate, 2000),
        (
            "X25519 static public key again (Noise core)",
            2,
            lambda: x25519.X25519PrivateKey.from_private_bytes(static_raw).public_key(),
            2000,
        ),
        (
            "X25519 DH (es ss ee se, both sides)",
            8,
            lambda: x_priv.exchange(x25519.X25519PublicKey.from_public_bytes(x_pub)),
            2000,
        ),
        ("ML-KEM-1024 key generation", 1, mlkem.MLKEM1024PrivateKey.generate, 500),
        (
            "ML-KEM-1024 encapsulation",
            1,
            lambda: mlkem.MLKEM1024PublicKey.from_public_bytes(kem_pub).encapsulate(),
            500,
        ),
        ("ML-KEM-1024 decapsulation", 1, lambda: kem_priv.decapsulate(kem_ct), 500),
        ("AES-256-GCM seal, 1568 B (e1 ekem1)", 2, lambda: aes.encrypt(nonce, kem_field, ck), 999),
        ("AES-256-GCM open, 1568 B", 2, lambda: aes.decrypt(nonce, kem_sealed, b"h" * 64), 2000),
        ("AES-256-GCM seal, 4693 B (proof)", 2, lambda: aes.encrypt(nonce, proof_plain, b""), 999),
        ("AES-256-GCM open, 4693 B", 2, lambda: aes.decrypt(nonce, proof_sealed, b""), 2000),
        ("AES-256-GCM seal/open, <= 8 B (payloads)", 4, lambda: aes.encrypt(nonce, b"", ck), 2000),
        ("Noise HKDF (3 x HMAC-SHA512)", 12, hkdf, 5000),
        ("SHA-512 MixHash, ~1.6 KB", 18, lambda: hashlib.sha512(ck + kem_sealed).digest(), 5000),
        ("SHA-512 msg1 digest, 1661 B", 2, lambda: hashlib.sha512(labelled_msg1).digest(), 5000),
        ("HMAC-SHA512 mac1, 64 B", 2, lambda: hmac.digest(ck, msg1_digest, "sha512"), 5000),
        ("Ed25519 sign", 2, lambda: alice.creds.ed25519.sign(b"label" + m), 2000),
        ("Ed25519 verify", 2, lambda: alice.keys.ed25519.verify(ed_sig, b"label" + m), 2000),
        ("ML-DSA-87 sign", 2, lambda: alice.creds.mldsa.sign(m, b"label"), 300),
        ("ML-DSA-87 verify", 2, lambda: alice.keys.mldsa.verify(ml_sig, m, b"label"), 1000),
    ]
    primitives = [(name, count, cpu_per_call(fn, reps)) for name, count, fn, reps in ops]
    total = sum(count * each for _, count, each in primitives)
    return handshake, total, primitives


def reject_rows(number: int) -> list[tuple[str, float]]:
    """Refusals per second of a msg1 no paired peer sent, for several table sizes.

    The cost is one SHA-512 over the Noise msg1, then one HMAC-SHA512 over its 64-byte digest
    per paired peer (from each peer's precomputed keyed state), so only that small part grows
    with the table.
    """
    bob = station()
    mallory = station()
    junk_msg1 = Initiator(
        mallory.creds, PairedPeer.derive(mallory.creds, bob.keys, os.urandom(64))
    ).start(NOW, 0)
    assert len(junk_msg1) == MSG1_LEN
    wire = with_length(junk_msg1)
    rows = []
    for peers in (1, 8, 64):
        entries = []
        for _ in range(peers):
            other = station()
            entries.append(PairedPeer.derive(bob.creds, other.keys, os.urandom(64)))
        table = PeerTable(entries)
        assert table.identify(junk_msg1) is None
        reps = max(100, number // peers)
        per_table = cpu_per_call(functools.partial(table.identify, junk_msg1), reps)
        per_acceptor = cpu_per_call(functools.partial(_accept, table, wire), reps)
        rows.append((f"PeerTable.identify, {peers} paired peer(s)", 1 / per_table))
        rows.append((f"Acceptor (new per stream), {peers} paired peer(s)", 1 / per_acceptor))
    return rows


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"cryptography {cryptography.__version__} on {backend.openssl_version_text()}"
    )


def main() -> None:
    handshake, total, primitives = handshake_row(number=200)
    print(f"# Handshake benchmark ({machine()})\n")
    print("| primitive | count per handshake | CPU each (µs) | subtotal (µs) |")
    print("| --- | ---: | ---: | ---: |")
    for name, count, each in primitives:
        print(f"| {name} | {count} | {each * 1e6:.1f} | {count * each * 1e6:.1f} |")
    print(f"| **sum of primitives** | | | **{total * 1e6:.0f}** |")
    print(f"| **full handshake, both sides** | | | **{handshake * 1e6:.0f}** |")
    ratio = handshake / total
    verdict = "OK" if ratio <= 1.5 else "OVER TARGET"
    print(f"\nOverhead ratio: {ratio:.2f}x (target <= 1.5x): {verdict}\n")
    print("| unpaired-initiator refusal | refusals/s (one core) |")
    print("| --- | ---: |")
    for name, rate in reject_rows(number=20_000):
        print(f"| {name} | {rate:,.0f} |")
    print("\nTarget: >= 10,000 refusals/s on one core.")


if __name__ == "__main__":
    main()
