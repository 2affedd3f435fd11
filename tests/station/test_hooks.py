"""Hooks: run with exactly the documented arguments and a scrubbed environment (never the
passphrase), bounded in time and in number, killed with their process group."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from pathlib import Path

import pytest

from hotline.station._hooks import HookCommand, HookRunner

LOG = logging.getLogger("hotline.test.hooks")
KEY = "hooks.on_alarm"


def _script(tmp_path: Path, name: str, body: str) -> str:
    """An executable Python script in ``tmp_path``; return its absolute path."""
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys, time\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


async def _settle(runner: HookRunner, limit_s: float = 20.0) -> None:
    """Wait until no hook runs or waits."""
    async with asyncio.timeout(limit_s):
        while runner._running or runner._waiting:
            await asyncio.sleep(0.01)


async def _file(path: Path, limit_s: float = 10.0) -> str:
    """Wait for ``path`` to be written; return its text."""
    async with asyncio.timeout(limit_s):
        while not path.exists() or not path.read_text(encoding="utf-8").endswith("\n"):
            await asyncio.sleep(0.01)
    return path.read_text(encoding="utf-8")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left to a non-reaping init does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


async def _gone(*pids: int, within: float = 5.0) -> bool:
    """Whether every one of ``pids`` is gone within ``within`` seconds. The hook's own process
    is reaped before close() returns; a grandchild killed with its group dies on its own time,
    a little later on a busy machine."""
    deadline = time.monotonic() + within
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def _events(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, object]]:
    return [getattr(r, "hotline_fields", {}) for r in caplog.records if r.getMessage() == event]


# --- Configuration ------------------------------------------------------------------------------


def test_parse_a_command() -> None:
    command = HookCommand.parse(["/usr/local/bin/page", "--urgent", ""], KEY)
    assert command == HookCommand(("/usr/local/bin/page", "--urgent", ""), 10.0)


_NOT_A_LIST = " must be a list of 1 to 32 strings: a program and its arguments"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/usr/bin/page", _NOT_A_LIST),
        ([], _NOT_A_LIST),
        (["/bin/page"] * 33, _NOT_A_LIST),
        (["/bin/page", 3], _NOT_A_LIST),
        ({"/bin/page": 1}, _NOT_A_LIST),
        (["page", "-x"], "[0] must be the program's absolute path"),
        (["/bin/page", "a\0b"], "[1] must be at most 4,096 characters, without NUL"),
        (["/bin/page", "x" * 4097], "[1] must be at most 4,096 characters, without NUL"),
    ],
)
def test_parse_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(KEY + message)}$"):
        HookCommand.parse(value, KEY)


# --- Running ------------------------------------------------------------------------------------


async def test_a_hook_sees_its_arguments_and_nothing_of_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOTLINE_PASSPHRASE", "secret-pass")
    monkeypatch.setenv("HOTLINE_HOME", "/srv/hotline")
    out = tmp_path / "dump.json"
    program = _script(
        tmp_path,
        "dump",
        f"dump = {{'argv': sys.argv, 'env': dict(os.environ), 'cwd': os.getcwd()}}\n"
        f"open({str(out)!r}, 'w').write(json.dumps(dump) + '\\n')",
    )
    runner = HookRunner(log=LOG, station="jerusalem")
    env = {
        "HOTLINE_PEER": "moscow",
        "HOTLINE_ALARM_ID": "7",
        "HOTLINE_PASSPHRASE": "secret-pass",
        "HOTLINE_STATION": "forged",
        "PATH": "/tmp/evil",
        "LD_PRELOAD": "/tmp/evil.so",
    }
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        runner.fire(
            HookCommand((program, "--from-config")),
            ["line_down", "moscow", "line to moscow\0 down", "x" * 5000],
            env,
        )
        text = await _file(out)
        await _settle(runner)
    dump = json.loads(text)
    assert dump["argv"] == [
        program,
        "--from-config",
        "line_down",
        "moscow",
        "line to moscow down",
        "x" * 4096,
    ]
    assert dump["env"] == {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOTLINE_STATION": "jerusalem",
        "HOTLINE_PEER": "moscow",
        "HOTLINE_ALARM_ID": "7",
    }
    assert dump["cwd"] == "/"
    assert "secret-pass" not in text
    assert sorted(str(f["variable"]) for f in _events(caplog, "hook variable left out")) == [
        "HOTLINE_PASSPHRASE",
        "HOTLINE_STATION",
        "LD_PRELOAD",
        "PATH",
    ]
    assert _events(caplog, "hook ran") == [{"hook": program}]


async def test_a_failing_hook_is_logged_with_its_output(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    program = _script(tmp_path, "fail", "print('no pager\\n' * 50, end='')\nsys.exit(3)")
    runner = HookRunner(log=LOG, station="jerusalem")
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        runner.fire(HookCommand((program,)), [], {})
        await _settle(runner)
    assert _events(caplog, "hook failed") == [
        {"hook": program, "status": 3, "output": ("no pager\n" * 50)[:200]}
    ]
    assert _events(caplog, "hook ran") == []


@pytest.mark.parametrize("executable", [False, True])
async def test_a_program_that_cannot_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, executable: bool
) -> None:
    program = tmp_path / "missing"
    if not executable:
        program.write_text("#!/bin/sh\n", encoding="utf-8")  # there, but not executable
    runner = HookRunner(log=LOG, station="jerusalem")
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        runner.fire(HookCommand((str(program),)), ["a"], {})
        await _settle(runner)
    reason = "Permission denied" if not executable else "No such file or directory"
    assert _events(caplog, "hook not run") == [{"hook": str(program), "error": reason}]
    assert all(r.exc_info is None for r in caplog.records)
    assert len(caplog.records) == 1


async def test_a_hook_past_its_timeout_is_killed_with_its_group(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pids = tmp_path / "pids"
    program = _script(
        tmp_path,
        "hang",
        "import subprocess\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}\\n')\n"
        "time.sleep(60)",
    )
    runner = HookRunner(log=LOG, station="jerusalem")
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        runner.fire(HookCommand((program,), timeout_s=1.0), [], {})
        hook, child = map(int, (await _file(pids)).split())
        await _settle(runner)
    assert time.monotonic() - started < 5.0
    assert _events(caplog, "hook timed out") == [{"hook": program, "after_s": 1.0}]
    assert not _alive(hook)
    assert await _gone(child)


async def test_a_hook_that_ignores_sigterm_gets_sigkill(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pids = tmp_path / "pids"
    program = _script(
        tmp_path,
        "stubborn",
        "import signal\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}}\\n')\n"
        "time.sleep(60)",
    )
    runner = HookRunner(log=LOG, station="jerusalem")
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        runner.fire(HookCommand((program,), timeout_s=0.5), [], {})
        pid = int(await _file(pids))
        await _settle(runner)
    assert not _alive(pid)
    assert len(_events(caplog, "hook timed out")) == 1


async def test_a_flood_runs_a_bounded_number(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runs = tmp_path / "runs"
    program = _script(
        tmp_path,
        "slow",
        f"log = open({str(runs)!r}, 'a')\n"
        "log.write(f'start {sys.argv[1]}\\n'); log.flush()\n"
        "time.sleep(0.2)\n"
        "log.write(f'end {sys.argv[1]}\\n'); log.flush()",
    )
    runner = HookRunner(log=LOG, station="jerusalem", max_running=2, max_waiting=5)
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        for i in range(200):
            runner.fire(HookCommand((program,)), [str(i)], {})
        assert len(runner._running) == 2 and len(runner._waiting) == 5
        await _settle(runner)
    events = [line.split() for line in runs.read_text(encoding="utf-8").splitlines()]
    started = sorted(int(i) for what, i in events if what == "start")
    assert started == [0, 1, 195, 196, 197, 198, 199]  # the oldest waiting were dropped
    running = peak = 0
    for what, _ in events:
        running += 1 if what == "start" else -1
        peak = max(peak, running)
    assert peak == 2
    assert len(_events(caplog, "hook dropped: too many waiting")) == 193


async def test_close_kills_the_running_and_drops_the_waiting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pids = tmp_path / "pids"
    program = _script(
        tmp_path,
        "hang",
        "import subprocess\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pids)!r}, 'a').write(f'{{os.getpid()}} {{child.pid}}\\n')\n"
        "time.sleep(60)",
    )
    runner = HookRunner(log=LOG, station="jerusalem", max_running=1)
    runner.fire(HookCommand((program,), timeout_s=60.0), [], {})
    runner.fire(HookCommand((program,), timeout_s=60.0), [], {})  # waits
    hook, child = map(int, (await _file(pids)).split())
    async with asyncio.timeout(5.0):
        await runner.close()
    assert not _alive(hook)
    assert await _gone(child)
    assert not runner._running and not runner._waiting
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        runner.fire(HookCommand((program,)), [], {})
    assert _events(caplog, "hook not run: stopping") == [{"hook": program}]
    await asyncio.sleep(0.3)
    assert len(pids.read_text(encoding="utf-8").splitlines()) == 1  # the waiting one never ran
