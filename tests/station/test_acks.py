"""``ack``, ``acks`` and ``inbox --follow`` between two real stations (issue 8)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from typing import Any

import pytest

from hotline.errors import ExitCode

from .stations import (
    HOTLINE,
    Station,
    World,
    environment,
    fast,
    hotline,
    run_cli,
    stop_all,
    wait_until,
)


@pytest.fixture
def line(world: World) -> tuple[Station, Station]:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast())
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    return a, b


def inbox_json(station: Station) -> list[dict[str, Any]]:
    document: list[dict[str, Any]] = json.loads(
        hotline("--home", station.home, "inbox", "--json").stdout
    )
    return document


@pytest.mark.timeout(120)
def test_an_acknowledgement_reaches_the_sender_with_the_operators_name(
    line: tuple[Station, Station],
) -> None:
    a, b = line
    sent = a.client().send("moscow", "Воздушная тревога", precedence="flash").message.id
    wait_until(lambda: len(b.client().inbox()) == 1, 20, "delivered")
    (received,) = inbox_json(b)
    assert received["acknowledged_by"] is None

    acked = hotline(
        "--home", b.home, "ack", received["id"], "--operator", "Col. Ivanov", "--note", "передано"
    )
    assert acked.stdout.strip().startswith("acknowledged by Col. Ivanov:")
    again = hotline(
        "--home", b.home, "ack", received["id"], "--operator", "Col. Ivanov", "--note", "передано"
    )
    assert again.stdout.strip().startswith("already acknowledged by Col. Ivanov:")
    other = hotline(
        "--home", b.home, "ack", received["id"], "--operator", "Maj. Petrov", check=False
    )
    assert other.returncode == ExitCode.IDEMPOTENCY_CONFLICT
    assert "already acknowledged" in other.stderr
    unknown = hotline("--home", b.home, "ack", "0" * 32, "--operator", "x", check=False)
    assert unknown.returncode == ExitCode.MESSAGE_UNKNOWN

    (shown,) = inbox_json(b)
    assert shown["acknowledged_by"] == "Col. Ivanov"
    assert shown["acknowledged_at"] is not None

    wait_until(lambda: len(a.client().acks()) == 1, 20, "the ACK at the sender")
    (ack,) = json.loads(hotline("--home", a.home, "acks", "--json").stdout)
    assert (ack["peer"], ack["message_id"], ack["seq"]) == ("moscow", sent, 1)
    assert (ack["operator"], ack["note"]) == ("Col. Ivanov", "передано")
    listed = hotline("--home", a.home, "acks").stdout
    assert "moscow #1" in listed and "acknowledged by Col. Ivanov" in listed
    (line,) = a.cli_status()["lines"]
    assert (line["last_ack_by"], line["last_ack_seq"]) == ("Col. Ivanov", 1)
    assert line["last_ack_at"] == ack["acknowledged_at"]
    shown = hotline("--home", a.home, "status").stdout
    assert "moscow: our #1 last acknowledged by Col. Ivanov at" in shown

    # The ACK is in the record both stations hold and anyone can verify.
    wait_until(lambda: not b.client().outbox(), 20, "the ACK receipted")
    shown_record = json.loads(hotline("--home", a.home, "record", "moscow", "--json").stdout)
    assert shown_record["valid"] is True
    texts = [m["text"] for m in shown_record["messages"]]
    assert "ACK of #1 by Col. Ivanov: передано" in texts

    # The sender still shows who acknowledged after a restart (read back from its store).
    stop_all(a)
    a.serve()
    wait_until(lambda: a.api_status() is not None, 20, "jerusalem again")
    (line,) = a.cli_status()["lines"]
    assert (line["last_ack_by"], line["last_ack_seq"]) == ("Col. Ivanov", 1)
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_inbox_follow_streams_messages_as_they_arrive(line: tuple[Station, Station]) -> None:
    a, b = line
    a.client().send("moscow", "before")
    wait_until(lambda: len(b.client().inbox()) == 1, 20, "delivered")
    follower = subprocess.Popen(
        [*HOTLINE, "--home", str(b.home), "inbox", "--follow", "--json"],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as at a terminal, even if this run was started with SIGINT ignored (a shell
        # starts background jobs so, and the child would inherit it)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())
        assert first["text"] == "before"
        started = time.monotonic()
        for i in range(3):
            a.client().send("moscow", f"live {i}", precedence="immediate")
        lines = [json.loads(follower.stdout.readline()) for _ in range(3)]
        assert [m["text"] for m in lines] == ["live 0", "live 1", "live 2"]
        assert [m["seq"] for m in lines] == [2, 3, 4]
        assert time.monotonic() - started < 10
    finally:
        follower.send_signal(signal.SIGINT)
        _, err = follower.communicate(timeout=10)
    assert follower.returncode == 0, err
    assert "Traceback" not in err
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_a_message_from_a_station_no_longer_paired_cannot_be_acknowledged(
    line: tuple[Station, Station],
) -> None:
    a, b = line
    a.client().send("moscow", "last words", precedence="flash")
    wait_until(lambda: len(b.client().inbox()) == 1, 20, "delivered")
    (received,) = inbox_json(b)
    run_cli("--home", b.home, "unpair", "jerusalem")
    wait_until(lambda: (b.api_status() or {}).get("lines") == [], 10, "the pairing gone at moscow")
    refused = hotline("--home", b.home, "ack", received["id"], "--operator", "x", check=False)
    assert refused.returncode == ExitCode.REQUEST_INVALID
    assert "no longer paired" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not b.client().outbox()  # nothing queued that could never leave
    stop_all(a, b)
