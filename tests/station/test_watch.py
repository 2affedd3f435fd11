"""The watched line between real stations (issue 8): alarms and their hook, a person called for
FLASH and IMMEDIATE messages and escalation, test messages, the clock-skew alarm."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from .stations import PASSPHRASE, Station, World, fast, hotline, stop_all, wait_until

HOOK = """#!{python}
import json, os, sys
call = {{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}
with open({out!r}, "a", encoding="utf-8") as out:
    out.write(json.dumps(call) + "\\n")
"""


def hook(tmp: Path, name: str) -> tuple[Path, Path]:
    """A hook program that appends its arguments and environment to a file, one JSON line."""
    out = tmp / f"{name}.calls"
    program = tmp / f"{name}.py"
    program.write_text(HOOK.format(python=sys.executable, out=str(out)))
    program.chmod(0o755)
    return program, out


def calls(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines()]


def alarms(station: Station, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        hotline("--home", station.home, "alarms", "--json", *args).stdout
    )
    return found


def kinds(station: Station) -> set[tuple[str, str | None]]:
    status = station.api_status() or {}
    return {(a["kind"], a["peer"]) for a in status.get("alarms", []) if a["active"]}


def watch(*lines: str) -> str:
    return "[watch]\n" + "\n".join(lines) + "\n"


@pytest.mark.timeout(120)
def test_a_line_down_alarm_runs_the_hook_with_its_arguments_and_no_passphrase(
    world: World, tmp_path: Path
) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    program, out = hook(tmp_path, "on_alarm")
    a.configure(fast() + watch("line_down_after_s = 1.0", f'on_alarm = ["{program}", "--page"]'))
    b.configure(fast())
    a.serve()
    b.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    stop_all(b)
    wait_until(lambda: ("line_down", "moscow") in kinds(a), 20, "the line-down alarm")
    wait_until(
        lambda: any(c["argv"][2] == "line_down" for c in calls(out)), 10, "the on_alarm hook"
    )
    (call,) = [c for c in calls(out) if c["argv"][2] == "line_down"]
    alarm_id, kind, level, peer, text = call["argv"][1:]
    assert call["argv"][0] == "--page"
    assert (kind, level, peer) == ("line_down", "immediate", "moscow")
    assert text.startswith("line to moscow down for")
    assert set(call["env"]) <= {"PATH", "LANG", "HOTLINE_STATION", "HOTLINE_EVENT", "LC_CTYPE"}
    assert call["env"]["HOTLINE_STATION"] == "jerusalem"
    assert call["env"]["HOTLINE_EVENT"] == "alarm"
    assert call["cwd"] == "/"
    assert PASSPHRASE not in json.dumps(calls(out))

    (listed,) = [x for x in alarms(a) if x["kind"] == "line_down"]
    assert listed["id"] == int(alarm_id) and listed["active"] is True
    acked = hotline("--home", a.home, "alarms", "ack", alarm_id, "--operator", "Lt. Cohen")
    assert "acknowledged by Lt. Cohen" in acked.stdout
    unknown = hotline("--home", a.home, "alarms", "ack", "999", "--operator", "x", check=False)
    assert unknown.returncode == 51

    # Back up: the alarm ends, and being acknowledged it leaves the open list.
    b.serve()
    wait_until(lambda: ("line_down", "moscow") not in kinds(a), 30, "the alarm cleared")
    assert not [x for x in alarms(a) if x["kind"] == "line_down"]
    (closed,) = [x for x in alarms(a, "--all") if x["kind"] == "line_down"]
    assert closed["acked_by"] == "Lt. Cohen" and closed["cleared_at"] is not None
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_flash_calls_a_person_and_escalates_unless_acknowledged(
    world: World, tmp_path: Path
) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    on_message, messages = hook(tmp_path, "on_message")
    on_escalation, escalations = hook(tmp_path, "on_escalation")
    a.configure(fast())
    b.configure(
        fast()
        + watch(
            "escalate_after_s = 4.0",
            f'on_message = ["{on_message}"]',
            f'on_escalation = ["{on_escalation}"]',
        )
    )
    a.serve()
    b.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    a.client().send("moscow", "routine, nobody is called")
    ignored = a.client().send("moscow", "Тревога: ответьте", precedence="flash")
    answered = a.client().send("moscow", "Acknowledge please", precedence="immediate")
    wait_until(lambda: len(b.client().inbox()) == 3, 20, "delivered")
    inbox = {m.text: m for m in b.client().inbox()}
    b.client().ack(inbox["Acknowledge please"].id, "Maj. Petrov")

    wait_until(lambda: len(calls(messages)) == 2, 10, "on_message for FLASH and IMMEDIATE")
    called = sorted((c["argv"][2], c["argv"][1], c["argv"][3]) for c in calls(messages))
    assert called == [("flash", "jerusalem", "2"), ("immediate", "jerusalem", "3")]
    assert {c["argv"][0] for c in calls(messages)} == {
        inbox["Тревога: ответьте"].id,
        inbox["Acknowledge please"].id,
    }
    assert "Тревога" not in json.dumps(calls(messages))  # never the text

    wait_until(lambda: len(calls(escalations)) == 1, 15, "the escalation")
    (escalated,) = calls(escalations)
    assert escalated["argv"] == [inbox["Тревога: ответьте"].id, "jerusalem", "flash", "2"]
    assert escalated["env"]["HOTLINE_EVENT"] == "escalation"
    (alarm,) = [x for x in alarms(b) if x["kind"] == "unacknowledged"]
    assert (alarm["level"], alarm["peer"]) == ("flash", "jerusalem")
    assert "FLASH message #2 from jerusalem not acknowledged" in alarm["text"]

    # Acknowledging it ends the alarm, acknowledged with it; the sender sees who acknowledged.
    b.client().ack(inbox["Тревога: ответьте"].id, "Maj. Petrov")
    wait_until(lambda: ("unacknowledged", "jerusalem") not in kinds(b), 10, "alarm over")
    assert not [x for x in alarms(b) if x["kind"] == "unacknowledged"]
    (over,) = [x for x in alarms(b, "--all") if x["kind"] == "unacknowledged"]
    assert over["acked_by"] == "Maj. Petrov"
    wait_until(lambda: len(a.client().acks()) == 2, 20, "the ACKs at the sender")
    assert {ack.message_id for ack in a.client().acks()} == {
        ignored.message.id,
        answered.message.id,
    }
    assert {ack.operator for ack in a.client().acks()} == {"Maj. Petrov"}
    assert len(calls(escalations)) == 1  # the acknowledged IMMEDIATE never escalated
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_unpairing_the_sender_ends_its_unacknowledged_alarm(world: World, tmp_path: Path) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    on_escalation, escalations = hook(tmp_path, "on_escalation")
    a.configure(fast())
    b.configure(fast() + watch("escalate_after_s = 2.0", f'on_escalation = ["{on_escalation}"]'))
    a.serve()
    b.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    a.client().send("moscow", "last words", precedence="flash")
    wait_until(lambda: ("unacknowledged", "jerusalem") in kinds(b), 20, "the escalation")
    # nobody can acknowledge a message of a station no longer paired: the alarm must not
    # stand for ever (nor hide the next escalation)
    hotline("--home", b.home, "unpair", "jerusalem")
    wait_until(lambda: ("unacknowledged", "jerusalem") not in kinds(b), 10, "alarm over")
    assert all(alarm["peer"] != "jerusalem" for alarm in alarms(b) if alarm["active"])
    assert len(calls(escalations)) == 1
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_test_messages_go_both_ways_and_an_overdue_one_alarms(world: World) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    tests = watch("test_interval_s = 2.0", "test_grace_s = 1.5", "line_down_after_s = 60.0")
    for station in (a, b):
        station.configure(fast() + tests)
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")

    def tested(station: Station, peer: str) -> bool:
        line = station.line(peer) or {}
        return line.get("last_test_received") is not None

    wait_until(lambda: tested(a, "moscow") and tested(b, "jerusalem"), 20, "tests both ways")
    received = [m for m in b.client().inbox() if m.kind == "test"]
    assert received and received[0].text.startswith("Test message from jerusalem to moscow")
    status = a.cli_status()
    (line,) = status["lines"]
    assert line["last_test_sent"] is not None
    assert not {("test_overdue", "moscow"), ("line_down", "moscow")} & kinds(a)

    # Moscow stops: its tests stop coming, and ours are not receipted: the test alarm rings.
    stop_all(b)
    wait_until(lambda: ("test_overdue", "moscow") in kinds(a), 20, "the test alarm")
    b.serve()
    wait_until(lambda: ("test_overdue", "moscow") not in kinds(a), 30, "tests again")
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_an_induced_clock_skew_raises_the_skew_alarm_at_both_stations(world: World) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    a.configure(fast())
    b.configure(fast() + "[testing]\nclock_offset_ms = 2500\n")
    a.serve()
    b.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    wait_until(lambda: ("clock_skew", "moscow") in kinds(a), 20, "the skew alarm at jerusalem")
    wait_until(lambda: ("clock_skew", "jerusalem") in kinds(b), 20, "the skew alarm at moscow")
    (alarm,) = [x for x in alarms(a) if x["kind"] == "clock_skew"]
    assert "moscow's clock is" in alarm["text"] and "ahead of ours" in alarm["text"]
    offset = (a.line("moscow") or {})["clock_offset_ms"]
    assert 2300 < offset < 2700
    assert "TESTING TIMERS IN FORCE" in b.log
    stop_all(a, b)
