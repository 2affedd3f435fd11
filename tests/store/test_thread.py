"""The store's thread: its own connection, calls in submission order, errors to the caller."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from hotline.store import Messages, StoreError, StoreThread

from .helpers import KEY


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
