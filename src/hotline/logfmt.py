"""Structured log lines: one event per line, ``key=value`` pairs, on stderr.

A station's log is read by operators and by scripts (``grep 'line up'``), so every line has the
same shape::

    2026-11-25T10:17:30.123Z info line up peer=moscow path=127.0.0.1:7402 direction=out

The event name comes first, in plain words; the fields follow in the order given. A value with
a space, a quote, an ``=`` or any other character outside a short safe set is written as a JSON
string, so a line always splits back into its fields; inside it every control character (C0,
DEL, C1), line or paragraph separator and bidirectional control becomes a JSON ``\\u``
escape, so a value from the network (a peer's CLOSE text, an error message) can neither start
a forged line nor make one display differently from its bytes. Secrets never reach a log line:
callers pass names, addresses, counts and public digests only.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Final

#: Values made of these characters are written bare; anything else is quoted.
_BARE: Final = re.compile(r"[A-Za-z0-9_.:/@+\-\[\]]+")
#: Escaped inside a quoted value (JSON escapes C0 itself): DEL, C1, the line and paragraph
#: separators, and the bidirectional controls (LRM, RLM, ALM; LRE..RLO; LRI..PDI).
_UNSAFE: Final = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: The same and C0, escaped in a record's message (a library's, not one of our event names).
_UNSAFE_IN_MESSAGE: Final = re.compile(f"[\x00-\x1f{_UNSAFE.pattern[1:-1]}]")
#: The attribute of a ``LogRecord`` that carries the fields of :func:`log_event`.
_FIELDS: Final = "hotline_fields"


def format_value(value: object) -> str:
    """Return ``value`` as one token of a log line (quoted if it could be misread)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    if _BARE.fullmatch(text):
        return text
    return _UNSAFE.sub(_escape, json.dumps(text, ensure_ascii=False))


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def log_event(logger: logging.Logger, level: int, event: str, **fields: object) -> None:
    """Log ``event`` with its fields as one structured line.

    Args:
        logger: where to log.
        level: a :mod:`logging` level.
        event: the event's name in plain words (``"line up"``).
        fields: the event's data; keys become field names, in the order given.
    """
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={_FIELDS: fields})


class KeyValueFormatter(logging.Formatter):
    """Formats records as ``<UTC time> <level> <event> key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record on one line (an exception's type and text are appended)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        message = _UNSAFE_IN_MESSAGE.sub(_escape, record.getMessage())
        parts = [f"{stamp}.{int(record.msecs):03d}Z", record.levelname.lower(), message]
        fields: dict[str, object] = getattr(record, _FIELDS, {})
        parts.extend(f"{key}={format_value(value)}" for key, value in fields.items())
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            parts.append(f"error={format_value(f'{type(error).__name__}: {error}')}")
        return " ".join(parts)


def configure_logging(level: int = logging.INFO) -> None:
    """Send every log record of the process to stderr, one structured line each."""
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
