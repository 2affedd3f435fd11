"""Delivery between two real stations: exactly once, in order, receipted, across restarts."""

from __future__ import annotations

import pytest

from .stations import Station, World, fast, stop_all, wait_until

TEXTS = (
    "שלום, כאן ירושלים",
    "Привет, это Москва",
    "mixed: שלום / привет / hello ✓",
)


def pair_and_serve(world: World) -> tuple[Station, Station]:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    a.configure(fast())
    b.configure(fast())
    a.serve()
    b.serve()
    wait_until(lambda: a.state("moscow") == "up" and b.state("jerusalem") == "up", 20, "line up")
    return a, b


def inbox_texts(station: Station) -> list[str]:
    return [message.text for message in station.client().inbox()]


def delivered(receiver: Station, sender: Station, count: int) -> bool:
    try:
        return len(receiver.client().inbox()) >= count and not sender.client().outbox()
    except Exception:
        return False


@pytest.mark.timeout(90)
def test_messages_cross_both_ways_exactly_once_in_order_with_receipts(world: World) -> None:
    a, b = pair_and_serve(world)
    sent_ab = [f"{i:03d} {TEXTS[i % 3]}" for i in range(30)]
    sent_ba = [f"{i:03d} back {TEXTS[(i + 1) % 3]}" for i in range(30)]
    for text in sent_ab:
        a.client().send("moscow", text)
    for text in sent_ba:
        b.client().send("jerusalem", text)
    wait_until(lambda: delivered(b, a, 30) and delivered(a, b, 30), 30, "both ways receipted")
    assert inbox_texts(b) == sent_ab
    assert inbox_texts(a) == sent_ba
    inbox = b.client().inbox()
    assert [m.seq for m in inbox] == list(range(1, 31))
    assert all(m.peer == "jerusalem" for m in inbox)
    stop_all(a, b)


@pytest.mark.timeout(90)
def test_flash_overtakes_a_queued_backlog(world: World) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    a.configure(fast())
    a.serve()
    wait_until(lambda: a.api_status() is not None, 20, "jerusalem serving")
    for i in range(50):
        a.client().send("moscow", f"routine {i}")
    a.client().send("moscow", "FLASH", precedence="flash")
    b.configure(fast())
    b.serve()
    wait_until(lambda: delivered(b, a, 51), 30, "all delivered")
    texts = inbox_texts(b)
    assert texts[0] == "FLASH"
    assert texts[1:] == [f"routine {i}" for i in range(50)]
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_a_receiver_down_then_up_gets_everything_once(world: World) -> None:
    a, b = pair_and_serve(world)
    b.kill()
    for i in range(20):
        a.client().send("moscow", f"while down {i}")
    b.serve()
    wait_until(lambda: delivered(b, a, 20), 30, "delivered after the restart")
    assert inbox_texts(b) == [f"while down {i}" for i in range(20)]
    a.kill()
    b.kill()
    a.serve()
    b.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up again")
    a.client().send("moscow", "after both restarted")
    wait_until(lambda: delivered(b, a, 21), 30, "one more")
    assert inbox_texts(b)[-1] == "after both restarted"
    assert len(inbox_texts(b)) == 21
    stop_all(a, b)
