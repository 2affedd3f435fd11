"""The store's thread: its own connection, calls in submission order, errors to the caller."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from hotline.record import Precedence
from hotline.store import Chains, Messages, StoreError, StoreThread
from hotline.store._db import transaction
from hotline.store._thread import MAX_READS_ASIDE

from .helpers import KEY, LINE


def test_calls_run_in_order_in_the_store_thread(db_path: Path) -> None:
    seen: list[int] = []
    with StoreThread.open(db_path, KEY) as thread:
        futures = [
            thread.submit(lambda _, n=n: (time.sleep(0.01 * (n % 2)), seen.append(n))[1])
            for n in range(6)
        ]
        idents = thread.submit(lambda _: threading.get_ident()).result()
        for future in futures:
            future.result()
    assert seen == list(range(6))
    assert idents != threading.get_ident()


def test_close_finishes_what_was_submitted(db_path: Path) -> None:
    thread = StoreThread.open(db_path, KEY)
    slow = thread.submit(lambda _: time.sleep(0.05) or "done")
    thread.close()
    assert slow.result(timeout=0) == "done"


def test_an_exception_reaches_the_caller_and_the_thread_goes_on(db_path: Path) -> None:
    def boom(_: Messages) -> None:
        raise RuntimeError("boom")

    with StoreThread.open(db_path, KEY) as thread:
        with pytest.raises(RuntimeError, match="boom"):
            thread.submit(boom).result()
        assert thread.submit(lambda m: m.outbox()).result() == []


def test_an_unusable_database_fails_at_open(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot"):
        StoreThread.open(tmp_path, KEY)  # a directory, not a database
    assert not any(t.name == "hotline-store" and t.is_alive() for t in threading.enumerate())


async def test_the_event_loop_is_free_while_the_store_works(db_path: Path) -> None:
    # A slow call in the store thread does not stop the loop's own timers.
    with StoreThread.open(db_path, KEY) as thread:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        ticker = asyncio.get_running_loop().create_task(tick())
        await asyncio.wrap_future(thread.submit(lambda _: time.sleep(0.2)))
        ticker.cancel()
    assert ticks >= 10


def test_a_call_after_close_fails_at_once(db_path: Path) -> None:
    store = StoreThread.open(db_path, KEY)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.submit(lambda messages: None).result(timeout=1)


def test_a_long_read_aside_does_not_hold_up_commits(db_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def queue(messages: Messages, key: str) -> str:
        return messages.queue(
            line_id=LINE,
            peer="moscow",
            precedence=Precedence.FLASH,
            text="flash",
            idempotency_key=key,
            now_ms=1,
        ).message.id

    def export(chains: Chains) -> tuple[int, int, str]:
        db = chains._db
        with transaction(db, db_path, write=False):
            before = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
            started.set()
            assert release.wait(5)
            after = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        return before, after, threading.current_thread().name

    with StoreThread.open(db_path, KEY) as thread:
        thread.submit(lambda messages: queue(messages, "first")).result(timeout=5)
        reading = thread.read_aside(export)
        assert started.wait(5)
        # the store's thread commits while the export reads: it waits for nothing
        thread.submit(lambda messages: queue(messages, "second")).result(timeout=5)
        release.set()
        # the export saw one moment of the store, on a thread of its own
        assert reading.result(timeout=5) == (1, 1, "hotline-store-reader")
        with pytest.raises(RuntimeError, match="boom"):
            thread.read_aside(lambda chains: (_ for _ in ()).throw(RuntimeError("boom"))).result(5)
    with pytest.raises(StoreError, match="closed"):
        thread.read_aside(export).result(timeout=1)


def test_long_reads_aside_are_bounded(db_path: Path) -> None:
    release = threading.Event()
    with StoreThread.open(db_path, KEY) as thread:
        held = [thread.read_aside(lambda chains: release.wait(5)) for _ in range(MAX_READS_ASIDE)]
        with pytest.raises(StoreError, match="long reads already run"):
            thread.read_aside(lambda chains: True).result(timeout=5)
        release.set()
        assert all(future.result(timeout=5) for future in held)
        assert thread.read_aside(lambda chains: "again").result(timeout=5) == "again"
