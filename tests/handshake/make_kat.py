"""Regenerate ``vectors/hotline_kk_hfs.json``: the frozen known answers of the Hotline handshake.

No public hfs vectors exist (``shared/vectors/noise/HFS_NOTES.md``), so Hotline freezes its own,
for the whole construction a second implementation must reproduce: prologue, mac1, the two
KKhfs messages with the timestamp payload, the handshake hash, and the first transport messages
after the proofs. Everything is fixed (statics, ephemerals, the initiator's ML-KEM seed, the
line id, the timestamp) except the responder's encapsulation, which pyca cannot make
deterministic: it is made once, for real, against the e1 public key and recorded
(``resp_kem_ciphertext``, ``resp_kem_shared_secret``), then injected through ``KatHooks.kem``.
The proofs are randomized (ML-DSA signs with fresh randomness), so the file keeps the public
signing keys and the test verifies proofs instead of comparing bytes.

Run ``.venv/bin/python -m tests.handshake.make_kat`` only to change the vectors on purpose: a new
run differs in every byte after ``e1`` and the suite pins what is committed. With
``--keep-encapsulation`` it reuses the committed encapsulation (checked by decapsulating it), so
a change outside the Noise transcript (mac1) leaves msg2, the hash and the transport unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from hotline.constants import NOISE_PROTOCOL_NAME
from hotline.handshake import Initiator, KatHooks, PairedPeer, Responder, prologue
from hotline.noise import MLKEM1024
from hotline.session import SESSION_FRAMES, Data, Hello

from .stations import FixedEncapsulationKem, Station, make_station

KAT_PATH = Path(__file__).parent / "vectors" / "hotline_kk_hfs.json"

#: Milliseconds since the epoch (2025-06-15T14:40:00Z): the msg1 payload.
TIMESTAMP = 1_750_000_000_000

#: Frames sent after the proofs, alternating initiator → responder, responder → initiator.
TRANSPORT_FRAMES = (
    Hello(b"kat hello from the initiator"),
    Hello(b""),
    Data(b"\x00\x01\x02 data from the initiator"),
    Data("ответ с другой стороны".encode()),
)


def fixed(label: str, n: int) -> bytes:
    """``n`` fixed bytes named by ``label`` (SHA-512 based, so anyone can regenerate them)."""
    return hashlib.sha512(b"hotline kat " + label.encode()).digest()[:n]


def stations() -> tuple[Station, Station]:
    return make_station(101), make_station(202)


def main() -> None:
    initiator_station, responder_station = stations()
    line_id = fixed("line id", 64)
    init_e, resp_e, e1_seed = fixed("init e", 32), fixed("resp e", 32), fixed("init e1", 64)

    # The one real encapsulation, against the initiator's e1 public key.
    e1 = MLKEM1024.generate(e1_seed)
    if "--keep-encapsulation" in sys.argv[1:]:
        committed = json.loads(KAT_PATH.read_text())
        ciphertext = bytes.fromhex(committed["resp_kem_ciphertext"])
        shared = bytes.fromhex(committed["resp_kem_shared_secret"])
        assert MLKEM1024.decapsulate(e1, ciphertext) == shared, "not an encapsulation to e1"
    else:
        ciphertext, shared = MLKEM1024.encapsulate(e1.public)

    to_responder = PairedPeer.derive(initiator_station.creds, responder_station.keys, line_id)
    to_initiator = PairedPeer.derive(responder_station.creds, initiator_station.keys, line_id)
    initiator = Initiator(
        initiator_station.creds, to_responder, hooks=KatHooks(ephemeral=init_e, kem_seed=e1_seed)
    )
    responder = Responder(
        responder_station.creds,
        to_initiator,
        last_accepted=0,
        hooks=KatHooks(ephemeral=resp_e, kem=FixedEncapsulationKem(ciphertext, shared)),
    )
    msg1 = initiator.start(now=0.0, last_sent=TIMESTAMP - 1)
    msg2 = responder.receive_msg1(msg1, TIMESTAMP / 1000)
    proof_i = initiator.receive_msg2(msg2)
    proof_r, resp_session = responder.receive_proof(proof_i)
    init_session = initiator.receive_proof(proof_r)
    assert init_session.handshake_hash == resp_session.handshake_hash

    transport = []
    for index, frame in enumerate(TRANSPORT_FRAMES):
        sender, receiver = (
            (init_session, resp_session) if index % 2 == 0 else (resp_session, init_session)
        )
        plaintext = SESSION_FRAMES.encode(frame)
        nonce = sender.transport.send.nonce
        message = sender.transport.send.encrypt_with_ad(b"", plaintext)
        assert receiver.transport.receive.decrypt_with_ad(b"", message) == plaintext
        transport.append(
            {
                "from": "initiator" if index % 2 == 0 else "responder",
                "nonce": nonce,
                "payload": plaintext.hex(),
                "ciphertext": message.hex(),
            }
        )

    vector = {
        "protocol_name": NOISE_PROTOCOL_NAME,
        "prologue": prologue(line_id).hex(),
        "line_id": line_id.hex(),
        "init_static": initiator_station.creds.static.private_bytes_raw().hex(),
        "resp_static": responder_station.creds.static.private_bytes_raw().hex(),
        "init_ephemeral": init_e.hex(),
        "resp_ephemeral": resp_e.hex(),
        "init_e1_seed": e1_seed.hex(),
        "resp_kem_ciphertext": ciphertext.hex(),
        "resp_kem_shared_secret": shared.hex(),
        "timestamp": TIMESTAMP,
        "init_ed25519_public": initiator_station.keys.ed25519.public_bytes_raw().hex(),
        "init_mldsa87_public": initiator_station.keys.mldsa.public_bytes_raw().hex(),
        "resp_ed25519_public": responder_station.keys.ed25519.public_bytes_raw().hex(),
        "resp_mldsa87_public": responder_station.keys.mldsa.public_bytes_raw().hex(),
        "msg1": msg1.hex(),
        "msg2": msg2.hex(),
        "init_proof_example": proof_i.hex(),
        "resp_proof_example": proof_r.hex(),
        "handshake_hash": init_session.handshake_hash.hex(),
        "transport": transport,
    }
    KAT_PATH.write_text(json.dumps(vector, indent=2) + "\n")
    print(f"wrote {KAT_PATH}")


if __name__ == "__main__":
    main()
