"""Benchmark: ``hotline verify`` of a 100,000-message record against plain chain hashing.

Issue 9, "Benchmark": verifying an export is bound by hashing, not by signatures, because a
station signs one head per sequencing commit, not one per message. The record is built the way
a busy line builds it (:func:`build_record`): ``MESSAGES`` envelopes, half in each direction,
each direction's head signed every ``HEAD_EVERY`` envelopes (the courier's largest head
interval under load), a cumulative receipt for each of those batches, and a checkpoint both
stations sign every ``CHECKPOINT_EVERY`` envelopes. Bodies are ``TEXT_BYTES`` of text.

Measured in the same run, on the same envelopes (best of ``REPEATS``, wall time, one core):

1. **verify**: :func:`hotline.verify.verify_export` on the whole file, as ``hotline verify``
   runs it: split, decode, every hash, link, cross-link, signature (both algorithms), receipt
   and checkpoint.
2. **SHA-256 chain**: ``h = SHA-256(h || envelope bytes)`` over the encoded envelopes: the
   cheapest hash chain over the same bytes, the baseline the issue names.
3. **SHA-512 hashes of the format**: the two tagged SHA-512 hashes each envelope needs (its
   body, then its header with that body hash), with no parsing: what record-format.md §1 makes
   a verifier compute at the least.

Run: ``.venv/bin/python -m bench.bench_verify`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Final

from hotline.constants import LABEL_BODY, LABEL_ENVELOPE
from hotline.identity import Card, StationKeys, line_id
from hotline.record import (
    GENESIS,
    ChainHead,
    ChainWriter,
    Checkpoint,
    CheckpointBody,
    Direction,
    Envelope,
    ExportRange,
    Kind,
    MessageBody,
    Precedence,
    Receipt,
    Span,
    encode_export,
)
from hotline.verify import verify_export

from .bench_handshake import machine

MESSAGES: Final = 100_000
HEAD_EVERY: Final = 256
CHECKPOINT_EVERY: Final = 5_000
TEXT_BYTES: Final = 200
REPEATS: Final = 3
#: 2026-01-01T00:00:00Z in UTC milliseconds; one envelope per millisecond.
T0: Final = 1_767_225_600_000


class _Side:
    """One station of the benchmark line: its keys, its chain writer, what it received."""

    def __init__(self, keys: StationKeys, line: bytes, direction: Direction) -> None:
        self.keys = keys.signing_keys()
        self.writer = ChainWriter(line, direction)
        self.received = GENESIS


def build_record(messages: int = MESSAGES) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Build the export of a two-way line of ``messages`` envelopes.

    Returns:
        The export file, and each envelope's header and body encodings (for the baselines).
    """
    keys = [StationKeys.generate(), StationKeys.generate()]
    cards = [Card.create(k, name, ()) for k, name in zip(keys, ("alpha", "bravo"), strict=True)]
    if cards[0].fingerprint.digest > cards[1].fingerprint.digest:
        cards.reverse()
        keys.reverse()
    line = line_id(*cards)
    sides = [_Side(k, line, d) for k, d in zip(keys, Direction, strict=True)]
    envelopes: list[Envelope] = []
    heads: list[ChainHead] = []
    receipts: list[Receipt] = []
    checkpoints: list[Checkpoint] = []
    text = "x" * TEXT_BYTES
    for index in range(messages):
        now = T0 + index
        sender = sides[index % 2]
        receiver = sides[1 - index % 2]
        envelope = sender.writer.append(
            MessageBody(text, index.to_bytes(32, "big")),
            kind=Kind.MESSAGE,
            precedence=Precedence.ROUTINE,
            queued_at_ms=now,
            sequenced_at_ms=now,
            cross=sender.received,
        )
        envelopes.append(envelope)
        receiver.received = envelope.header.ref
        if envelope.header.seq % HEAD_EVERY == 0 or index >= messages - 2:
            heads.append(sender.writer.sign_head(sender.keys, now))
            receipts.append(
                Receipt.create(
                    receiver.keys,
                    line_id=line,
                    direction=envelope.header.direction,
                    received=envelope.header.ref,
                    receipted_at_ms=now + 1,
                    own=receiver.writer.tip,
                )
            )
        if (index + 1) % CHECKPOINT_EVERY == 0:
            tips = (sides[0].writer.tip, sides[1].writer.tip)
            body = CheckpointBody(line, Direction.FIRST, len(checkpoints) + 1, tips, now, now + 1)
            signatures = (body.sign(sides[0].keys), body.sign(sides[1].keys))
            checkpoints.append(Checkpoint(body, signatures))
    spans = tuple(Span(1, side.writer.tip.seq) for side in sides)
    export = encode_export(
        (cards[0].encode(), cards[1].encode()),
        ExportRange(line, (spans[0], spans[1])),
        envelopes,
        heads,
        receipts=receipts,
        checkpoints=checkpoints,
    )
    return export, [(e.header.encoded, e.body.encode()) for e in envelopes if e.body]


def _best(run: Callable[[], object]) -> float:
    """The best wall time of ``REPEATS`` runs, in seconds."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _sha256_chain(parts: list[tuple[bytes, bytes]]) -> bytes:
    chain = bytes(32)
    for header, body in parts:
        chain = hashlib.sha256(chain + header + body).digest()
    return chain


def _format_hashes(parts: list[tuple[bytes, bytes]]) -> None:
    """Each envelope's tagged body hash, then its tagged header hash."""
    for header, body in parts:
        hashlib.sha512(LABEL_BODY + body).digest()
        hashlib.sha512(LABEL_ENVELOPE + header).digest()


def _verify(export: bytes) -> None:
    report = verify_export(export)
    if not report.valid:
        raise RuntimeError(f"the benchmark record does not verify: {report.failures[:3]}")


def main() -> None:
    start = time.perf_counter()
    export, encoded = build_record()
    built = time.perf_counter() - start
    heads = -(-MESSAGES // 2 // HEAD_EVERY) * 2
    print(f"# Verify benchmark ({machine()})\n")
    print(
        f"Record: {MESSAGES:,} envelopes ({TEXT_BYTES}-byte texts, half each way), about "
        f"{heads} heads and as many receipts, {MESSAGES // CHECKPOINT_EVERY} checkpoints; "
        f"export {len(export) / 1e6:.1f} MB, built in {built:.1f} s.\n"
    )
    rows = [
        ("verify_export (hotline verify)", _best(lambda: _verify(export))),
        ("SHA-256 chain over the envelope bytes", _best(lambda: _sha256_chain(encoded))),
        ("SHA-512 body + header hashes (format minimum)", _best(lambda: _format_hashes(encoded))),
    ]
    verify = rows[0][1]
    print("| step | seconds | envelopes/s | verify / this |")
    print("| --- | ---: | ---: | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {MESSAGES / seconds:,.0f} | {verify / seconds:.1f}x |")


if __name__ == "__main__":
    main()
