"""``hotline record``: a line's record exported through the daemon, verified, and the same at
both stations (issue 9)."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotline.errors import ExitCode
from hotline.verify import verify_export

from .stations import Station, World, fast, hotline, stop_all, wait_until

HEBREW = "הודעה מירושלים"
RUSSIAN = "Сообщение из Москвы"


def exchange(a: Station, b: Station, count: int, tag: str) -> None:
    """``count`` messages each way, delivered and receipted."""
    before_a, before_b = len(a.client().inbox()), len(b.client().inbox())
    for i in range(count):
        a.client().send("moscow", f"{HEBREW} {tag} {i}")
        b.client().send("jerusalem", f"{RUSSIAN} {tag} {i}", precedence="flash")
    wait_until(
        lambda: (
            len(a.client().inbox()) == before_a + count
            and len(b.client().inbox()) == before_b + count
            and not a.client().outbox()
            and not b.client().outbox()
        ),
        30,
        "delivered and receipted both ways",
    )


def record_json(station: Station, peer: str, *args: str) -> dict[str, Any]:
    result = hotline("--home", station.home, "record", peer, "--json", *args)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def envelopes(path: Path) -> list[tuple[int, int, bytes]]:
    report = verify_export(path.read_bytes())
    assert report.record is not None
    return [(e.header.direction, e.seq, e.hash) for e in report.record.envelopes]


@pytest.fixture
def line(world: World) -> tuple[Station, Station]:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast())
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    return a, b


@pytest.mark.timeout(120)
def test_exports_at_both_stations_verify_and_agree(line: tuple[Station, Station]) -> None:
    a, b = line
    exchange(a, b, 4, "one")
    at_a, at_b = a.home.parent / "a.hrec", b.home.parent / "b.hrec"
    shown_a = record_json(a, "moscow", "--export", str(at_a))
    shown_b = record_json(b, "jerusalem", "--export", str(at_b))
    for shown in (shown_a, shown_b):
        assert shown["valid"] is True, shown["failures"]
        assert shown["failures"] == []
        assert sorted(s["name"] for s in shown["stations"]) == ["jerusalem", "moscow"]
        assert sorted((r["from"], r["first"], r["last"]) for r in shown["range"]) == [
            ("jerusalem", 1, 4),
            ("moscow", 1, 4),
        ]
    assert shown_a["record_hash_end"] == shown_b["record_hash_end"]
    assert shown_a["record_hash_start"] == shown_b["record_hash_start"]
    assert envelopes(at_a) == envelopes(at_b)
    assert len(envelopes(at_a)) == 8
    # The file stands alone: the offline verifier, no station.
    for path in (at_a, at_b):
        verified = hotline("verify", path, "--show")
        assert verified.stdout.startswith("VALID")
        assert f"{HEBREW} one 3" in verified.stdout
        assert f"{RUSSIAN} one 0" in verified.stdout
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_record_shows_the_messages_and_a_window_selects_by_send_time(
    line: tuple[Station, Station],
) -> None:
    a, b = line
    exchange(a, b, 2, "early")
    time.sleep(0.05)
    middle = datetime.now(UTC).isoformat(timespec="milliseconds")
    time.sleep(0.05)
    exchange(a, b, 3, "late")

    shown = record_json(a, "moscow")
    assert shown["valid"] is True
    texts = [m["text"] for m in shown["messages"]]
    assert f"{HEBREW} early 0" in texts
    assert f"{RUSSIAN} late 2" in texts
    flash = [m for m in shown["messages"] if m["from"] == "moscow"]
    assert {m["precedence"] for m in flash} == {"FLASH"}

    late = {
        station.name: record_json(station, peer, "--from", middle)
        for station, peer in ((a, "moscow"), (b, "jerusalem"))
    }
    for shown in late.values():
        assert shown["valid"] is True, shown["failures"]
        assert sorted((r["first"], r["last"]) for r in shown["range"]) == [(3, 5), (3, 5)]
        assert all("late" in m["text"] for m in shown["messages"])
        assert len(shown["messages"]) == 6
    assert late["jerusalem"]["record_hash_start"] == late["moscow"]["record_hash_start"]
    assert late["jerusalem"]["record_hash_end"] == late["moscow"]["record_hash_end"]
    # The window's start chains to the earlier window's end: exports of consecutive ranges.
    early = record_json(a, "moscow", "--to", middle)
    assert early["valid"] is True
    assert early["record_hash_end"] == late["jerusalem"]["record_hash_start"]
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_redacted_export_verifies_without_the_texts(line: tuple[Station, Station]) -> None:
    a, b = line
    exchange(a, b, 2, "secret")
    path = a.home.parent / "redacted.hrec"
    shown = record_json(a, "moscow", "--export", str(path), "--redact-bodies")
    assert shown["valid"] is True
    data = path.read_bytes()
    assert b"secret" not in data
    assert HEBREW.encode() not in data
    verified = hotline("verify", path, "--show")
    assert verified.stdout.startswith("VALID")
    assert "[body redacted]" in verified.stdout
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_bad_requests_get_one_line_and_a_damaged_store_no_file(
    line: tuple[Station, Station],
) -> None:
    a, b = line
    exchange(a, b, 2, "x")
    unknown = hotline("--home", a.home, "record", "washington", check=False)
    assert unknown.returncode != 0
    assert "washington" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    for option in (["--from", "yesterday"], ["--from", "2026-12-05T10:00:00"]):
        bad = hotline("--home", a.home, "record", "moscow", *option, check=False)
        assert bad.returncode != 0
        assert "from:" in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    backwards = hotline(
        "--home",
        a.home,
        "record",
        "moscow",
        "--from",
        "2026-12-06",
        "--to",
        "2026-12-05",
        check=False,
    )
    assert "ends before it starts" in backwards.stderr

    # Someone with write access to the database deletes one of the envelopes.
    db = sqlite3.connect(a.home / "hotline.db")
    with db:
        db.execute("DELETE FROM envelopes WHERE direction = 0 AND seq = 1")
    db.close()
    path = a.home.parent / "damaged.hrec"
    damaged = hotline("--home", a.home, "record", "moscow", "--export", path, check=False)
    assert damaged.returncode != 0
    assert "misses envelopes" in damaged.stderr
    assert not path.exists()
    stop_all(a, b)


def test_record_needs_a_running_station(world: World) -> None:
    a = world.station("jerusalem")
    result = hotline("--home", a.home, "record", "moscow", check=False)
    assert result.returncode == ExitCode.NOT_RUNNING
    assert "not running" in result.stderr


@pytest.mark.timeout(120)
def test_a_window_that_ends_while_the_line_moves_on_verifies(world: World) -> None:
    """The checkpoint after the window and the receipts past it name later positions: the
    export's hash paths run on to them, and both stations' files verify."""
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast() + "[testing]\ncheckpoint_interval_s = 0.5\n")
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    exchange(a, b, 2, "early")
    time.sleep(0.1)
    middle = datetime.now(UTC).isoformat(timespec="milliseconds")
    time.sleep(0.1)
    exchange(a, b, 3, "late")
    wait_until(
        lambda: all(
            sqlite3.connect(station.home / "hotline.db")
            .execute("SELECT count(*) FROM checkpoints")
            .fetchone()[0]
            >= 2
            for station in (a, b)
        ),
        20,
        "checkpoints over the late messages",
    )
    for station, peer in ((a, "moscow"), (b, "jerusalem")):
        result = hotline("--home", station.home, "record", peer, "--json", "--to", middle)
        found = json.loads(result.stdout)
        assert found["valid"], found["failures"]
        assert [span["last"] for span in found["range"]] == [2, 2]
    stop_all(a, b)
