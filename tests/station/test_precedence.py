"""Precedence decides what is sequenced first (issue 8): a FLASH overtakes a ROUTINE backlog."""

from __future__ import annotations

import pytest

from .stations import World, fast, stop_all, wait_until

BACKLOG = 500


@pytest.mark.timeout(180)
def test_a_flash_queued_behind_500_routine_messages_overtakes_them(world: World) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast())
    a.serve()  # the line is down: moscow is not running
    wait_until(lambda: a.api_status() is not None, 20, "jerusalem serving")
    client = a.client()
    routine = [{"peer": "moscow", "text": f"routine {i}"} for i in range(BACKLOG)]
    for start in range(0, BACKLOG, 100):
        client.send_batch(routine[start : start + 100])
    client.send("moscow", "FLASH: launch detected", precedence="flash")
    assert a.state("moscow") != "up"

    b.serve()
    wait_until(lambda: b.api_status() is not None, 20, "moscow serving")
    wait_until(
        lambda: sum(m.kind == "message" for m in b.client().inbox()) == BACKLOG + 1,
        120,
        "the backlog and the FLASH delivered",
    )
    inbox = [m for m in b.client().inbox() if m.kind == "message"]
    texts = [m.text for m in inbox]
    flash = texts.index("FLASH: launch detected")
    assert inbox[flash].precedence == "flash"
    overtaken = BACKLOG - flash
    print(f"the FLASH arrived after {flash} routine messages, before {overtaken}")
    assert overtaken >= 0.9 * BACKLOG, f"the FLASH came after {flash} of {BACKLOG} routine"
    # ROUTINE messages keep their queue order among themselves, and each arrives once.
    assert [t for t in texts if t.startswith("routine")] == [r["text"] for r in routine]
    assert [m.seq for m in b.client().inbox()] == sorted(m.seq for m in b.client().inbox())
    stop_all(a, b)
