"""Files named on the command line: read whole, but never past a bound the file's kind sets.

A card or a record export may come from anyone; reading one without a bound would let a
wrong path (``/dev/zero``) or a hostile file take all the memory before any parser looked.
"""

from __future__ import annotations

from pathlib import Path

from hotline.errors import ExitCode, HotlineError


class InputFileError(HotlineError):
    """A file named on the command line cannot be read, or is larger than its kind can be."""

    exit_code = ExitCode.INPUT_UNREADABLE


def read_input(path: Path, limit: int, what: str, hint: str = "") -> bytes:
    """Return the bytes of ``path``, at most ``limit`` of them.

    Args:
        path: the file.
        limit: the most bytes a file of its kind holds.
        what: what the file should be, for messages ("the card file").
        hint: what to do about a file over the limit, appended to that message.

    Raises:
        InputFileError: it cannot be read, or holds more than ``limit`` bytes.
    """
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise InputFileError(f"{path} is larger than {limit} bytes: not {what}{hint}")
    return data
