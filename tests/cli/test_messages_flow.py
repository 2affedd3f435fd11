"""Real processes: ``hotline serve``, then ``send``, ``outbox``, ``inbox`` as an operator runs them.

One idempotency key sent twice is one message; with the daemon stopped ``send`` says so; and
what was queued survives a SIGKILL of the daemon (queued means committed with fsync, before
``send`` printed the id).
"""

from __future__ import annotations

import json
from typing import Any

from hotline.errors import ExitCode

from ..station.stations import Station, World, hotline, wait_until


def serving(world: World) -> Station:
    """jerusalem, paired with moscow (which never runs), serving."""
    jerusalem, moscow = world.station("jerusalem"), world.station("moscow")
    world.pin(jerusalem, moscow)
    jerusalem.serve()
    wait_until(lambda: jerusalem.api_status() is not None, 15.0, "the daemon's API")
    return jerusalem


def outbox(station: Station) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(
        hotline("--home", station.home, "outbox", "--json").stdout
    )
    return listed


def test_one_key_twice_is_one_message_and_it_survives_a_kill(world: World) -> None:
    jerusalem = serving(world)
    text = "Привет, שלום! \u200f👋"
    send = ("--home", jerusalem.home, "send", "moscow", text, "--precedence", "flash")
    first = hotline(*send, "--idempotency-key", "retry-4f1c")
    second = hotline(*send, "--idempotency-key", "retry-4f1c")
    other = hotline("--home", jerusalem.home, "send", "moscow", "routine one")
    message_id = first.stdout.strip()
    assert second.stdout.strip() == message_id
    assert "already queued" in second.stderr
    listed = outbox(jerusalem)
    assert [m["id"] for m in listed] == [message_id, other.stdout.strip()]
    assert listed[0]["text"] == text and listed[0]["precedence"] == "flash"
    assert json.loads(hotline("--home", jerusalem.home, "inbox", "--json").stdout) == []

    jerusalem.kill()  # SIGKILL: no clean shutdown, daemon.json left behind
    stopped = hotline("--home", jerusalem.home, "send", "moscow", "lost?", check=False)
    assert stopped.returncode == ExitCode.NOT_RUNNING
    assert stopped.stderr.strip().startswith("hotline: error: the station is not running")
    assert len(stopped.stderr.strip().splitlines()) == 1

    jerusalem.serve()
    wait_until(lambda: jerusalem.api_status() is not None, 15.0, "the daemon's API again")
    assert outbox(jerusalem) == listed  # the same messages, ids, texts and times
    # The key still names the message after the restart.
    assert hotline(*send, "--idempotency-key", "retry-4f1c").stdout.strip() == message_id
    assert "message queued id=" + message_id in jerusalem.log
    assert text not in jerusalem.log  # texts never reach a log line


def test_send_with_the_daemon_stopped_says_so(world: World) -> None:
    jerusalem = world.station("jerusalem")
    result = hotline("--home", jerusalem.home, "send", "moscow", "anyone?", check=False)
    assert result.returncode == ExitCode.NOT_RUNNING
    assert result.stderr.strip() == "hotline: error: the station is not running (no daemon.json)"
