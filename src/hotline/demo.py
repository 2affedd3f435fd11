"""``python -m hotline.demo`` (``make demo``): the Noise core at work, in memory.

Two in-memory parties run Hotline's handshake suite, exchange a few transport messages both
ways, then the official Noise vectors are replayed and the conformance summary printed. A
later issue replaces this with two real stations.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

from hotline.noise import HandshakeState, HandshakeStatus, NoiseProtocol, TransportState, vectors

SUITE = "Noise_KKhfs_25519+MLKEM1024_AESGCM_SHA512"
PROLOGUE = b"hotline/1 demo"

#: The project sits beside ``shared/`` (see shared/README.md): src/hotline/demo.py → repo root.
CACOPHONY = Path(__file__).resolve().parents[2].parent / "shared/vectors/noise/cacophony.txt"


def _static_pair() -> tuple[bytes, bytes]:
    """A fresh X25519 static key: (private, public). Real stations load theirs from disk."""
    key = x25519.X25519PrivateKey.generate()
    return key.private_bytes_raw(), key.public_key().public_bytes_raw()


def _handshake() -> tuple[TransportState, TransportState]:
    protocol = NoiseProtocol.from_name(SUITE)
    a_private, a_public = _static_pair()
    b_private, b_public = _static_pair()
    alpha = HandshakeState(protocol, initiator=True, prologue=PROLOGUE, s=a_private, rs=b_public)
    bravo = HandshakeState(protocol, initiator=False, prologue=PROLOGUE, s=b_private, rs=a_public)
    print(f"Handshake {SUITE} (both static keys pinned in advance)")
    for number, tokens in enumerate(protocol.pattern.messages, start=1):
        writer, reader, arrow = (
            (alpha, bravo, "alpha -> bravo")
            if alpha.status is HandshakeStatus.WRITING
            else (bravo, alpha, "bravo -> alpha")
        )
        message = writer.write_message()
        reader.read_message(message)
        names = ", ".join(token.value for token in tokens)
        print(f"  {arrow}  message {number}: {len(message):5d} bytes  ({names})")
    if alpha.handshake_hash != bravo.handshake_hash:  # cannot happen after two good reads
        raise SystemExit("demo: the two sides disagree on the handshake hash")
    print(f"  complete; both sides hold handshake hash {alpha.handshake_hash.hex()[:32]}...")
    return alpha.split(), bravo.split()


def _talk(alpha: TransportState, bravo: TransportState) -> None:
    print("Transport (AES-256-GCM, one nonce counter per direction)")
    exchanges = [
        (alpha, bravo, "alpha -> bravo", "TEST MESSAGE 0001: the line is up."),
        (bravo, alpha, "bravo -> alpha", "RECEIVED 0001. Line confirmed."),
        (alpha, bravo, "alpha -> bravo", "Quick brown fox jumps over the lazy dog 1234567890."),
        (bravo, alpha, "bravo -> alpha", "Съешь же ещё этих мягких французских булок."),
    ]
    for sender, receiver, arrow, text in exchanges:
        wire = sender.send.encrypt_with_ad(b"", text.encode())
        shown = receiver.receive.decrypt_with_ad(b"", wire).decode()
        print(f"  {arrow}  {len(wire):3d} bytes  {shown}")


def _conformance() -> int:
    print("Conformance: official Noise test vectors (cacophony), each side replayed")
    if not CACOPHONY.is_file():
        print(f"  note: {CACOPHONY} not found; the vectors live in ../shared beside the project")
        return 0
    status = vectors.main([str(CACOPHONY)])
    print("(skipped: protocols this core does not run, such as the deferred patterns)")
    return status


def main() -> int:
    """Run the demo; return the exit status (non-zero if a vector failed)."""
    alpha, bravo = _handshake()
    _talk(alpha, bravo)
    return _conformance()


if __name__ == "__main__":
    raise SystemExit(main())
