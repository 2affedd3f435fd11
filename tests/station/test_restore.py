"""A station restored from an older copy of its store never reuses a sequence number: it learns
its own latest envelopes back from the peer first (docs/protocol.md §4.3 case 1, §4.6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .stations import Station, World, checkpoint_until_it_crashes, fast, stop_all, wait_until


def delivered(receiver: Station, sender: Station, count: int) -> bool:
    return len(receiver.client().inbox()) >= count and not sender.client().outbox()


#: The store and its write-ahead log: a backup copies all three.
STORE_FILES = ("hotline.db", "hotline.db-wal", "hotline.db-shm")


def back_up(station: Station, folder: Path) -> None:
    folder.mkdir()
    for name in STORE_FILES:
        if (station.home / name).exists():
            shutil.copy2(station.home / name, folder / name)


def restore(station: Station, folder: Path) -> None:
    for name in STORE_FILES:
        (station.home / name).unlink(missing_ok=True)
        if (folder / name).exists():
            shutil.copy2(folder / name, station.home / name)


@pytest.mark.timeout(120)
def test_a_restored_station_learns_its_chain_back_and_goes_on_after_it(world: World) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast())
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    for i in range(3):
        a.client().send("moscow", f"before the backup {i}")
    wait_until(lambda: delivered(b, a, 3), 20, "three delivered")
    stop_all(a)
    back_up(a, world.root / "backup")
    a.serve()
    wait_until(lambda: a.api_status() is not None, 20, "jerusalem serving")
    for i in range(3):
        a.client().send("moscow", f"after the backup {i}")
    wait_until(lambda: delivered(b, a, 6), 20, "six delivered")
    stop_all(a)
    restore(a, world.root / "backup")  # the disaster: jerusalem comes back from the older copy
    a.serve()
    wait_until(lambda: a.api_status() is not None, 20, "jerusalem serving again")
    wait_until(lambda: "own envelopes recovered from the peer" in a.log, 20, "recovered")
    a.client().send("moscow", "after the restore")
    wait_until(lambda: delivered(b, a, 7), 20, "the new message delivered")
    inbox = b.client().inbox()
    assert [m.seq for m in inbox] == list(range(1, 8))
    assert [m.text for m in inbox][-1] == "after the restore"
    assert "ALARM" not in a.log + b.log
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_a_restored_station_numbers_its_checkpoints_after_those_the_peer_stored(
    world: World,
) -> None:
    """The peer declines a proposal number it took already (a replay, with the record alarm):
    a store restored from before checkpoints 2 and 3 learns from the peer's SYNC to go on at 4
    (docs/protocol.md §4.10)."""
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast())  # the timer proposes every 10 s: these are the operator's
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    a.client().send("moscow", "before the backup")
    wait_until(lambda: delivered(b, a, 1), 20, "delivered")
    assert a.client().checkpoint("moscow").number == 1
    stop_all(a)
    back_up(a, world.root / "backup")
    a.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up again")
    a.client().send("moscow", "after the backup")
    wait_until(lambda: delivered(b, a, 2), 20, "delivered after the backup")
    assert [a.client().checkpoint("moscow").number for _ in range(2)] == [2, 3]
    # The proposer stores a checkpoint as it counter-signs; the co-signer once that arrives.
    ours = {c.encode() for c in a.checkpoints()}
    wait_until(lambda: ours <= {c.encode() for c in b.checkpoints()}, 20, "moscow stores #3")
    stop_all(a)
    restore(a, world.root / "backup")
    a.serve()
    wait_until(lambda: "own envelopes recovered from the peer" in a.log, 20, "recovered")
    # The session that recovered ends in a resync; the next one syncs and may checkpoint.
    wait_until(lambda: " synced " in a.logs[-1].read_text(), 20, "synced after the recovery")
    checkpoint = a.client().checkpoint("moscow")
    assert (checkpoint.number, checkpoint.sent) == (4, 2)
    assert "ALARM" not in a.log + b.log
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_a_restored_co_signer_gets_a_lost_checkpoint_back_after_the_envelope_it_names(
    world: World,
) -> None:
    """moscow comes back from a copy older than jerusalem's last message, and never read the
    counter-signature of the checkpoint over it: jerusalem sends the message again, then the
    checkpoint, which moscow takes once it holds that message (docs/protocol.md §4.10)."""
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast(backoff_max=0.5))  # the timer proposes every 10 s
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    a.client().send("moscow", "before the backup")
    wait_until(lambda: delivered(b, a, 1), 20, "delivered")
    stop_all(b)
    back_up(b, world.root / "backup")
    b.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up again")
    a.client().send("moscow", "after the backup")
    wait_until(lambda: delivered(b, a, 2), 20, "delivered after the backup")
    stop_all(a)
    a.serve(HOTLINE_CRASHPOINT="checkpoint.after_commit")
    wait_until(lambda: a.state("moscow") == "up", 20, "line up with the crash point armed")
    checkpoint_until_it_crashes(a, "moscow")
    held_by_b = {c.encode() for c in b.checkpoints()}  # moscow's own timer may propose too
    (lost,) = [c for c in a.checkpoints() if c.encode() not in held_by_b]
    assert lost.body.heads[lost.body.proposer].seq == 2  # over jerusalem's #2
    stop_all(b)
    restore(b, world.root / "backup")  # moscow holds jerusalem's #1 only
    b.serve()
    a.serve()
    wait_until(
        lambda: lost.encode() in {c.encode() for c in b.checkpoints()},
        30,
        "moscow stores the lost checkpoint",
    )
    assert [m.text for m in b.client().inbox()] == ["before the backup", "after the backup"]
    assert "ALARM" not in a.log + b.log
    stop_all(a, b)
