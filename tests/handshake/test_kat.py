"""Known answers of the Hotline handshake, checked two independent ways.

``vectors/hotline_kk_hfs.json`` (made once by ``make_kat.py``) is replayed through

1. the implementation (``hotline.handshake`` on ``hotline.noise``), and
2. :class:`NaiveSide` below: a deliberately naive interpreter written line by line from the Noise
   spec (rev 34, §4-§5 and §12), the hfs spec (§4, snow's placement) and docs/protocol.md §2,
   on hashlib/hmac/pyca primitives only. It imports nothing from ``hotline``, so a KAT that both
   reproduce does not merely check the implementation against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hotline.constants import (
    AEAD_TAG_LEN,
    MLKEM1024_CIPHERTEXT_LEN,
    MLKEM1024_PUBLIC_KEY_LEN,
    MSG1_LEN,
    MSG2_LEN,
    PROOF_LEN,
    X25519_KEY_LEN,
)
from hotline.handshake import Initiator, KatHooks, PairedPeer, Responder
from hotline.session import SESSION_FRAMES

from .stations import FixedEncapsulationKem

KAT = json.loads((Path(__file__).parent / "vectors" / "hotline_kk_hfs.json").read_text())
#: The responder's clock when it reads the frozen msg1: the instant the msg1 says it was made.
KAT_NOW = KAT["timestamp"] / 1000


def unhex(name: str) -> bytes:
    return bytes.fromhex(KAT[name])


# --- The naive interpreter: Noise spec rev 34, read literally (the spec's own names) -----------

HASHLEN = 64  # §12.5 SHA512
DHLEN = 32  # §12.1 25519


def HASH(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def HMAC_HASH(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha512).digest()


def HKDF(chaining_key: bytes, ikm: bytes, num_outputs: int) -> list[bytes]:
    """§4.3: chained HMACs, not RFC 5869."""
    temp_key = HMAC_HASH(chaining_key, ikm)
    output1 = HMAC_HASH(temp_key, b"\x01")
    output2 = HMAC_HASH(temp_key, output1 + b"\x02")
    if num_outputs == 2:
        return [output1, output2]
    return [output1, output2, HMAC_HASH(temp_key, output2 + b"\x03")]


def ENCRYPT(k: bytes, n: int, ad: bytes, plaintext: bytes) -> bytes:
    """§12.4 AESGCM: 96-bit nonce = 32 zero bits || 64-bit big-endian n."""
    return AESGCM(k).encrypt(b"\x00" * 4 + n.to_bytes(8, "big"), plaintext, ad)


def DECRYPT(k: bytes, n: int, ad: bytes, ciphertext: bytes) -> bytes:
    return AESGCM(k).decrypt(b"\x00" * 4 + n.to_bytes(8, "big"), ciphertext, ad)


def DH(private: bytes, public: bytes) -> bytes:
    key = x25519.X25519PrivateKey.from_private_bytes(private)
    return key.exchange(x25519.X25519PublicKey.from_public_bytes(public))


def PUBLIC(private: bytes) -> bytes:
    return x25519.X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


#: The pattern, as docs/protocol.md writes it (KKhfs, e1 after the first DH of msg1).
PRE_MESSAGES = [("->", ["s"]), ("<-", ["s"])]
MESSAGES = [("->", ["e", "es", "e1", "ss"]), ("<-", ["e", "ee", "ekem1", "se"])]


class NaiveSide:
    """One side of a KKhfs handshake: a CipherState and a SymmetricState as plain fields."""

    def __init__(self, initiator: bool, keys: dict[str, Any]) -> None:
        self.initiator = initiator
        self.keys = keys  # s, e (private, raw), rs (public), e1_seed / kem_result
        self.re = b""
        self.re1 = b""
        self.e1_private: Any = None
        # InitializeSymmetric(protocol_name), §5.2
        name = KAT["protocol_name"].encode()
        self.h = name + bytes(HASHLEN - len(name)) if len(name) <= HASHLEN else HASH(name)
        self.ck = self.h
        self.k: bytes | None = None
        self.n = 0
        # MixHash(prologue), then the pre-messages, initiator's first (§5.3 Initialize)
        self.MixHash(naive_prologue())
        for arrow, tokens in PRE_MESSAGES:
            for _token in tokens:  # only "s"
                mine = (arrow == "->") == initiator
                self.MixHash(PUBLIC(keys["s"]) if mine else keys["rs"])

    def MixHash(self, data: bytes) -> None:
        self.h = HASH(self.h + data)

    def MixKey(self, ikm: bytes) -> None:
        self.ck, temp_k = HKDF(self.ck, ikm, 2)
        self.k, self.n = temp_k[:32], 0  # HASHLEN 64: truncate to 32

    def EncryptAndHash(self, plaintext: bytes) -> bytes:
        if self.k is None:
            ciphertext = plaintext
        else:
            ciphertext = ENCRYPT(self.k, self.n, self.h, plaintext)
            self.n += 1
        self.MixHash(ciphertext)
        return ciphertext

    def DecryptAndHash(self, ciphertext: bytes) -> bytes:
        if self.k is None:
            plaintext = ciphertext
        else:
            plaintext = DECRYPT(self.k, self.n, self.h, ciphertext)
            self.n += 1
        self.MixHash(ciphertext)
        return plaintext

    def dh_for(self, token: str) -> bytes:
        """§7.1: the first letter is the initiator's key, the second the responder's."""
        mine, theirs = (token[0], token[1]) if self.initiator else (token[1], token[0])
        private = self.keys["e"] if mine == "e" else self.keys["s"]
        public = self.re if theirs == "e" else self.keys["rs"]
        return DH(private, public)

    def WriteMessage(self, tokens: list[str], payload: bytes) -> bytes:
        buffer = b""
        for token in tokens:
            if token == "e":
                buffer += PUBLIC(self.keys["e"])
                self.MixHash(PUBLIC(self.keys["e"]))
            elif token in ("ee", "es", "se", "ss"):
                self.MixKey(self.dh_for(token))
            elif token == "e1":  # hfs §4: send the KEM public key as s is sent
                self.e1_private = mlkem.MLKEM1024PrivateKey.from_seed_bytes(self.keys["e1_seed"])
                buffer += self.EncryptAndHash(self.e1_private.public_key().public_bytes_raw())
            elif token == "ekem1":  # hfs §4: EncryptAndHash(ciphertext), then MixKey(output)
                ciphertext, shared = self.keys["kem_result"]
                buffer += self.EncryptAndHash(ciphertext)
                self.MixKey(shared)
        return buffer + self.EncryptAndHash(payload)

    def ReadMessage(self, tokens: list[str], message: bytes) -> bytes:
        for token in tokens:
            if token == "e":
                self.re, message = message[:DHLEN], message[DHLEN:]
                self.MixHash(self.re)
            elif token in ("ee", "es", "se", "ss"):
                self.MixKey(self.dh_for(token))
            elif token == "e1":
                field, message = message[: 1568 + 16], message[1568 + 16 :]
                self.re1 = self.DecryptAndHash(field)
            elif token == "ekem1":
                field, message = message[: 1568 + 16], message[1568 + 16 :]
                ciphertext = self.DecryptAndHash(field)
                self.MixKey(self.e1_private.decapsulate(ciphertext))
        return self.DecryptAndHash(message)

    def Split(self) -> tuple[bytes, bytes]:
        temp_k1, temp_k2 = HKDF(self.ck, b"", 2)
        return temp_k1[:32], temp_k2[:32]


def naive_prologue() -> bytes:
    """docs/protocol.md §2.2: the version, then the line id."""
    return b"hotline/1" + unhex("line_id")


def naive_mac1(static_private: bytes, peer: bytes, sender: bytes, msg: bytes) -> bytes:
    """docs/protocol.md §2.3, with RFC 5869 HKDF written out (one block: L = 32 <= 64)."""
    prk = HMAC_HASH(unhex("line_id"), DH(static_private, peer))  # HKDF-Extract
    key = HMAC_HASH(prk, b"hotline/1 mac1" + sender + b"\x01")[:32]  # HKDF-Expand T(1)
    return HMAC_HASH(key, HASH(b"hotline/1 msg1 digest" + msg))[:32]


def naive_verify_proof(role: bytes, frame: bytes, ed_public: bytes, ml_public: bytes) -> None:
    """docs/protocol.md §2.5: parse the PROOF frame and check both signatures."""
    assert frame[:2] == b"\x01\x08" and len(frame) == 2 + 64 + 4627
    name = KAT["protocol_name"].encode()
    m = role + bytes([len(name)]) + name + unhex("line_id") + unhex("handshake_hash")
    label = b"hotline/1 handshake proof"
    ed25519.Ed25519PublicKey.from_public_bytes(ed_public).verify(frame[2:66], label + m)
    mldsa.MLDSA87PublicKey.from_public_bytes(ml_public).verify(frame[66:], m, label)


def naive_run() -> dict[str, Any]:
    """Both sides of the handshake and transport, by the naive interpreter."""
    init_s, resp_s = unhex("init_static"), unhex("resp_static")
    kem_result = (unhex("resp_kem_ciphertext"), unhex("resp_kem_shared_secret"))
    initiator = NaiveSide(
        True,
        {
            "s": init_s,
            "e": unhex("init_ephemeral"),
            "rs": PUBLIC(resp_s),
            "e1_seed": unhex("init_e1_seed"),
        },
    )
    responder = NaiveSide(
        False,
        {"s": resp_s, "e": unhex("resp_ephemeral"), "rs": PUBLIC(init_s), "kem_result": kem_result},
    )
    timestamp = KAT["timestamp"].to_bytes(8, "big")
    noise1 = initiator.WriteMessage(MESSAGES[0][1], timestamp)
    msg1 = noise1 + naive_mac1(init_s, PUBLIC(resp_s), PUBLIC(init_s), noise1)
    assert responder.ReadMessage(MESSAGES[0][1], msg1[:-32]) == timestamp
    msg2 = responder.WriteMessage(MESSAGES[1][1], b"")
    assert initiator.ReadMessage(MESSAGES[1][1], msg2) == b""
    assert initiator.h == responder.h
    return {"msg1": msg1, "msg2": msg2, "h": initiator.h, "keys": initiator.Split()}


# --- The tests -------------------------------------------------------------------------------


def test_the_naive_interpreter_reproduces_the_frozen_bytes() -> None:
    assert naive_prologue().hex() == KAT["prologue"]
    run = naive_run()
    assert run["msg1"].hex() == KAT["msg1"]
    assert run["msg2"].hex() == KAT["msg2"]
    assert run["h"].hex() == KAT["handshake_hash"]
    to_responder, to_initiator = run["keys"]
    for entry in KAT["transport"]:
        key = to_responder if entry["from"] == "initiator" else to_initiator
        expected = ENCRYPT(key, entry["nonce"], b"", bytes.fromhex(entry["payload"]))
        assert expected.hex() == entry["ciphertext"]


def test_the_naive_interpreter_verifies_the_recorded_proofs() -> None:
    to_responder, to_initiator = naive_run()["keys"]
    # Each proof is the first transport message (nonce 0) of its direction.
    init_frame = DECRYPT(to_responder, 0, b"", unhex("init_proof_example"))
    resp_frame = DECRYPT(to_initiator, 0, b"", unhex("resp_proof_example"))
    naive_verify_proof(b"I", init_frame, unhex("init_ed25519_public"), unhex("init_mldsa87_public"))
    naive_verify_proof(b"R", resp_frame, unhex("resp_ed25519_public"), unhex("resp_mldsa87_public"))


def test_transport_payloads_are_session_frames() -> None:
    for entry in KAT["transport"]:
        frame = SESSION_FRAMES.decode(bytes.fromhex(entry["payload"]))
        assert SESSION_FRAMES.encode(frame).hex() == entry["payload"]


def _sides() -> tuple[Initiator, Responder]:
    """The implementation, keyed from the KAT file alone (signing keys: verify-only here)."""
    from .make_kat import stations

    init_station, resp_station = stations()
    assert init_station.creds.static.private_bytes_raw().hex() == KAT["init_static"]
    assert resp_station.creds.static.private_bytes_raw().hex() == KAT["resp_static"]
    line_id = unhex("line_id")
    kem = FixedEncapsulationKem(unhex("resp_kem_ciphertext"), unhex("resp_kem_shared_secret"))
    initiator = Initiator(
        init_station.creds,
        PairedPeer.derive(init_station.creds, resp_station.keys, line_id),
        hooks=KatHooks(ephemeral=unhex("init_ephemeral"), kem_seed=unhex("init_e1_seed")),
    )
    responder = Responder(
        resp_station.creds,
        PairedPeer.derive(resp_station.creds, init_station.keys, line_id),
        last_accepted=0,
        hooks=KatHooks(ephemeral=unhex("resp_ephemeral"), kem=kem),
    )
    return initiator, responder


def test_the_implementation_reproduces_the_frozen_bytes() -> None:
    initiator, responder = _sides()
    assert initiator.start(now=0.0, last_sent=KAT["timestamp"] - 1).hex() == KAT["msg1"]
    assert responder.receive_msg1(unhex("msg1"), KAT_NOW).hex() == KAT["msg2"]
    assert responder.timestamp == KAT["timestamp"]
    proof_i = initiator.receive_msg2(unhex("msg2"))
    proof_r, resp_session = responder.receive_proof(proof_i)
    init_session = initiator.receive_proof(proof_r)
    assert init_session.handshake_hash.hex() == KAT["handshake_hash"]
    assert resp_session.handshake_hash.hex() == KAT["handshake_hash"]
    for entry in KAT["transport"]:
        sender = init_session if entry["from"] == "initiator" else resp_session
        assert sender.transport.send.nonce == entry["nonce"]
        message = sender.transport.send.encrypt_with_ad(b"", bytes.fromhex(entry["payload"]))
        assert message.hex() == entry["ciphertext"]


def test_the_implementation_accepts_the_recorded_proofs() -> None:
    """Proofs signed in an earlier run (randomized ML-DSA) verify in this one: same transcript."""
    initiator, responder = _sides()
    initiator.start(now=0.0, last_sent=KAT["timestamp"] - 1)
    responder.receive_msg1(unhex("msg1"), KAT_NOW)
    initiator.receive_msg2(unhex("msg2"))
    _, session = responder.receive_proof(unhex("init_proof_example"))
    assert session.handshake_hash.hex() == KAT["handshake_hash"]
    assert initiator.receive_proof(unhex("resp_proof_example")).handshake_hash == (
        session.handshake_hash
    )


def test_the_naive_interpreter_can_fail() -> None:
    """Guard against a checker that passes anything: one changed input changes every output."""
    original = KAT["timestamp"]
    KAT["timestamp"] = original + 1
    try:
        run = naive_run()
    finally:
        KAT["timestamp"] = original
    assert run["msg1"].hex() != KAT["msg1"]
    assert run["h"].hex() != KAT["handshake_hash"]


def test_the_named_sizes_are_the_primitives_own() -> None:
    """The constants behind the message sizes, against pyca's real keys and ciphertexts."""
    kem = mlkem.MLKEM1024PrivateKey.generate()
    _, ciphertext = kem.public_key().encapsulate()
    assert len(kem.public_key().public_bytes_raw()) == MLKEM1024_PUBLIC_KEY_LEN == 1568
    assert len(ciphertext) == MLKEM1024_CIPHERTEXT_LEN == 1568
    assert len(PUBLIC(bytes(32))) == X25519_KEY_LEN == DHLEN
    assert len(ENCRYPT(bytes(32), 0, b"", b"")) == AEAD_TAG_LEN == 16


def test_frozen_sizes_match_the_documented_arithmetic() -> None:
    assert len(unhex("msg1")) == MSG1_LEN == 32 + (1568 + 16) + (8 + 16) + 32
    assert len(unhex("msg2")) == MSG2_LEN == 32 + (1568 + 16) + 16
    assert len(unhex("init_proof_example")) == PROOF_LEN == 2 + 64 + 4627 + 16
