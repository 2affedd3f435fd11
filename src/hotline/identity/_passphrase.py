"""Where a passphrase comes from: a file, an inherited descriptor, the environment, a prompt.

In order of preference, because in that order they leak less: a file (mode 0600, on a tmpfs)
or a descriptor (a pipe from a secrets manager) are visible to nobody else; the environment
variable is readable by anyone who can read ``/proc/<pid>/environ`` of the process (the same
user, root) and is inherited by children, so the daemon removes it once read
(``consume_env=True``). A prompt is the interactive default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Final

from ._errors import PassphraseUnavailableError
from ._keyfile import normalise_passphrase

#: The environment variable holding a passphrase (the least safe source; see the module doc).
PASSPHRASE_ENV: Final = "HOTLINE_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)
#: A passphrase is a few words; reading more than 4 KiB means the wrong file was given.
MAX_PASSPHRASE_LEN: Final = 4096
#: Standard output and standard error are never a passphrase source: reading them fails or
#: blocks, and closing them afterwards would swallow the command's output and its error line.
_OUTPUT_FDS: Final = {1: "standard output", 2: "standard error"}
#: Standard input may carry the passphrase (``--passphrase-fd 0``, as gpg allows): it is read to
#: its end but left open, so the descriptor cannot be reused by the next file opened.
_STDIN_FD: Final = 0


def _strip_newline(text: str) -> str:
    """Remove one trailing line end, as ``echo`` and editors add one."""
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


def _decode(raw: bytes, source: str) -> str:
    if len(raw) > MAX_PASSPHRASE_LEN:
        raise PassphraseUnavailableError(f"{source} holds more than {MAX_PASSPHRASE_LEN} bytes")
    try:
        return _strip_newline(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PassphraseUnavailableError(f"{source} is not UTF-8 text") from None


def _read_fd(fd: int) -> bytes:
    if fd in _OUTPUT_FDS:
        raise PassphraseUnavailableError(
            f"--passphrase-fd {fd} is {_OUTPUT_FDS[fd]}, not a passphrase source:"
            " give the descriptor of a pipe or file (e.g. 3<FILE), or 0 for standard input"
        )
    if fd == _STDIN_FD and os.isatty(fd):
        raise PassphraseUnavailableError(
            "--passphrase-fd 0 is a terminal, where the passphrase would be echoed:"
            " leave out --passphrase-fd to be asked for it"
        )
    chunks: list[bytes] = []
    size = 0
    try:
        with os.fdopen(fd, "rb", closefd=fd != _STDIN_FD) as stream:
            while size <= MAX_PASSPHRASE_LEN and (chunk := stream.read(MAX_PASSPHRASE_LEN + 1)):
                chunks.append(chunk)
                size += len(chunk)
    except OSError as exc:
        raise PassphraseUnavailableError(
            f"cannot read the passphrase from descriptor {fd}: {exc.strerror}"
        ) from None
    return b"".join(chunks)


def obtain_passphrase(
    *,
    file: Path | None = None,
    fd: int | None = None,
    environ: MutableMapping[str, str] | None = None,
    prompt: Callable[[], str] | None = None,
    consume_env: bool = False,
) -> bytes:
    """Return the normalised passphrase from the first source given.

    Args:
        file: read the passphrase from this file (one trailing newline removed).
        fd: read it from this inherited descriptor to end of file, then close it; 0
            (standard input, not a terminal) is read but left open; 1 and 2 are refused.
        environ: the environment to look in for ``HOTLINE_PASSPHRASE`` (``None``: ignore it).
        prompt: asks the operator; called only if no other source is given.
        consume_env: remove the variable from ``environ`` once read (the daemon does).

    Returns:
        The passphrase as :func:`normalise_passphrase` makes it.

    Raises:
        PassphraseUnavailableError: both ``file`` and ``fd``, an unreadable source, ``fd``
            standard output, standard error or a terminal on standard input, an empty
            passphrase, or no source at all.
    """
    if file is not None and fd is not None:
        raise PassphraseUnavailableError("give either --passphrase-file or --passphrase-fd")
    if file is not None:
        try:
            with file.open("rb") as stream:
                raw = stream.read(MAX_PASSPHRASE_LEN + 1)
        except OSError as exc:
            raise PassphraseUnavailableError(
                f"cannot read the passphrase file {file}: {exc.strerror}"
            ) from None
        return normalise_passphrase(_decode(raw, f"passphrase file {file}"))
    if fd is not None:
        return normalise_passphrase(_decode(_read_fd(fd), f"descriptor {fd}"))
    if environ is not None and PASSPHRASE_ENV in environ:
        value = environ.pop(PASSPHRASE_ENV) if consume_env else environ[PASSPHRASE_ENV]
        return normalise_passphrase(value)
    if prompt is None:
        raise PassphraseUnavailableError(
            f"no passphrase: use --passphrase-file, --passphrase-fd or {PASSPHRASE_ENV}"
        )
    return normalise_passphrase(prompt())
