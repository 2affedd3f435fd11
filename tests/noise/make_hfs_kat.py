"""Regenerate ``data/hfs_kat.json``: frozen known-answer vectors for the ``hfs`` modifier.

No public vectors exist for hfs with ML-KEM (see ``shared/vectors/noise/HFS_NOTES.md``), so
Hotline freezes its own. pyca takes no encapsulation randomness, so each vector records the
responder's encapsulation (``resp_kem_ciphertext``, ``resp_kem_shared_secret``) next to the
initiator's ML-KEM seed (``init_e1_seed``); the runner injects the recorded encapsulation on
the responder side, and the initiator side really decapsulates it.

Run ``.venv/bin/python -m tests.noise.make_hfs_kat`` only to change the set on purpose: a new
file differs in every ``ekem1`` byte, and the test suite pins whatever is committed.
"""

from __future__ import annotations

import json
from pathlib import Path

from hotline.noise import NoiseProtocol

from .helpers import RecordingKem, fixed_key, make_side, run_handshake, side_keys

KAT_PATH = Path(__file__).parent / "data" / "hfs_kat.json"

NAMES = (
    "Noise_KKhfs_25519+MLKEM1024_AESGCM_SHA512",
    "Noise_IKhfs_25519+MLKEM1024_AESGCM_SHA512",
    "Noise_XXhfs_25519+MLKEM1024_ChaChaPoly_SHA256",
    "Noise_NNhfs_25519+MLKEM1024_ChaChaPoly_BLAKE2b",
    "Noise_NKhfs_25519+MLKEM768_AESGCM_SHA256",
    "Noise_NNpsk0+hfs_25519+MLKEM768_ChaChaPoly_BLAKE2s",
)

PROLOGUE = b"hotline hfs kat"
PAYLOADS = (b"first", b"second", b"third", b"fourth", b"fifth", b"sixth")


def make_vector(name: str) -> dict[str, object]:
    protocol = NoiseProtocol.from_name(name)
    assert protocol.kem is not None
    seed = fixed_key("init e1 seed", 64)
    recorder = RecordingKem(protocol.kem)
    initiator = make_side(
        protocol, initiator=True, prologue=PROLOGUE, fixed_ephemeral=True, e1=seed
    )
    responder = make_side(
        protocol, initiator=False, prologue=PROLOGUE, fixed_ephemeral=True, kem=recorder
    )
    handshake_len = len(protocol.pattern.messages)
    messages = run_handshake(initiator, responder, PAYLOADS[:handshake_len])
    (_, ciphertext, shared), *_ = recorder.encapsulations
    sends, receives = initiator.split(), responder.split()
    for index, payload in enumerate(PAYLOADS[handshake_len:], start=handshake_len):
        forward = protocol.pattern.sent_by_initiator(index)
        writer, reader = (sends, receives) if forward else (receives, sends)
        messages.append(writer.send.encrypt_with_ad(b"", payload))
        assert reader.receive.decrypt_with_ad(b"", messages[-1]) == payload
    vector: dict[str, object] = {"protocol_name": name}
    for prefix, is_initiator in (("init", True), ("resp", False)):
        keys = side_keys(protocol, initiator=is_initiator, fixed_ephemeral=True)
        vector[f"{prefix}_prologue"] = PROLOGUE.hex()
        for field, value in (
            ("static", keys.static),
            ("ephemeral", keys.ephemeral),
            ("remote_static", keys.remote_static),
        ):
            if value is not None:
                vector[f"{prefix}_{field}"] = value.hex()
        if keys.psks:
            vector[f"{prefix}_psks"] = [psk.hex() for psk in keys.psks]
    vector["init_e1_seed"] = seed.hex()
    vector["resp_kem_ciphertext"] = ciphertext.hex()
    vector["resp_kem_shared_secret"] = shared.hex()
    vector["handshake_hash"] = initiator.handshake_hash.hex()
    vector["messages"] = [
        {"payload": payload.hex(), "ciphertext": message.hex()}
        for payload, message in zip(PAYLOADS, messages, strict=True)
    ]
    return vector


def main() -> None:
    document = {"vectors": [make_vector(name) for name in NAMES]}
    KAT_PATH.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {len(NAMES)} vectors to {KAT_PATH}")


if __name__ == "__main__":
    main()
