"""Chaos: 2,000 messages each way while the path is cut, blackholed and corrupted and both
daemons are SIGKILLed and restarted at random moments; afterwards every message is delivered
exactly once and in order, receipted by a valid signature, and both records are equal.

The schedule comes from ``random.Random(seed)``: set ``HOTLINE_CHAOS_SEED`` to replay one (the
seed is printed at the start and named in every assertion). Process timing still varies from
run to run, so a seed replays the same faults in the same order, not the same interleaving.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hotline.api import Client, IdempotencyConflictError, PeerUnknownError, RequestInvalidError
from hotline.errors import HotlineError
from hotline.identity import Card, line_id
from hotline.record import (
    GENESIS,
    ChainRef,
    Direction,
    EnvelopeHeader,
    Receipt,
    record_hash,
)
from hotline.signatures import VerifyKeys
from tests.harness import Blackhole, Corrupt, Drop, Mode, Pass, ThreadedFaultProxy

from .stations import Station, World, dial, fast, stop_all, wait_until

MESSAGES = 2000
KILLS_PER_STATION = 6
#: Network faults in the schedule, besides the kills; at least two of each kind.
FAULTS = 16
WORDS = ("שלום, כאן ירושלים", "Привет, это Москва", "hello from the hotline ✓")
#: The feeders spread their messages over this long, so traffic flows all through the chaos
#: (unpaced, 2,000 sends take about 8 s and the rest of the schedule would hit an idle line).
FEED_SPAN_S = 20.0
#: How long the feeders, and then delivery after the chaos, may take at most.
FEED_DEADLINE_S = 100.0
SETTLE_DEADLINE_S = 60.0
#: Read at import: the ``world`` fixture clears every ``HOTLINE_*`` variable before the test.
SEED = int(os.environ.get("HOTLINE_CHAOS_SEED") or random.SystemRandom().randrange(2**32))


def text_of(sender: str, seq: int) -> str:
    """Message ``seq`` (from 1) of ``sender``: distinct, numbered, in three scripts."""
    return f"{sender} #{seq:04d}: {WORDS[seq % 3]}"


@dataclass
class Feeder:
    """One thread queueing ``MESSAGES`` texts in order, retrying each with its own key."""

    sender: Station
    peer: str
    tag: str
    created: int = 0
    retries: int = 0
    done_at: float = 0.0
    failure: BaseException | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"feed {self.sender.name}")

    def texts(self) -> list[str]:
        return [text_of(self.sender.name, seq) for seq in range(1, MESSAGES + 1)]

    def idempotency_keys(self) -> list[str]:
        return [f"chaos-{self.tag}-{seq}" for seq in range(1, MESSAGES + 1)]

    def _run(self) -> None:
        try:
            begun = time.monotonic()
            deadline = begun + FEED_DEADLINE_S
            client: Client | None = None
            for seq, (text, key) in enumerate(
                zip(self.texts(), self.idempotency_keys(), strict=True), 1
            ):
                time.sleep(max(0.0, begun + FEED_SPAN_S * seq / MESSAGES - time.monotonic()))
                while True:
                    try:
                        client = client or Client.for_home(self.sender.home, timeout=5.0)
                        self.created += client.send(self.peer, text, idempotency_key=key).created
                        break
                    except (IdempotencyConflictError, PeerUnknownError, RequestInvalidError):
                        raise  # a bug, not the chaos: retrying would never succeed
                    except HotlineError:
                        # Down, restarting, or killed mid-request: the same key again, on a
                        # fresh client (a restarted daemon has a new API port and token file).
                        self.retries += 1
                        client = None
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
            self.done_at = time.monotonic()
        except BaseException as exc:
            self.failure = exc


@dataclass
class Chaos:
    """The seeded schedule of faults and kills, run on the calling thread."""

    rng: random.Random
    stations: tuple[Station, Station]
    proxies: tuple[ThreadedFaultProxy, ThreadedFaultProxy]
    log: Callable[[str], None]
    kills: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)

    def run(self) -> None:
        """Every kill and fault in a seeded order, each after a random healthy spell.

        Two faults of each kind hit both proxies both ways, so each kind certainly meets
        traffic; the others pick a proxy and a direction at random.
        """
        kinds = ["drop", "blackhole", "corrupt"]
        plan = [("kill", station.name) for station in self.stations] * KILLS_PER_STATION
        plan += [(kind, "everywhere") for kind in kinds] * 2
        plan += [(self.rng.choice(kinds), "somewhere") for _ in range(FAULTS - 2 * len(kinds))]
        self.rng.shuffle(plan)
        for action, target in plan:
            time.sleep(self.rng.uniform(0.1, 0.6))  # healthy for a while: traffic flows
            if action == "kill":
                self.kill(next(s for s in self.stations if s.name == target))
            else:
                self.fault(action, everywhere=target == "everywhere")

    def kill(self, station: Station) -> None:
        station.kill()  # SIGKILL
        pause = self.rng.uniform(0.05, 0.6)
        self.log(f"SIGKILL {station.name}, restart in {pause:.2f} s")
        self.kills[station.name] = self.kills.get(station.name, 0) + 1
        time.sleep(pause)
        station.serve()

    def fault(self, kind: str, *, everywhere: bool) -> None:
        mode: Mode
        if kind == "drop":
            mode = Drop()
        elif kind == "blackhole":
            mode = Blackhole()
        else:
            mode = Corrupt(every_nth=self.rng.randint(20, 2000), seed=self.rng.randrange(2**32))
        direction = "both" if everywhere else self.rng.choice(["up", "down", "both"])
        which = (0, 1) if everywhere else self.rng.choice([(0,), (1,), (0, 1)])
        spell = self.rng.uniform(0.1, 1.5)
        self.log(f"{kind} {direction} on proxies {which} for {spell:.2f} s")
        self.faults[kind] = self.faults.get(kind, 0) + 1
        for index in which:
            self.proxies[index].set_mode(direction, mode)
        time.sleep(spell)
        for index in which:
            self.proxies[index].set_mode("both", Pass())


def read_store(home: Path) -> sqlite3.Connection:
    """The station's store, read-only (the daemon is stopped)."""
    return sqlite3.connect(f"file:{home / 'hotline.db'}?mode=ro", uri=True)


def chain_tip(db: sqlite3.Connection, line: bytes, direction: Direction, why: str) -> ChainRef:
    """Check one direction's stored headers form one chain 1..MESSAGES; return its tip.

    Only headers and hashes are read (they are in clear): the bodies need the data key, and
    each header commits to its body by hash.
    """
    rows = db.execute(
        "SELECT seq, hash, header FROM envelopes WHERE line_id = ? AND direction = ? ORDER BY seq",
        (line, direction),
    ).fetchall()
    assert [seq for seq, _, _ in rows] == list(range(1, MESSAGES + 1)), why
    previous = GENESIS
    for seq, stored_hash, encoded in rows:
        header = EnvelopeHeader.decode(encoded)
        assert (header.line_id, header.direction, header.seq) == (line, direction, seq), why
        assert header.hash == stored_hash, f"{why}: stored hash of #{seq} is not its header's"
        assert header.prev_hash == previous.hash, f"{why}: #{seq} does not link to #{seq - 1}"
        previous = header.ref
    return previous


def verify_keys(card: Card) -> VerifyKeys:
    return VerifyKeys.from_public_bytes(card.keys.ed25519, card.keys.mldsa87)


def check_store(feeder: Feeder, receiver: Station, why: str) -> bytes:
    """Check the sender's stopped store: its queue, both chains, the receiver's last receipt;
    return its record hash."""
    sender = feeder.sender
    why = f"{sender.name}'s store, {why}"
    cards = sender.card(), receiver.card()
    line = line_id(*cards)
    own = Direction(int(cards[0].fingerprint.digest > cards[1].fingerprint.digest))
    with closing(read_store(sender.home)) as db:
        # Each message queued, in order, is our envelope of the same rank (one precedence),
        # which the receipt checked below covers; nothing is left in the queue.
        queued = db.execute(
            "SELECT o.idempotency_key, e.seq FROM outbox AS o LEFT JOIN envelopes AS e"
            " ON e.message_id = o.id AND e.incoming = 0 ORDER BY o.position"
        )
        keys = feeder.idempotency_keys()
        assert queued.fetchall() == [(key, seq) for seq, key in enumerate(keys, 1)], why
        assert db.execute("SELECT count(*) FROM queue").fetchone() == (0,), why
        tips = {d: chain_tip(db, line, d, f"{d.name}, {why}") for d in Direction}
        receipts = db.execute(
            "SELECT seq, item FROM receipts WHERE line_id = ? AND direction = ? AND issued = 0"
            " ORDER BY seq DESC LIMIT 1",
            (line, own),
        ).fetchall()
        assert [seq for seq, _ in receipts] == [MESSAGES], why
        receipt = Receipt.decode(receipts[0][1])
        assert (receipt.line_id, receipt.direction, receipt.ref) == (line, own, tips[own]), why
        assert receipt.verify(verify_keys(cards[1])), f"{why}: the receipt does not verify"
        assert not receipt.verify(verify_keys(cards[0])), why  # the receiver's keys, no other
        assert db.execute("SELECT count(*) FROM nacks").fetchone() == (0,), why
        assert db.execute("SELECT count(*) FROM halts").fetchone() == (0,), why
    return record_hash(line, tips[Direction(0)], tips[Direction(1)])


def settled(receiver: Station, sender: Station) -> bool:
    """Every message of ``sender`` receipted, and all of them in ``receiver``'s inbox."""
    try:
        return not sender.client().outbox() and len(receiver.client().inbox()) >= MESSAGES
    except HotlineError:
        return False


@pytest.mark.timeout(240)
def test_two_thousand_each_way_survive_cuts_corruption_and_kills(world: World) -> None:
    why = f"chaos seed {SEED} (replay: HOTLINE_CHAOS_SEED={SEED})"
    print(f"\n{why}")
    start = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - start:6.2f}] {line}")

    a, b = world.station("jerusalem"), world.station("moscow")
    world.pair(a, b)
    timers = fast(ping_interval=0.2, ping_timeout=1.0, backoff_max=0.5)
    with ThreadedFaultProxy(b.port) as to_b, ThreadedFaultProxy(a.port) as to_a:
        a.configure(timers + dial(b.name, to_b.port))
        b.configure(timers + dial(a.name, to_a.port))
        a.serve()
        b.serve()
        feeders = (Feeder(a, b.name, f"a{SEED}"), Feeder(b, a.name, f"b{SEED}"))
        for feeder in feeders:
            feeder.thread.start()
        chaos = Chaos(random.Random(SEED), (a, b), (to_a, to_b), log)
        try:
            chaos.run()
        finally:
            for feeder in feeders:
                feeder.thread.join(FEED_DEADLINE_S)
        log(f"chaos over: kills {chaos.kills}, faults {chaos.faults}")
        for feeder in feeders:
            assert feeder.failure is None, f"{why}: {feeder.sender.name} feeder: {feeder.failure!r}"
            log(
                f"{feeder.sender.name} fed by {feeder.done_at - start:.2f} s:"
                f" {feeder.created} created, {feeder.retries} retries"
            )
        assert all(proxy.mode(d) == Pass() for proxy in (to_a, to_b) for d in ("up", "down")), why
        stats = [proxy.stats() for proxy in (to_a, to_b)]
        settle = wait_until(
            lambda: settled(b, a) and settled(a, b), SETTLE_DEADLINE_S, f"both ways settled, {why}"
        )
        log(f"settled {settle:.2f} s after the chaos")
        inboxes = b.client().inbox(), a.client().inbox()
        stop_all(a, b)
        assert [s.process and s.process.returncode for s in (a, b)] == [0, 0], f"exit, {why}"

    # Exactly once, in order: each inbox is the other side's queue, numbered 1..MESSAGES.
    for feeder, inbox in zip(feeders, inboxes, strict=True):
        assert [m.text for m in inbox] == feeder.texts(), why
        assert [m.seq for m in inbox] == list(range(1, MESSAGES + 1)), why
        assert {m.peer for m in inbox} == {feeder.sender.name}, why

    # The chaos happened.
    assert chaos.kills == {a.name: KILLS_PER_STATION, b.name: KILLS_PER_STATION}, why
    assert a.runs == b.runs == KILLS_PER_STATION + 1, why
    assert sum(s.up.bytes_discarded + s.down.bytes_discarded for s in stats) > 0, why
    assert sum(s.up.bytes_corrupted + s.down.bytes_corrupted for s in stats) > 0, why
    assert sum(s.connections_dropped + s.connections_refused for s in stats) > 0, why

    # The record: each queue receipted by a valid signature, the same history at both ends.
    hashes = [
        check_store(feeder, receiver, why) for feeder, receiver in zip(feeders, (b, a), strict=True)
    ]
    assert hashes[0] == hashes[1], why
    elapsed = time.monotonic() - start
    log(f"record hash {hashes[0][:8].hex()}…, total {elapsed:.1f} s")
    assert elapsed < 120, why
