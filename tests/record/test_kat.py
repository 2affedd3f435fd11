"""Known answers of docs/record-format.md, checked two independent ways.

``vectors/record.json`` (made once by ``make_kat.py``) is replayed through

1. a naive reading of the document below, written from its tables with ``hashlib``, ``struct``
   and pyca's verify calls only: it imports nothing from ``hotline``, so a vector both sides
   reproduce checks the implementation against the specification, not against itself; and
2. the implementation, which must produce the same bytes (and the same Ed25519 signatures, which
   are deterministic) and accept the recorded ML-DSA-87 signatures.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA87PublicKey

KAT: dict[str, Any] = json.loads((Path(__file__).parent / "vectors" / "record.json").read_text())


def unhex(value: str) -> bytes:
    return bytes.fromhex(value)


# --- The naive reading of docs/record-format.md ------------------------------------------------
def H(label: str, data: bytes) -> bytes:
    """§1: H(label, x) = SHA-512(label || x)."""
    return hashlib.sha512(label.encode("ascii") + data).digest()


def vbytes(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ref(seq: int, digest: bytes) -> bytes:
    return struct.pack(">Q", seq) + digest


def naive_body(i: dict[str, Any]) -> bytes:
    """§3.2."""
    salt = unhex(i["salt"])
    if i["kind"] in (1, 2):
        return salt + vbytes(i["text"].encode()) + b"\x00"
    return (
        salt
        + ref(i["acked_seq"], unhex(i["acked_hash"]))
        + vbytes(i["operator"].encode())
        + vbytes(i["note"].encode())
    )


def naive_header(i: dict[str, Any], line_id: bytes, body: bytes) -> bytes:
    """§3.1, field by field from the table."""
    return (
        b"\x01"
        + line_id
        + struct.pack(">BQ", i["direction"], i["seq"])
        + unhex(i["prev_hash"])
        + ref(i["cross_seq"], unhex(i["cross_hash"]))
        + struct.pack(
            ">QQBBI", i["queued_at"], i["sequenced_at"], i["precedence"], i["kind"], len(body)
        )
        + H("hotline/1 body", body)
    )


def naive_verify(station: dict[str, str], label: str, message: bytes, ed: bytes, ml: bytes) -> bool:
    """§1: Ed25519 over label || m, ML-DSA-87 over m with context label; both must verify."""
    try:
        Ed25519PublicKey.from_public_bytes(unhex(station["ed25519_public"])).verify(
            ed, label.encode() + message
        )
        MLDSA87PublicKey.from_public_bytes(unhex(station["mldsa87_public"])).verify(
            ml, message, label.encode()
        )
    except InvalidSignature:
        return False
    return True


def naive_ed25519(station: dict[str, str], label: str, message: bytes) -> bytes:
    key = Ed25519PrivateKey.from_private_bytes(unhex(station["ed25519_private"]))
    return key.sign(label.encode() + message)


LINE_ID = unhex(KAT["line_id"])
ALPHA, BRAVO = KAT["stations"]
E1, E2, E3 = KAT["envelopes"]


@pytest.mark.parametrize("vector", KAT["envelopes"], ids=["message", "test", "ack"])
def test_naive_envelopes(vector: dict[str, Any]) -> None:
    body = naive_body(vector["inputs"])
    header = naive_header(vector["inputs"], LINE_ID, body)
    assert len(header) == 296
    assert body.hex() == vector["body"]
    assert H("hotline/1 body", body).hex() == vector["body_hash"]
    assert header.hex() == vector["header"]
    assert H("hotline/1 envelope", header).hex() == vector["envelope_hash"]
    assert (header + body).hex() == vector["wire"]


def test_naive_chain_links() -> None:
    assert E2["inputs"]["prev_hash"] == E1["envelope_hash"]
    assert E3["inputs"]["cross_hash"] == E2["envelope_hash"]
    assert E3["inputs"]["acked_hash"] == E1["envelope_hash"]


def test_naive_chain_head() -> None:
    v = KAT["chain_head"]
    message = (
        LINE_ID
        + struct.pack(">BQ", 0, 2)
        + unhex(E2["envelope_hash"])
        + struct.pack(">Q", v["signed_at"])
    )
    assert message.hex() == v["message"]
    assert naive_ed25519(ALPHA, "hotline/1 chain head", message).hex() == v["ed25519"]
    assert naive_verify(
        ALPHA, "hotline/1 chain head", message, unhex(v["ed25519"]), unhex(v["mldsa87_sample"])
    )
    assert not naive_verify(
        BRAVO, "hotline/1 chain head", message, unhex(v["ed25519"]), unhex(v["mldsa87_sample"])
    )


def test_naive_receipt() -> None:
    v = KAT["receipt"]
    message = (
        LINE_ID
        + struct.pack(">BQ", 0, 2)
        + unhex(E2["envelope_hash"])
        + struct.pack(">Q", v["receipted_at"])
        + ref(1, unhex(E3["envelope_hash"]))
    )
    assert message.hex() == v["message"]
    assert naive_ed25519(BRAVO, "hotline/1 receipt", message).hex() == v["ed25519"]
    assert naive_verify(
        BRAVO, "hotline/1 receipt", message, unhex(v["ed25519"]), unhex(v["mldsa87_sample"])
    )


def test_naive_checkpoint() -> None:
    v = KAT["checkpoint"]
    body = (
        LINE_ID
        + struct.pack(">BQ", v["proposer"], v["number"])
        + ref(2, unhex(E2["envelope_hash"]))
        + ref(1, unhex(E3["envelope_hash"]))
        + struct.pack(">QQ", v["proposed_at"], v["cosigned_at"])
    )
    assert body.hex() == v["body"]
    for station, signature in zip((ALPHA, BRAVO), v["signatures"], strict=True):
        assert naive_ed25519(station, "hotline/1 checkpoint", body).hex() == signature["ed25519"]
        assert naive_verify(
            station,
            "hotline/1 checkpoint",
            body,
            unhex(signature["ed25519"]),
            unhex(signature["mldsa87_sample"]),
        )


def test_naive_nack() -> None:
    v = KAT["nack"]
    message = (
        LINE_ID
        + struct.pack(">BBQ", 1, v["subject"], v["seq"])
        + unhex(v["item_hash"])
        + struct.pack(">B", v["reason"])
        + vbytes(v["text"].encode())
        + struct.pack(">Q", v["refused_at"])
    )
    assert message.hex() == v["message"]
    assert naive_verify(
        ALPHA, "hotline/1 nack", message, unhex(v["ed25519"]), unhex(v["mldsa87_sample"])
    )


def test_naive_statement() -> None:
    v = KAT["statement"]
    message = (
        unhex(v["fingerprint"]) + struct.pack(">Q", v["signed_at"]) + vbytes(v["text"].encode())
    )
    assert message.hex() == v["message"]
    assert naive_verify(
        ALPHA, "hotline/1 statement", message, unhex(v["ed25519"]), unhex(v["mldsa87_sample"])
    )
    changed = message.replace(b"works", b"fails")
    assert not naive_verify(
        ALPHA, "hotline/1 statement", changed, unhex(v["ed25519"]), unhex(v["mldsa87_sample"])
    )


def test_naive_record_hash() -> None:
    data = LINE_ID + ref(2, unhex(E2["envelope_hash"])) + ref(1, unhex(E3["envelope_hash"]))
    assert H("hotline/1 record", data).hex() == KAT["record_hash"]


# --- The implementation reproduces every byte ------------------------------------------------
def test_the_implementation_reproduces_the_vectors() -> None:
    from . import make_kat

    rebuilt = make_kat.build()

    def without_mldsa(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_mldsa(v) for k, v in value.items() if k != "mldsa87_sample"}
        if isinstance(value, list):
            return [without_mldsa(v) for v in value]
        return value

    assert without_mldsa(rebuilt) == without_mldsa(KAT)


def test_the_implementation_decodes_and_verifies_the_recorded_items() -> None:
    from hotline.record import (
        GENESIS,
        ChainHead,
        ChainValidator,
        Checkpoint,
        Direction,
        Envelope,
        Nack,
        Receipt,
        Statement,
        record_hash,
    )
    from hotline.signatures import VerifyKeys

    def keys(station: dict[str, str]) -> VerifyKeys:
        return VerifyKeys.from_public_bytes(
            unhex(station["ed25519_public"]), unhex(station["mldsa87_public"])
        )

    def signed(v: dict[str, str]) -> bytes:
        return unhex(v["message"]) + unhex(v["ed25519"]) + unhex(v["mldsa87_sample"])

    alpha, bravo = keys(ALPHA), keys(BRAVO)
    e1, e2, e3 = (Envelope.decode(unhex(e["wire"])) for e in KAT["envelopes"])
    head = ChainHead.decode(signed(KAT["chain_head"]))
    validator = ChainValidator(LINE_ID, Direction.FIRST, alpha)
    validator.receive_envelope(e1)
    validator.receive_envelope(e2)
    assert validator.receive_head(head) == (e1, e2)
    assert Receipt.decode(signed(KAT["receipt"])).verify(bravo)
    assert Nack.decode(signed(KAT["nack"])).verify(alpha)
    statement = Statement.decode(signed(KAT["statement"]))
    assert statement.signed_by_card(unhex(KAT["statement"]["fingerprint"]), alpha)
    checkpoint = KAT["checkpoint"]
    sigs = [unhex(s["ed25519"]) + unhex(s["mldsa87_sample"]) for s in checkpoint["signatures"]]
    assert Checkpoint.decode(unhex(checkpoint["body"]) + sigs[0] + sigs[1]).verify((alpha, bravo))
    assert record_hash(LINE_ID, e2.header.ref, e3.header.ref).hex() == KAT["record_hash"]
    assert record_hash(LINE_ID, e2.header.ref, GENESIS).hex() != KAT["record_hash"]


def test_the_document_quotes_the_vectors_and_the_labels() -> None:
    import re

    import hotline.constants
    from tests.conftest import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "record-format.md").read_text()
    flat = re.sub(r"\s+", "", text)
    assert KAT["record_hash"] in flat
    assert KAT["envelopes"][0]["envelope_hash"] in flat
    record_labels = {
        "ENVELOPE",
        "BODY",
        "RECORD",
        "NACK",
        "CHAIN_HEAD",
        "RECEIPT",
        "CHECKPOINT",
        "STATEMENT",
    }
    for suffix in record_labels:
        name = f"LABEL_{suffix}"
        value: bytes = getattr(hotline.constants, name)
        assert f"| `{name}` | `{value.decode()}` |" in text
