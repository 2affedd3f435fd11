"""Every crash point, deterministically: the daemon dies there, restarts, and every message
still arrives exactly once, in order, receipted (docs/protocol.md §4.9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.station import CRASH_EXIT_STATUS, CRASHPOINTS

from .stations import Station, World, fast, stop_all, wait_until

#: Which station a crash point is in: the sender's side or the receiver's.
SIDE = {
    "queue.after_commit": "sender",
    "sequence.after_commit": "sender",
    "send.after_write": "sender",
    "deliver.before_commit": "receiver",
    "deliver.after_commit": "receiver",
    "receipt.after_commit": "sender",
}
#: Crash points tested elsewhere: they lose no message, but a part of the record.
ELSEWHERE = {"checkpoint.after_commit": "test_checkpoints.py"}
BEFORE, AFTER = 5, 5


def test_every_crash_point_is_tested() -> None:
    assert set(SIDE) | set(ELSEWHERE) == set(CRASHPOINTS)
    for point, module in ELSEWHERE.items():
        assert f'HOTLINE_CRASHPOINT="{point}"' in (Path(__file__).parent / module).read_text()


def delivered(receiver: Station, sender: Station, count: int) -> bool:
    try:
        return len(receiver.client().inbox()) >= count and not sender.client().outbox()
    except Exception:
        return False


@pytest.mark.timeout(120)
@pytest.mark.parametrize("point", sorted(SIDE))
def test_crash_point_loses_and_duplicates_nothing(world: World, point: str) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast(backoff_max=0.5))
    victim = a if SIDE[point] == "sender" else b
    # The first passages of the point are survived; the BEFORE+1-th is fatal. ``queue`` passes
    # once per message; the others once per batch or receipt, at least once per message sent
    # one at a time.
    for station in (a, b):
        if station is victim:
            station.serve(HOTLINE_CRASHPOINT=f"{point}:{BEFORE + 1}")
        else:
            station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    texts = [f"message {i}" for i in range(BEFORE + 1 + AFTER)]
    for i, text in enumerate(texts[: BEFORE + 1]):
        key = f"crash-test-{i}"
        try:
            a.client().send("moscow", text, idempotency_key=key)
        except Exception:
            assert point == "queue.after_commit"
            break
        # One at a time, so that every message passes each point once.
        wait_until(
            lambda i=i: delivered(b, a, i + 1) or victim.process.poll() is not None,  # type: ignore[union-attr]
            20,
            "one message through",
        )
        if victim.process.poll() is not None:  # type: ignore[union-attr]
            break
    assert victim.wait(20) == CRASH_EXIT_STATUS, victim.log
    assert f"point={point}" in victim.log
    victim.serve()
    wait_until(lambda: a.api_status() is not None, 20, "sender serving")
    if point == "queue.after_commit":  # the operator retries with the same key: once only
        a.client().send("moscow", texts[BEFORE], idempotency_key=f"crash-test-{BEFORE}")
    for i, text in enumerate(texts[BEFORE + 1 :], start=BEFORE + 1):
        a.client().send("moscow", text, idempotency_key=f"crash-test-{i}")
    wait_until(lambda: delivered(b, a, len(texts)), 40, "everything through after the crash")
    inbox = b.client().inbox()
    assert [m.text for m in inbox] == texts
    assert [m.seq for m in inbox] == list(range(1, len(texts) + 1))
    stop_all(a, b)
