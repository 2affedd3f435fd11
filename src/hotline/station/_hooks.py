"""Operator commands run on alarms and urgent messages (``on_alarm``, ``on_message``).

A hook is the office's own program (a pager, a siren, a mail); the station runs it and never
waits on it. Because the daemon holds the unlocked keys and may have been started with the
passphrase in its environment, a hook gets nothing of the daemon's: its environment is built
from scratch, its argument list is passed without a shell, it starts in ``/`` in its own
session (so a timeout kills all it started), reads nothing, and has a time limit. Because an
attacker who makes a line flap can make alarms, the number of hooks running and waiting is
bounded: past it, the oldest waiting run is dropped, with a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from hotline.logfmt import log_event

#: A hook's command is its program and at most 31 arguments of the operator's.
MAX_HOOK_ARGV: Final = 32
#: No argument, given or configured, is longer than this (nor is an environment value).
MAX_HOOK_ARG_LEN: Final = 4096
#: A hook runs at most this long unless configured otherwise.
DEFAULT_HOOK_TIMEOUT_S: Final = 10.0
#: After SIGTERM, a timed-out hook has this long to exit before SIGKILL.
KILL_GRACE_S: Final = 2.0
#: The search path and locale every hook sees, whatever the daemon's own environment.
BASE_ENVIRONMENT: Final = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
#: The environment variable naming the station to its hooks.
STATION_VARIABLE: Final = "HOTLINE_STATION"
#: What a caller may add to a hook's environment: ``HOTLINE_`` names...
_HOOK_VARIABLE: Final = re.compile(r"HOTLINE_[A-Z0-9_]{1,64}")
#: ...but never these (the station's own name is the runner's to set).
_NEVER_PASSED: Final = frozenset({"HOTLINE_PASSPHRASE", STATION_VARIABLE})
#: A failed hook's log line quotes this much of its output.
_OUTPUT_QUOTED: Final = 200


@dataclass(frozen=True, slots=True)
class HookCommand:
    """A configured hook: an argument list whose first item is the program's absolute path.

    The station appends its own arguments (documented per hook) after these.
    """

    argv: tuple[str, ...]
    timeout_s: float = DEFAULT_HOOK_TIMEOUT_S

    @classmethod
    def parse(cls, value: object, key: str) -> HookCommand:
        """The hook configured as ``value`` (a TOML list of strings) under ``key``.

        Raises:
            ValueError: one line naming ``key``: not a list of 1 to :data:`MAX_HOOK_ARGV`
                strings, a string too long or holding a NUL, or a program path not absolute.
        """
        if (
            not isinstance(value, list | tuple)
            or not 0 < len(value) <= MAX_HOOK_ARGV
            or not all(isinstance(item, str) for item in value)
        ):
            raise ValueError(
                f"{key} must be a list of 1 to {MAX_HOOK_ARGV} strings: a program and its arguments"
            )
        for index, item in enumerate(value):
            if len(item) > MAX_HOOK_ARG_LEN or "\0" in item:
                raise ValueError(
                    f"{key}[{index}] must be at most {MAX_HOOK_ARG_LEN:,} characters, without NUL"
                )
        if not os.path.isabs(value[0]):
            raise ValueError(f"{key}[0] must be the program's absolute path")
        return cls(tuple(value))


@dataclass(frozen=True, slots=True)
class _Run:
    command: HookCommand
    args: tuple[str, ...]
    env: dict[str, str]


class HookRunner:
    """Runs hooks in the background, a bounded number at a time.

    Args:
        log: where its lines go.
        station: this station's name, given to every hook as ``HOTLINE_STATION``.
        max_running: at most this many hooks run at once; the others wait...
        max_waiting: ...at most this many; past it the oldest waiting run is dropped.
    """

    def __init__(
        self, *, log: logging.Logger, station: str, max_running: int = 4, max_waiting: int = 64
    ) -> None:
        self._log = log
        self._station = station
        self._max_running = max_running
        self._max_waiting = max_waiting
        self._waiting: deque[_Run] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False

    def fire(self, command: HookCommand, args: Sequence[str], env: Mapping[str, str]) -> None:
        """Run ``command`` with ``args`` appended, as soon as a slot is free; never raises.

        Called from the event loop's thread (the run is a task of the running loop).

        Args:
            command: the configured hook.
            args: the documented arguments of this event (a NUL is removed, each is cut at
                :data:`MAX_HOOK_ARG_LEN` characters).
            env: added to the hook's environment: ``HOTLINE_`` names only (anything else, or
                ``HOTLINE_PASSPHRASE``, is left out with a log line).
        """
        if self._closed:
            log_event(self._log, logging.WARNING, "hook not run: stopping", hook=command.argv[0])
            return
        passed = {STATION_VARIABLE: self._station}
        for name, value in env.items():
            if _HOOK_VARIABLE.fullmatch(name) and name not in _NEVER_PASSED:
                passed[name] = _clean(value)
            else:
                log_event(
                    self._log,
                    logging.ERROR,
                    "hook variable left out",
                    hook=command.argv[0],
                    variable=name[:80],
                )
        self._waiting.append(_Run(command, tuple(map(_clean, args)), BASE_ENVIRONMENT | passed))
        if len(self._waiting) > self._max_waiting:
            dropped = self._waiting.popleft()
            log_event(
                self._log,
                logging.WARNING,
                "hook dropped: too many waiting",
                hook=dropped.command.argv[0],
                waiting=self._max_waiting,
            )
        self._start_waiting()

    async def close(self) -> None:
        """Drop the waiting runs, kill the running hooks, and wait until they are gone."""
        self._closed = True
        self._waiting.clear()
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _start_waiting(self) -> None:
        while self._waiting and len(self._running) < self._max_running:
            task = asyncio.get_running_loop().create_task(
                self._run(self._waiting.popleft()), name="hotline-hook"
            )
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log_event(self._log, logging.ERROR, "hook not run", error=error)
        if not self._closed:
            self._start_waiting()

    async def _run(self, run: _Run) -> None:
        hook = run.command.argv[0]
        try:
            process = await asyncio.create_subprocess_exec(
                *run.command.argv,
                *run.args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=run.env,
                cwd="/",
                start_new_session=True,
            )
        except OSError as exc:
            log_event(
                self._log, logging.ERROR, "hook not run", hook=hook, error=exc.strerror or exc
            )
            return
        try:
            async with asyncio.timeout(run.command.timeout_s):
                output = await _head_of(process.stdout)
                status = await process.wait()
        except TimeoutError:
            log_event(
                self._log,
                logging.ERROR,
                "hook timed out",
                hook=hook,
                after_s=run.command.timeout_s,
            )
            await _stop(process, signal.SIGTERM, KILL_GRACE_S)
            await _stop(process, signal.SIGKILL, KILL_GRACE_S)
            return
        except asyncio.CancelledError:
            await _stop(process, signal.SIGKILL, KILL_GRACE_S)
            raise
        if status != 0:
            log_event(
                self._log,
                logging.ERROR,
                "hook failed",
                hook=hook,
                status=status,
                output=output.decode("utf-8", "replace")[:_OUTPUT_QUOTED],
            )
        else:
            log_event(self._log, logging.DEBUG, "hook ran", hook=hook)


def _clean(value: str) -> str:
    """``value`` fit for an argument or an environment value: no NUL, bounded."""
    return value.replace("\0", "")[:MAX_HOOK_ARG_LEN]


async def _head_of(stream: asyncio.StreamReader | None) -> bytes:
    """Read ``stream`` to its end (a hook never blocks on a full pipe); keep its beginning."""
    head = bytearray()
    while stream is not None and (chunk := await stream.read(65_536)):
        head += chunk[: 4 * _OUTPUT_QUOTED - len(head)]
    return bytes(head)


async def _stop(process: asyncio.subprocess.Process, sig: signal.Signals, wait_s: float) -> None:
    """Send ``sig`` to the hook's whole process group and wait up to ``wait_s`` for its end."""
    with contextlib.suppress(ProcessLookupError):  # the group, so what the hook started goes too
        os.killpg(process.pid, sig)
    with contextlib.suppress(TimeoutError):  # something outside the group holds the output
        async with asyncio.timeout(wait_s):
            await process.wait()
