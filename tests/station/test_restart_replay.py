"""SIGKILL one station and restart it while a replayer floods it with recorded msg1s: the line
is back in under 5 s, every replay is dropped, and the log says so once, not per replay."""

from __future__ import annotations

import concurrent.futures
import signal
import threading
import time

from hotline.constants import LENGTH_PREFIX_LEN, MSG1_LEN
from tests.harness.tap import ThreadedTap, replay_flood

from .stations import Station, World, dial, fast, free_port, wait_until

#: The flood's bound; the test stops it sooner, once it has seen replays refused with the line up.
FLOOD_SECONDS = 15.0
#: How long the flood goes on with the line up (and a replay refusal logged): enough replays to
#: show that the listener drops them all and logs them once, not per replay. Below the station's
#: 10 s refusal-log interval, so one line is right.
FLOOD_AFTER_UP_S = 1.0


def test_restart_under_a_replay_flood_brings_the_line_back_within_5_s(world: World) -> None:
    jerusalem, moscow = world.station("jerusalem"), world.station("moscow")
    world.pair(jerusalem, moscow)
    with ThreadedTap(moscow.port, record_bytes=LENGTH_PREFIX_LEN + MSG1_LEN) as tap:
        # An eavesdropper sits on jerusalem's path to moscow and records its first messages.
        # Moscow cannot reach jerusalem (a closed port), so every session is one jerusalem
        # dialled through the tap, and after the restart jerusalem's redial must get through
        # the flood to moscow's listener.
        jerusalem.configure(fast() + dial("moscow", tap.port))
        moscow.configure(fast() + dial("jerusalem", free_port()))
        jerusalem.serve()
        moscow.serve()
        wait_until(lambda: moscow.state("jerusalem") == "up", 5.0, "line up")
        wait_until(lambda: len(tap.captured()) >= 1, 5.0, "a recorded msg1")
        recorded = tap.captured()
        assert all(int.from_bytes(m[:2], "big") == MSG1_LEN for m in recorded)

        moscow.signal(signal.SIGKILL)
        moscow.wait()
        stop = threading.Event()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            flood = pool.submit(
                replay_flood, moscow.port, recorded, seconds=FLOOD_SECONDS, stop=stop
            )
            time.sleep(0.2)  # the flood is running (its dials are refused until moscow listens)
            moscow.serve()
            try:
                took = wait_until(
                    lambda: moscow.state("jerusalem") == "up" and jerusalem.state("moscow") == "up",
                    5.0,
                    "the line up again under the flood",
                )
                wait_until(lambda: replays_logged(moscow), 5.0, "a replay refused")
                time.sleep(FLOOD_AFTER_UP_S)  # and many more, still flooding
            finally:
                stop.set()
            result = flood.result(FLOOD_SECONDS + 10)
    assert took < 5.0  # from the restart (a fresh process: imports, unlock, store, listen)
    assert result.messages >= 50, result  # it really flooded
    log = restarted(moscow)
    replays = replays_logged(moscow)
    assert len(replays) == 1, log  # dropped every time, logged once per source and interval
    assert "source=127.0.0.1" in replays[0]
    print(f"line up {took:.2f} s after the restart; flood: {result}")
    print("\n".join(line for line in log.splitlines() if "refused" in line or "line" in line))


def restarted(station: Station) -> str:
    """The restarted daemon's log: its own file, from its first line (it refuses replays as
    soon as it listens, before it logs "station up")."""
    return station.logs[-1].read_text(errors="replace")


def replays_logged(station: Station) -> list[str]:
    """The restarted daemon's log lines refusing a replayed msg1."""
    return [line for line in restarted(station).splitlines() if 'reason="replayed msg1"' in line]
