"""A task the daemon needs dies: the daemon stops (fail closed) instead of serving on without it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotline.errors import ExitCode
from hotline.station._daemon import Daemon, TaskDiedError


async def _bug() -> None:
    raise RuntimeError("a bug")


def _daemon() -> Daemon:
    daemon = Daemon.__new__(Daemon)  # only the stop machinery: no station needed
    daemon._stop = asyncio.Event()
    daemon._died = None
    return daemon


async def test_a_dead_task_stops_the_daemon(caplog: pytest.LogCaptureFixture) -> None:
    daemon = _daemon()
    task = asyncio.get_running_loop().create_task(_bug(), name="hotline-peers-watch")
    task.add_done_callback(daemon._task_done)
    with caplog.at_level(logging.CRITICAL, logger="hotline.station"):
        await asyncio.wait_for(daemon._stop.wait(), 1.0)
    assert daemon._died == "hotline-peers-watch"
    assert any("task died" in r.getMessage() for r in caplog.records)
    assert TaskDiedError("x").exit_code == ExitCode.INTERNAL


async def test_tasks_ended_by_the_stop_are_not_deaths() -> None:
    daemon = _daemon()
    daemon._stop.set()
    task = asyncio.get_running_loop().create_task(_bug(), name="hotline-api")
    task.add_done_callback(daemon._task_done)
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    assert daemon._died is None
    cancelled = asyncio.get_running_loop().create_task(asyncio.sleep(10))
    daemon._stop.clear()
    cancelled.add_done_callback(daemon._task_done)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    await asyncio.sleep(0)
    assert daemon._died is None and not daemon._stop.is_set()
