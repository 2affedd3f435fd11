"""Both stations' store work per message, alone: where delivery's time goes on the disk side.

``python -m bench.bench_store``: one process runs, on two stores in one temporary folder, what
the two daemons' store threads run for a batched stream of 1 KiB messages: ``queue_many`` of
1,000 (the API's batch) on the sender, ``sequence`` of ``MAX_SEQUENCE_BATCH`` (the courier's
batch under load), ``deliver`` of that batch on the receiver (one commit, one signed receipt)
and ``accept_receipt`` on the sender. Per step it prints microseconds per message, and per
store the WAL frames (4 KiB pages) written per message, with automatic checkpoints off so the
WAL holds every page each commit wrote. The baseline, measured in the same run on the same
disk: one SQLite commit (WAL, ``synchronous=FULL``) per 1 KiB row, as ``bench_delivery``'s
floor. No HTTP, no network, no session crypto: the end-to-end figure is ``bench_delivery``'s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Final

from hotline.api import new_idempotency_key
from hotline.constants import MAX_SEQUENCE_BATCH
from hotline.identity import StationKeys
from hotline.record import Direction, Precedence, Receipt
from hotline.store import Chains, Messages, RowCipher, ToQueue, connect

from .bench_delivery import MESSAGE_BYTES, measure_floor
from .bench_handshake import machine

MESSAGES: Final = 20_000
BATCH: Final = 1000
LINE: Final = bytes(range(64))
#: WAL frame: a 24-byte frame header and one 4 KiB page.
FRAME_BYTES: Final = 24 + 4096
STEPS: Final = ("queue_many", "sequence", "deliver", "accept_receipt")


def measure(root: Path, count: int = MESSAGES) -> tuple[dict[str, float], dict[str, float]]:
    """Run ``count`` messages through both stores: (µs per message per step, WAL frames per
    message per store)."""
    stores = {}
    for name in ("sender", "receiver"):
        path = root / f"{name}.db"
        db = connect(path)
        db.execute("PRAGMA wal_autocheckpoint = 0")  # the WAL keeps every frame: count them
        stores[name] = (path, db)
    cipher = RowCipher(bytes(32))
    sender_path, sender_db = stores["sender"]
    receiver_path, receiver_db = stores["receiver"]
    messages = Messages(sender_db, sender_path, cipher)
    sender = Chains(sender_db, sender_path, cipher)
    receiver = Chains(receiver_db, receiver_path, cipher)
    own, peer = StationKeys.generate().signing_keys(), StationKeys.generate().signing_keys()
    spent = dict.fromkeys(STEPS, 0.0)
    text = "x" * (MESSAGE_BYTES - 8)
    now_ms = int(time.time() * 1000)

    def timed(step: str, started: float) -> None:
        spent[step] += time.perf_counter() - started

    for first in range(0, count, BATCH):
        items = [
            ToQueue(LINE, "b", Precedence.ROUTINE, f"{i:07d}:{text}", new_idempotency_key())
            for i in range(first, first + BATCH)
        ]
        started = time.perf_counter()
        messages.queue_many(items, now_ms=now_ms)
        timed("queue_many", started)
        while True:
            started = time.perf_counter()
            batch = sender.sequence(
                LINE, Direction.FIRST, limit=MAX_SEQUENCE_BATCH, signer=own, now_ms=now_ms
            )
            timed("sequence", started)
            if batch is None:
                break
            envelopes = [envelope for group, _ in batch.groups for envelope in group]
            heads = [head for _, head in batch.groups]
            started = time.perf_counter()
            receipt: Receipt = receiver.deliver(
                LINE,
                Direction.FIRST,
                peer="a",
                envelopes=envelopes,
                heads=heads,
                signer=peer,
                now_ms=now_ms,
            )
            timed("deliver", started)
            started = time.perf_counter()
            sender.accept_receipt(LINE, receipt, now_ms=now_ms)
            timed("accept_receipt", started)
    frames = {
        name: Path(f"{path}-wal").stat().st_size / FRAME_BYTES / count
        for name, (path, _) in stores.items()
    }
    for _, db in stores.values():
        db.close()
    return {step: seconds / count * 1e6 for step, seconds in spent.items()}, frames


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-store-") as folder:
        root = Path(folder)
        floor = measure_floor(root)
        steps, frames = measure(root)
    total = sum(steps.values())
    print(f"Store steps alone: {machine()}")
    print(
        f"{MESSAGES} messages of {MESSAGE_BYTES} B; queue_many of {BATCH}, sequence of"
        f" {MAX_SEQUENCE_BATCH}; floor: one commit per 1 KiB row"
    )
    print()
    print("| step | µs per message |")
    print("| --- | ---: |")
    for step in STEPS:
        print(f"| {step} | {steps[step]:.1f} |")
    print(f"| **all four (both stores)** | **{total:.1f}** |")
    print(f"| floor: one commit per message | {1e6 / floor:.1f} |")
    print()
    print(f"all four steps: {1e6 / total:,.0f} msg/s, {floor * total / 1e6:.2f}x the floor's time")
    print(
        f"WAL frames (4 KiB) written per message: sender {frames['sender']:.2f},"
        f" receiver {frames['receiver']:.2f}"
    )


if __name__ == "__main__":
    main()
