"""Whether our clock is synchronised: the kernel's answer, and every way it cannot tell."""

from __future__ import annotations

import ctypes
import sys

import pytest

from hotline.watch import _clock, clock_synchronised


def _fake(answer: int | Exception) -> object:
    def adjtimex(buffer: ctypes.Array[ctypes.c_char]) -> int:
        # read-only: a zeroed struct (modes == 0), large enough for struct timex
        assert len(buffer) >= 208 and not any(buffer.raw)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return lambda: adjtimex


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (0, True),  # TIME_OK
        (1, True),  # TIME_INS: a leap second is due, the clock is disciplined
        (4, True),  # TIME_WAIT
        (5, False),  # TIME_ERROR: not synchronised
        (-1, None),  # the call failed
        (OSError(22, "Invalid argument"), None),
        (ctypes.ArgumentError("bad"), None),
    ],
)
def test_the_kernel_answer(
    monkeypatch: pytest.MonkeyPatch, answer: int | Exception, expected: bool | None
) -> None:
    monkeypatch.setattr(_clock, "_libc_adjtimex", _fake(answer))
    assert clock_synchronised() is expected


def test_no_adjtimex(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_clock, "_libc_adjtimex", lambda: None)
    assert clock_synchronised() is None


def test_not_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert clock_synchronised() is None


def test_no_such_symbol(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoAdjtimex:
        def __init__(self, name: object) -> None:
            pass

        def __getattr__(self, name: str) -> object:
            raise AttributeError(name)

    monkeypatch.setattr(ctypes, "CDLL", NoAdjtimex)
    assert clock_synchronised() is None


def test_the_real_call() -> None:
    answer = clock_synchronised()
    assert answer in (True, False, None)
    if sys.platform == "linux":
        assert answer is not None
