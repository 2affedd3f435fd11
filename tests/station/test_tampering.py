"""Deleting, reordering or inserting a message in one station's database is found when its
line next starts, and both stations raise the alarm and stop that direction."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable

import pytest

from hotline.record import EnvelopeHeader

from .stations import World, fast, stop_all, wait_until

CONTENT = "hash, header, nonce, body"


def delete(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM envelopes WHERE incoming = 1 AND seq = 3")


def reorder(db: sqlite3.Connection) -> None:
    two = db.execute(f"SELECT {CONTENT} FROM envelopes WHERE incoming = 1 AND seq = 2").fetchone()
    four = db.execute(f"SELECT {CONTENT} FROM envelopes WHERE incoming = 1 AND seq = 4").fetchone()
    for seq, row in ((2, four), (4, two)):
        db.execute(
            "UPDATE envelopes SET hash = ?, header = ?, nonce = ?, body = ?"
            " WHERE incoming = 1 AND seq = ?",
            (*row, seq),
        )


def insert(db: sqlite3.Connection) -> None:
    """A careful forger: an envelope #6 whose header links to #5, with no key to sign it."""
    row = db.execute(
        "SELECT line_id, peer, direction, hash, header, kind, precedence, sequenced_at_ms,"
        " stored_at_ms, nonce, body FROM envelopes WHERE incoming = 1 AND seq = 5"
    ).fetchone()
    line_id, peer, direction, five, header, *rest, nonce, body = row
    forged = dataclasses.replace(EnvelopeHeader.decode(header), seq=6, prev_hash=five)
    db.execute(
        "INSERT INTO envelopes (line_id, peer, direction, incoming, seq, hash, header, kind,"
        " precedence, sequenced_at_ms, stored_at_ms, message_id, nonce, body)"
        " VALUES (?, ?, ?, 1, 6, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (line_id, peer, direction, forged.hash, forged.encoded, *rest, "f" * 32, nonce, body),
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("tamper", [delete, reorder, insert], ids=lambda f: f.__name__)
def test_a_tampered_store_is_found_and_both_stations_alarm(
    world: World, tamper: Callable[[sqlite3.Connection], None]
) -> None:
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    for station in (a, b):
        station.configure(fast())
        station.serve()
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    for i in range(5):
        a.client().send("moscow", f"message {i}")
    wait_until(lambda: len(b.client().inbox()) == 5 and not a.client().outbox(), 20, "delivered")
    stop_all(a, b)
    db = sqlite3.connect(b.home / "hotline.db", isolation_level=None)
    try:
        tamper(db)
    finally:
        db.close()
    for station in (a, b):
        station.serve()

    def alarmed() -> bool:
        return (
            "ALARM the stored record is damaged" in b.log
            and "ALARM the peer refused our item; direction halted" in a.log
        )

    wait_until(alarmed, 20, "the damage found at moscow, the alarm raised at both")
    # The direction stays stopped: what jerusalem sends now is not delivered.
    a.client().send("moscow", "after the damage")
    wait_until(lambda: a.state("moscow") == "up", 20, "line up")
    assert [m.text for m in a.client().outbox()] == ["after the damage"]
    assert "Traceback" not in a.log + b.log
    stop_all(a, b)


@pytest.mark.timeout(120)
def test_a_queued_message_that_lost_its_text_raises_the_record_alarm(world: World) -> None:
    """The sealed text of a queued message removed from the sender's store: sequencing fails
    on it every session, so the station says so (a RECORD alarm, a CRITICAL line) rather than
    closing sessions quietly, and it never sends past the message."""
    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    a.configure(fast())
    b.configure(fast())
    a.serve()
    wait_until(lambda: a.api_status() is not None, 20, "jerusalem serving")
    a.client().send("moscow", "lost", precedence="flash")
    a.client().send("moscow", "kept")
    stop_all(a)
    db = sqlite3.connect(a.home / "hotline.db", isolation_level=None)
    try:
        db.execute(
            "DELETE FROM outbox_texts WHERE position ="
            " (SELECT position FROM queue WHERE precedence = 3)"
        )
    finally:
        db.close()
    a.serve()
    b.serve()

    def alarmed() -> bool:
        status = a.api_status()  # None until the restarted daemon serves
        return status is not None and any(alarm["kind"] == "record" for alarm in status["alarms"])

    wait_until(alarmed, 20, "the record alarm at jerusalem")
    assert "ALARM the store is damaged" in a.log and "has lost its text" in a.log
    assert b.client().inbox() == []  # nothing went past the damaged message
    assert "Traceback" not in a.log + b.log
    stop_all(a, b)
