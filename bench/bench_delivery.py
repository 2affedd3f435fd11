"""Benchmark: durable messages per second end to end, and latency, between two real stations.

Two ``hotline serve`` processes on 127.0.0.1 (test KDF profile), paired, in one temporary
folder; every message is 1 KiB of text, sent to station A through :class:`hotline.api.Client`
and counted when station B has committed it to its inbox (issue 7, "Benchmark"):

1. **floor**: on the same disk (the same temporary folder), one SQLite commit per 1 KiB row
   with ``journal_mode=WAL`` and ``synchronous=FULL``: what "one durable write per message"
   costs here. Every other figure is divided by it.
2. **single**: ``SINGLE`` messages, one ``Client.send`` each, one after another.
3. **batched**: ``BATCHED`` messages in batches of ``BATCH`` (``Client.send_batch``), with
   the CPU time each process spent per message until B held them all (from Linux's
   ``/proc``: each station's event loop and its other threads, the store's mostly; the
   client's figure includes the poll of B's database). Two cores run all of it.
4. **latency**: ``PACED`` messages sent at a steady ``RATE`` per second; for each, the time
   from ``send`` returning on A to B's commit.
5. **the halves of batched**, to tell where its time goes: B is stopped (SIGSTOP) while
   ``BATCHED`` messages are queued at A in batches (**intake alone**: A's API and store, with
   nothing to deliver past its in-flight window), then resumed (SIGCONT), and the backlog is
   delivered (**delivery alone**: from the resume to B's last commit).

End to end means from the first ``send`` starting to the last message's ``received_at`` on B
(the time B's inbox commit was stamped, read back through B's API once the run is over), both
clocks being this machine's wall clock. While a run drains, the benchmark learns that B has
everything by counting B's incoming envelopes with a read-only SQLite query every 20 ms (a WAL
reader never blocks B's writer); that poll only decides when to stop waiting, it is not timed.

Run: ``.venv/bin/python -m bench.bench_delivery`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import os
import platform
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from hotline.api import Client, NotRunningError

HOTLINE: Final = [sys.executable, "-m", "hotline.cli"]
#: 1 KiB of text per message (ASCII: one byte per character, as the envelope carries it).
MESSAGE_BYTES: Final = 1024
FLOOR = 2000
SINGLE = 2000
BATCHED = 20_000
BATCH = 1000
PACED = 500
RATE = 100.0
#: A run that takes longer than this has stalled.
TIMEOUT = 300.0
TARGET_BATCHED: Final = 20_000.0
TARGET_FLOOR_RATIO: Final = 3.0
TARGET_P99_MS: Final = 10.0


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_KDF_PROFILE"] = "test"  # cheap Argon2id: benchmark stations, not real ones
    env["HOTLINE_PASSPHRASE"] = "bench passphrase"
    return env


def _hotline(*args: str | Path) -> str:
    result = subprocess.run(
        [*HOTLINE, *map(str, args)],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"hotline {' '.join(map(str, args))}: {result.stderr.strip()}")
    return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(what: str, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:g} s")
        time.sleep(0.02)


def _text(tag: str, index: int) -> str:
    """A unique 1 KiB text, so a received message names the one sent."""
    head = f"{tag}:{index}:"
    return head + "x" * (MESSAGE_BYTES - len(head))


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class _Pair:
    """Stations ``a`` and ``b``, paired and serving, in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.homes = {name: root / name for name in ("a", "b")}
        self.processes: list[subprocess.Popen[bytes]] = []
        for name, home in self.homes.items():
            _hotline(
                "--home", home, "init", "--name", name, "--listen", f"127.0.0.1:{_free_port()}"
            )
        for name, other in (("a", "b"), ("b", "a")):
            card = root / f"{other}.card"
            card.write_text(_hotline("--home", self.homes[other], "card"))
            code = _hotline("--home", self.homes[other], "fingerprint").splitlines()[-1]
            _hotline("--home", self.homes[name], "pair", card, "--fingerprint", code)
        for name, home in self.homes.items():
            log = (root / f"{name}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [*HOTLINE, "--home", str(home), "serve"],
                    env=_environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
        _wait("both stations serving", lambda: all(self._up(n) for n in self.homes), 30.0)
        self.a = Client.for_home(self.homes["a"], timeout=60.0)
        self.b = Client.for_home(self.homes["b"], timeout=60.0)
        self._b_db = sqlite3.connect(f"file:{self.homes['b'] / 'hotline.db'}?mode=ro", uri=True)

    def _up(self, name: str) -> bool:
        try:
            lines = Client.for_home(self.homes[name], timeout=2.0).status()["lines"]
        except NotRunningError:
            return False
        return bool(lines) and lines[0]["state"] == "up"

    def received(self) -> int:
        """B's incoming MESSAGE envelopes, counted straight from its database (not timed)."""
        (count,) = self._b_db.execute(
            "SELECT count(*) FROM envelopes WHERE incoming = 1 AND kind = 1"
        ).fetchone()
        return int(count)

    def received_at(self, tag: str) -> dict[int, float]:
        """When B committed each message of ``tag``, by index (B's API, after the run)."""
        prefix = f"{tag}:"
        return {
            int(m.text.split(":")[1]): _epoch(m.received_at)
            for m in self.b.inbox("a")
            if m.text.startswith(prefix)
        }

    def close(self) -> None:
        self._b_db.close()
        self.a.close()
        self.b.close()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def measure_floor(root: Path, count: int = FLOOR) -> float:
    """One SQLite commit (WAL, synchronous=FULL) per 1 KiB row, on ``root``'s disk: rows/s."""
    db = sqlite3.connect(root / "floor.db", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        body = os.urandom(MESSAGE_BYTES)
        start = time.perf_counter()
        for _ in range(count):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO rows (body) VALUES (?)", (body,))
            db.execute("COMMIT")
        return count / (time.perf_counter() - start)
    finally:
        db.close()


def _arrive(pair: _Pair, tag: str, count: int, before: int) -> None:
    """Wait until B holds ``count`` more messages than ``before``."""
    _wait(f"{tag}: {count} messages at B", lambda: pair.received() >= before + count)


def _rate(pair: _Pair, tag: str, count: int, start: float) -> float:
    """End-to-end messages per second of the ``tag`` messages, all at B, sent from ``start``."""
    arrived = pair.received_at(tag)
    if len(arrived) != count:
        raise RuntimeError(f"{tag}: B holds {len(arrived)} of {count} messages")
    return count / (max(arrived.values()) - start)


def _drain(pair: _Pair, tag: str, count: int, before: int, start: float) -> float:
    """Wait until B holds ``count`` more messages; return end-to-end messages per second."""
    _arrive(pair, tag, count, before)
    return _rate(pair, tag, count, start)


def _cpu_seconds(pair: _Pair) -> dict[str, float]:
    """CPU seconds (user + system) spent so far: by this process (the client, and the poll of
    B's database), and per station by its main thread (the event loop) and its other threads
    (the store's thread, mostly). Linux's ``/proc`` only: empty elsewhere."""
    spent = {"client": sum(resource.getrusage(resource.RUSAGE_SELF)[:2])}
    tick = os.sysconf("SC_CLK_TCK")
    for name, process in zip(pair.homes, pair.processes, strict=True):
        try:
            tasks = os.listdir(f"/proc/{process.pid}/task")
        except FileNotFoundError:
            return {}
        for task in tasks:
            role = "event loop" if task == str(process.pid) else "other threads"
            try:
                stat = Path(f"/proc/{process.pid}/task/{task}/stat").read_text()
            except FileNotFoundError:  # a thread that ended between listing and reading
                continue
            fields = stat.rsplit(")", 1)[1].split()  # after the name: state is field 3
            key = f"{name.upper()} {role}"
            spent[key] = spent.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return spent


def measure_single(pair: _Pair, count: int = SINGLE) -> float:
    before = pair.received()
    start = time.time()
    for index in range(count):
        pair.a.send("b", _text("single", index))
    return _drain(pair, "single", count, before, start)


def measure_batched(
    pair: _Pair, count: int = BATCHED, size: int = BATCH
) -> tuple[float, dict[str, float]]:
    """The batched run: (msg/s, CPU microseconds per message by process and thread)."""
    before = pair.received()
    cpu_before = _cpu_seconds(pair)
    start = time.time()
    for first in range(0, count, size):
        batch = [{"peer": "b", "text": _text("batched", i)} for i in range(first, first + size)]
        pair.a.send_batch(batch)
    _arrive(pair, "batched", count, before)
    cpu_after = _cpu_seconds(pair)
    cpu = {
        key: (cpu_after[key] - cpu_before.get(key, 0.0)) / count * 1e6
        for key in cpu_after
        if cpu_before
    }
    return _rate(pair, "batched", count, start), cpu


def measure_halves(pair: _Pair, count: int = BATCHED, size: int = BATCH) -> tuple[float, float]:
    """Intake alone and delivery alone, msg/s (see the module's docstring, 5)."""
    before = pair.received()
    receiver = pair.processes[1]
    receiver.send_signal(signal.SIGSTOP)
    try:
        start = time.time()
        for first in range(0, count, size):
            pair.a.send_batch(
                [{"peer": "b", "text": _text("halves", i)} for i in range(first, first + size)]
            )
        intake = count / (time.time() - start)
    finally:
        resumed = time.time()
        receiver.send_signal(signal.SIGCONT)
    # What went out before B stopped reading (at most a window) is in the backlog's count.
    return intake, _drain(pair, "halves", count, before, resumed)


def measure_latency(pair: _Pair, count: int = PACED, rate: float = RATE) -> list[float]:
    """Milliseconds from ``send`` returning on A to B's commit, for each paced message."""
    before = pair.received()
    returned: dict[int, float] = {}
    start = time.monotonic()
    for index in range(count):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pair.a.send("b", _text("paced", index))
        returned[index] = time.time()
    _wait(f"paced: {count} messages at B", lambda: pair.received() >= before + count)
    arrived = pair.received_at("paced")
    # B stamps its commit to the millisecond, cut down: a commit within the millisecond the
    # send returned in reads as up to 1 ms early. Such a one counts as 0, not as negative.
    return sorted(max(0.0, (arrived[i] - returned[i]) * 1000) for i in range(count))


@dataclass(frozen=True)
class Result:
    floor: float
    single: float
    batched: float
    cpu_us: dict[str, float]
    intake: float
    delivery: float
    latencies_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return self.latencies_ms[
            min(len(self.latencies_ms) - 1, int(0.99 * len(self.latencies_ms)))
        ]


def measure() -> Result:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as folder:
        root = Path(folder)
        floor = measure_floor(root)
        pair = _Pair(root)
        try:
            single = measure_single(pair)
            batched, cpu_us = measure_batched(pair)
            intake, delivery = measure_halves(pair)
            latencies = measure_latency(pair)
        finally:
            pair.close()
        return Result(floor, single, batched, cpu_us, intake, delivery, latencies)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    """Print the table, the ratios against the floor, and the targets."""
    print(
        f"Delivery end to end: {platform.python_implementation()} {sys.version.split()[0]},"
        f" {os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}"
    )
    print(
        f"two hotline serve on 127.0.0.1; {MESSAGE_BYTES} B messages; single: {SINGLE} sends;"
        f" batched: {BATCHED} in batches of {BATCH}; latency: {PACED} at {RATE:g}/s;"
        f" floor: {FLOOR} commits\n"
    )
    r = measure()
    print("| run | msg/s | / floor |")
    print("| --- | ---: | ---: |")
    print(
        f"| floor: one SQLite commit per message (WAL, synchronous=FULL) | {r.floor:,.0f} | 1.00 |"
    )
    print(f"| single: one `send` per message | {r.single:,.0f} | {r.single / r.floor:.2f} |")
    print(f"| batched: `send_batch` of {BATCH} | {r.batched:,.0f} | {r.batched / r.floor:.2f} |")
    print(f"| batched, intake alone (B stopped) | {r.intake:,.0f} | {r.intake / r.floor:.2f} |")
    print(
        f"| batched, delivery alone (the backlog, B resumed) | {r.delivery:,.0f}"
        f" | {r.delivery / r.floor:.2f} |"
    )
    if r.cpu_us:
        total = sum(r.cpu_us.values())
        print("\n| batched run: CPU per message | µs |")
        print("| --- | ---: |")
        for key, micros in r.cpu_us.items():
            print(f"| {key} | {micros:.1f} |")
        print(f"| **all** | **{total:.1f}** |")
        print(
            f"\n{os.cpu_count()} cores at that CPU per message: at most"
            f" {(os.cpu_count() or 1) / total * 1e6:,.0f} msg/s if nothing ever waited"
        )
    print(
        f"\nlatency at {RATE:g} msg/s, send returned on A -> committed on B ({PACED} messages):"
        f" p50 {r.p50:.1f} ms, p99 {r.p99:.1f} ms, max {r.latencies_ms[-1]:.1f} ms"
    )
    print("\n| target | measured | verdict |")
    print("| --- | ---: | --- |")
    print(
        f"| batched >= {TARGET_BATCHED:,.0f} msg/s | {r.batched:,.0f}"
        f" | {_verdict(r.batched >= TARGET_BATCHED)} |"
    )
    print(
        f"| batched >= {TARGET_FLOOR_RATIO:g}x floor | {r.batched / r.floor:.2f}x"
        f" | {_verdict(r.batched >= TARGET_FLOOR_RATIO * r.floor)} |"
    )
    print(
        f"| p99 < {TARGET_P99_MS:g} ms at {RATE:g} msg/s | {r.p99:.1f} ms"
        f" | {_verdict(r.p99 < TARGET_P99_MS)} |"
    )


if __name__ == "__main__":
    main()
