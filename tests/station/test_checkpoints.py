"""Checkpoints between two real stations: while messages flow, both sign the same heads."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from hotline.errors import ExitCode
from hotline.record import Checkpoint

from .stations import World, checkpoint_until_it_crashes, fast, hotline, stop_all, wait_until


@pytest.mark.timeout(120)
def test_both_stations_sign_and_store_the_same_checkpoints(world: World) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast() + "[testing]\ncheckpoint_interval_s = 0.5\n")
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    for i in range(5):
        a.client().send("moscow", f"to moscow {i}")
        b.client().send("jerusalem", f"to jerusalem {i}")
    wait_until(
        lambda: len(a.client().inbox()) == 5 and len(b.client().inbox()) == 5,
        20,
        "delivered both ways",
    )

    # Both propose while the line moves; the heads settle at 5/5 once everything is stored.
    # The proposer stores a checkpoint when it counter-signs, the co-signer when that
    # counter-signature arrives: wait for one that both hold.
    def held_by_both() -> bool:
        common = {c.encode() for c in a.checkpoints()} & {c.encode() for c in b.checkpoints()}
        return any(
            Checkpoint.decode(item).body.heads[0].seq
            == 5
            == Checkpoint.decode(item).body.heads[1].seq
            for item in common
        )

    wait_until(held_by_both, 20, "a checkpoint over everything, held by both stations")
    stop_all(a, b)
    at_a, at_b = a.checkpoints(), b.checkpoints()
    common = {c.encode() for c in at_a} & {c.encode() for c in at_b}
    assert common, "no checkpoint is held, byte for byte, by both stations"
    # Direction 0 is the station whose card fingerprint sorts first; its signature comes first.
    first, second = sorted((a, b), key=lambda s: s.card().fingerprint.digest)
    keys = (first.verify_keys(), second.verify_keys())
    for item in common:
        assert Checkpoint.decode(item).verify(keys)
    assert "ALARM" not in a.log + b.log


@pytest.mark.timeout(120)
def test_an_operator_checkpoint_is_signed_by_both_and_stored_at_both(world: World) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast())  # checkpoints on the timer only every 10 s: this one is ours
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    a.client().send("moscow", "one")
    b.client().send("jerusalem", "two")
    b.client().send("jerusalem", "three")
    wait_until(
        lambda: not a.client().outbox() and not b.client().outbox(), 20, "receipted both ways"
    )
    result = hotline("--home", a.home, "checkpoint", "moscow", "--json")
    signed = json.loads(result.stdout)
    assert (signed["peer"], signed["number"], signed["sent"], signed["received"]) == (
        "moscow",
        1,
        1,
        2,
    )
    line = hotline("--home", b.home, "checkpoint", "jerusalem").stdout
    assert line.startswith("checkpoint 1 with jerusalem: our #2, their #1;")
    stop_all(a, b)
    first, second = sorted((a, b), key=lambda s: s.card().fingerprint.digest)
    keys = (first.verify_keys(), second.verify_keys())
    at_a, at_b = a.checkpoints(), b.checkpoints()
    assert {c.encode() for c in at_a} == {c.encode() for c in at_b}
    assert len(at_a) == 2
    assert all(c.verify(keys) for c in at_a)


@pytest.mark.timeout(120)
def test_operator_checkpoints_asked_at_once_all_get_one(world: World) -> None:
    """Each proposal replaces the pending one; each caller still gets a checkpoint covering
    what it asked for (its own, or the later one that took its place), not a timeout."""
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast() + "[testing]\ncheckpoint_interval_s = 0.2\n")
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    a.client().send("moscow", "one")
    wait_until(lambda: not a.client().outbox(), 20, "receipted")
    with ThreadPoolExecutor(4) as pool:
        signed = list(pool.map(lambda _: a.client().checkpoint("moscow"), range(4)))
    assert all(view.sent == 1 for view in signed)
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_a_counter_signature_lost_with_its_proposer_is_sent_again(world: World) -> None:
    """The proposer stores a checkpoint both signed and dies before its counter-signature
    leaves (crash point ``checkpoint.after_commit``): the co-signer lacks it, its next SYNC
    says so, and the proposer sends the checkpoint again (docs/protocol.md §4.10)."""
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast(backoff_max=0.5))
    a.serve(HOTLINE_CRASHPOINT="checkpoint.after_commit")
    b.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    a.client().send("moscow", "one")
    wait_until(lambda: not a.client().outbox(), 20, "receipted")
    checkpoint_until_it_crashes(a, "moscow")

    def missing_at_b() -> list[Checkpoint]:
        held = {c.encode() for c in b.checkpoints()}
        return [c for c in a.checkpoints() if c.encode() not in held]

    (lost,) = missing_at_b()  # stored by its proposer, never counter-signed at the co-signer
    a.serve()
    wait_until(lambda: not missing_at_b(), 20, "the lost checkpoint stored at the co-signer")
    assert lost.encode() in {c.encode() for c in b.checkpoints()}
    stop_all(a, b)
    assert "checkpoints sent again" in a.log
    assert "ALARM" not in a.log + b.log


def test_a_checkpoint_needs_the_line_up(world: World) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    a.configure(fast())
    a.serve()  # moscow is not serving
    wait_until(lambda: a.state("moscow") is not None, 20, "serving")
    result = hotline("--home", a.home, "checkpoint", "moscow", check=False)
    assert result.returncode == ExitCode.LINE_UNAVAILABLE
    assert result.stderr.strip() == "hotline: error: the line to moscow is not up"
    stop_all(a)
