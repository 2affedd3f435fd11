"""Regenerate ``vectors/record.json``: the frozen known answers of docs/record-format.md.

Everything is fixed (keys, line id, salts, times, texts), so every encoding and hash is fixed,
and so are the Ed25519 halves of the signatures. ML-DSA-87 signs with fresh randomness: the file
keeps one real signature of each kind, which the test checks by verification.

Run ``.venv/bin/python -m tests.record.make_kat`` only to change the vectors on purpose: the
ML-DSA halves differ on every run and the suite pins what is committed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hotline.record import (
    AckBody,
    ChainRef,
    ChainWriter,
    CheckpointBody,
    Direction,
    Envelope,
    GapError,
    Kind,
    MessageBody,
    Nack,
    Precedence,
    Receipt,
    Statement,
    Subject,
    record_hash,
)
from hotline.signatures import HybridSignature

from .helpers import FIRST, LINE_ID, SECOND, T0, Station, fixed

KAT_PATH = Path(__file__).parent / "vectors" / "record.json"

#: The three envelopes: two of direction 0 (a FLASH message, a routine test), one ACK back.
TEXT_1 = "FLASH: Confirm receipt of this message. — Подтвердите получение. — אשרו קבלה."
TEXT_2 = "THE QUICK BROWN FOX JUMPED OVER THE LAZY DOG'S BACK 1234567890"
OPERATOR = "Lt. A. Cohen"
NOTE = "passed to the duty officer"
STATEMENT_TEXT = "The station confirms that the line was tested on 15 June 2025 and works."


def keys_json(station: Station) -> dict[str, str]:
    public = station.keys.public()
    return {
        "ed25519_private": station.keys.ed25519.private_bytes_raw().hex(),
        "mldsa87_seed": station.keys.mldsa87.private_bytes_raw().hex(),
        "ed25519_public": public.ed25519.public_bytes_raw().hex(),
        "mldsa87_public": public.mldsa87.public_bytes_raw().hex(),
    }


def envelope_json(envelope: Envelope, inputs: dict[str, Any]) -> dict[str, Any]:
    assert envelope.body is not None
    body = envelope.body.encode()
    return {
        "inputs": inputs,
        "body": body.hex(),
        "body_hash": envelope.header.body_hash.hex(),
        "header": envelope.header.encoded.hex(),
        "envelope_hash": envelope.hash.hex(),
        "wire": envelope.encode().hex(),
    }


def signed_json(message: bytes, signature: HybridSignature) -> dict[str, str]:
    return {
        "message": message.hex(),
        "ed25519": signature.ed25519.hex(),
        "mldsa87_sample": signature.mldsa87.hex(),
    }


def build() -> dict[str, Any]:
    salts = [fixed(f"kat salt {i}", 32) for i in (1, 2, 3)]
    first = ChainWriter(LINE_ID, Direction.FIRST)
    e1 = first.append(
        MessageBody(TEXT_1, salts[0]),
        kind=Kind.MESSAGE,
        precedence=Precedence.FLASH,
        queued_at_ms=T0,
        sequenced_at_ms=T0 + 2,
        cross=ChainRef(0, bytes(64)),
    )
    e2 = first.append(
        MessageBody(TEXT_2, salts[1]),
        kind=Kind.TEST,
        precedence=Precedence.ROUTINE,
        queued_at_ms=T0 + 1000,
        sequenced_at_ms=T0 + 1003,
        cross=ChainRef(0, bytes(64)),
    )
    second = ChainWriter(LINE_ID, Direction.SECOND)
    e3 = second.append(
        AckBody(e1.header.ref, OPERATOR, NOTE, salts[2]),
        kind=Kind.ACK,
        precedence=Precedence.FLASH,
        queued_at_ms=T0 + 5000,
        sequenced_at_ms=T0 + 5001,
        cross=e2.header.ref,
    )
    head = first.sign_head(FIRST.keys, T0 + 1004)
    receipt = Receipt.create(
        SECOND.keys,
        line_id=LINE_ID,
        direction=Direction.FIRST,
        received=e2.header.ref,
        receipted_at_ms=T0 + 1100,
        own=e3.header.ref,
    )
    body = CheckpointBody(
        LINE_ID, Direction.SECOND, 1, (e2.header.ref, e3.header.ref), T0 + 6000, T0 + 6040
    )
    nack = Nack.refusing(
        FIRST.keys,
        GapError("envelope 5 arrived after 3: 1 missing", seq=5, item_hash=fixed("gap", 64)),
        line_id=LINE_ID,
        direction=Direction.SECOND,
        subject=Subject.ENVELOPE,
        refused_at_ms=T0 + 7000,
    )
    statement = Statement.create(
        FIRST.keys, fingerprint=fixed("alpha fingerprint", 64), signed_at_ms=T0, text=STATEMENT_TEXT
    )
    return {
        "line_id": LINE_ID.hex(),
        "stations": [keys_json(FIRST), keys_json(SECOND)],
        "envelopes": [
            envelope_json(
                e1,
                {
                    "direction": 0,
                    "seq": 1,
                    "prev_hash": "00" * 64,
                    "cross_seq": 0,
                    "cross_hash": "00" * 64,
                    "queued_at": T0,
                    "sequenced_at": T0 + 2,
                    "precedence": 3,
                    "kind": 1,
                    "salt": salts[0].hex(),
                    "text": TEXT_1,
                },
            ),
            envelope_json(
                e2,
                {
                    "direction": 0,
                    "seq": 2,
                    "prev_hash": e1.hash.hex(),
                    "cross_seq": 0,
                    "cross_hash": "00" * 64,
                    "queued_at": T0 + 1000,
                    "sequenced_at": T0 + 1003,
                    "precedence": 0,
                    "kind": 2,
                    "salt": salts[1].hex(),
                    "text": TEXT_2,
                },
            ),
            envelope_json(
                e3,
                {
                    "direction": 1,
                    "seq": 1,
                    "prev_hash": "00" * 64,
                    "cross_seq": 2,
                    "cross_hash": e2.hash.hex(),
                    "queued_at": T0 + 5000,
                    "sequenced_at": T0 + 5001,
                    "precedence": 3,
                    "kind": 3,
                    "salt": salts[2].hex(),
                    "acked_seq": 1,
                    "acked_hash": e1.hash.hex(),
                    "operator": OPERATOR,
                    "note": NOTE,
                },
            ),
        ],
        "chain_head": {"signed_at": T0 + 1004, **signed_json(head.message(), head.signature)},
        "receipt": {"receipted_at": T0 + 1100, **signed_json(receipt.message(), receipt.signature)},
        "checkpoint": {
            "proposer": 1,
            "number": 1,
            "proposed_at": T0 + 6000,
            "cosigned_at": T0 + 6040,
            "body": body.encode().hex(),
            "signatures": [signed_json(body.encode(), body.sign(s.keys)) for s in (FIRST, SECOND)],
        },
        "nack": {
            "refused_at": T0 + 7000,
            "seq": 5,
            "reason": 7,
            "subject": 0x10,
            "item_hash": fixed("gap", 64).hex(),
            "text": nack.text,
            **signed_json(nack.message(), nack.signature),
        },
        "statement": {
            "fingerprint": statement.fingerprint.hex(),
            "signed_at": T0,
            "text": STATEMENT_TEXT,
            **signed_json(statement.message(), statement.signature),
        },
        "record_hash": record_hash(LINE_ID, e2.header.ref, e3.header.ref).hex(),
    }


def main() -> None:
    KAT_PATH.parent.mkdir(exist_ok=True)
    KAT_PATH.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {KAT_PATH}")


if __name__ == "__main__":
    main()
