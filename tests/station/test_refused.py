"""Stations that are not (or no longer) paired get no line, and cost little: one-sided pairing,
a man in the middle with his own keys, and a pairing revoked while both stations run."""

from __future__ import annotations

import re
import time

from tests.harness import ThreadedFaultProxy

from .stations import Station, World, dial, fast, run_cli, wait_until

#: Long enough for several dial attempts each way (redial cap 1 s, handshakes take ~20 ms).
WATCH = 3.0


def never_up(pairs: list[tuple[Station, str]], seconds: float) -> None:
    """Watch that none of these lines comes up for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for station, peer in pairs:
            assert station.state(peer) != "up", f"{station.name} got a line to {peer}"
        time.sleep(0.05)


def refusals(station: Station, reason: str) -> list[str]:
    return [line for line in station.log.splitlines() if " refused " in line and reason in line]


def test_a_one_sided_pairing_gets_no_line(world: World) -> None:
    jerusalem, moscow, intruder = (world.station(n) for n in ("jerusalem", "moscow", "intruder"))
    world.pair(jerusalem, moscow)
    world.pin(intruder, jerusalem)  # the intruder has jerusalem's card; jerusalem never paired it
    for station in (jerusalem, moscow, intruder):
        station.configure(fast())
        station.serve()
    wait_until(lambda: jerusalem.state("moscow") == "up", 5.0, "the real line up")
    never_up([(intruder, "jerusalem")], WATCH)
    status = jerusalem.api_status()
    assert status is not None
    assert [line["peer"] for line in status["lines"]] == ["moscow"]  # no line for the intruder
    assert moscow.state("jerusalem") == "up"
    # Its dials were dropped at the mac1 check, and logged once per source and interval.
    dropped = refusals(jerusalem, "no paired peer's mac1")
    assert 1 <= len(dropped) <= 2, jerusalem.log  # one per 10 s; the test lasts about 5
    assert "source=127.0.0.1" in dropped[0]


def test_a_man_in_the_middle_with_his_own_keys_gets_no_line(world: World) -> None:
    jerusalem, moscow = world.station("jerusalem"), world.station("moscow")
    impostor = world.station("moscow", home_name="impostor")  # named moscow, its own keys
    world.pair(jerusalem, moscow)
    world.pin(impostor, jerusalem)  # the impostor knows jerusalem's public card
    with ThreadedFaultProxy(impostor.port) as proxy:
        # Jerusalem's dials to "moscow" reach the impostor through the proxy.
        jerusalem.configure(fast() + dial("moscow", proxy.port))
        impostor.configure(fast())
        jerusalem.serve()
        impostor.serve()
        wait_until(lambda: proxy.stats().connections_accepted >= 2, 5.0, "dials via the proxy")
        never_up([(jerusalem, "moscow"), (impostor, "jerusalem")], WATCH)
        # Each side dropped the other's msg1 at the mac1 check: no DH, no reply.
        assert refusals(impostor, "no paired peer's mac1")
        assert refusals(jerusalem, "no paired peer's mac1")
        # The real moscow (dialling jerusalem directly) gets the line.
        moscow.configure(fast())
        moscow.serve()
        wait_until(
            lambda: jerusalem.state("moscow") == "up" and moscow.state("jerusalem") == "up",
            5.0,
            "the real pair's line",
        )
        assert impostor.state("jerusalem") != "up"


def test_unpair_while_serving_ends_the_line_and_refuses_it(world: World) -> None:
    jerusalem, moscow = world.station("jerusalem"), world.station("moscow")
    world.pair(jerusalem, moscow)
    for station in (jerusalem, moscow):
        station.configure(fast())
        station.serve()
    wait_until(lambda: moscow.state("jerusalem") == "up", 5.0, "line up")
    run_cli("--home", jerusalem.home, "unpair", "moscow")
    wait_until(lambda: moscow.state("jerusalem") != "up", 4.0, "moscow's line down")
    status = jerusalem.api_status()
    assert status is not None and status["lines"] == []  # the revoked pin has no line
    never_up([(moscow, "jerusalem")], WATCH)
    assert re.search(r"peer removed peer=moscow", jerusalem.log)
    assert refusals(jerusalem, "no paired peer's mac1")  # moscow's redials, dropped
    assert "unpaired" in moscow.log  # it was told, by a CLOSE frame
