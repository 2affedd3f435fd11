"""A path that goes silent (test timers): both stations see the line down within the ping
timeout (the probes call the path down first, see test_probes.py; the silent session is then
dropped), and up again once the path carries bytes again."""

from __future__ import annotations

import time

from tests.harness import Blackhole, Pass, ThreadedFaultProxy

from .stations import World, dial, fast, wait_until

PING_TIMEOUT = 1.5
#: Polling, process scheduling and the heartbeat period itself, on a loaded 2-core machine.
SLACK = 1.0


def test_a_blackholed_path_is_down_within_the_ping_timeout_and_comes_back(world: World) -> None:
    jerusalem, moscow = world.station("jerusalem"), world.station("moscow")
    world.pair(jerusalem, moscow)
    with (
        ThreadedFaultProxy(moscow.port) as to_moscow,
        ThreadedFaultProxy(jerusalem.port) as to_jerusalem,
    ):
        # Every dial, either way, crosses a proxy: whichever session wins, it can be cut.
        jerusalem.configure(fast(ping_timeout=PING_TIMEOUT) + dial("moscow", to_moscow.port))
        moscow.configure(fast(ping_timeout=PING_TIMEOUT) + dial("jerusalem", to_jerusalem.port))
        jerusalem.serve()
        moscow.serve()
        wait_until(
            lambda: jerusalem.state("moscow") == "up" and moscow.state("jerusalem") == "up",
            5.0,
            "line up",
        )
        for proxy in (to_moscow, to_jerusalem):
            proxy.set_mode("both", Blackhole())
        cut = time.monotonic()
        wait_until(lambda: jerusalem.state("moscow") == "down", PING_TIMEOUT + SLACK, "j down")
        wait_until(lambda: moscow.state("jerusalem") == "down", PING_TIMEOUT + SLACK, "m down")
        assert time.monotonic() - cut <= PING_TIMEOUT + SLACK
        # The probes said so first; the silent session is dropped at the ping timeout.
        wait_until(lambda: "silent for 1.5 s" in jerusalem.log + moscow.log, SLACK, "dropped")
        for station in (jerusalem, moscow):
            assert station.log.count(" path down ") == 1
        # While the path is cut, redials get nowhere.
        time.sleep(1.0)
        assert jerusalem.state("moscow") == "down" and moscow.state("jerusalem") == "down"
        for proxy in (to_moscow, to_jerusalem):
            proxy.set_mode("both", Pass())
        # A dial started during the cut waits out its 5 s handshake deadline; the next succeeds.
        wait_until(
            lambda: jerusalem.state("moscow") == "up" and moscow.state("jerusalem") == "up",
            12.0,
            "line up again",
        )
