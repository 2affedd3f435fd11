"""Structured log lines: one event per line, ``key=value`` pairs, on stderr.

A station's log is read by operators and by scripts (``grep 'line up'``), so every line has the
same shape::

    2026-11-25T10:17:30.123Z info line up peer=moscow path=127.0.0.1:7402 direction=out

The event name comes first, in plain words; the fields follow in the order given. A value with
a space, a quote, an ``=`` or a control character is written as a JSON string, so a line always
splits back into its fields. Secrets never reach a log line: callers pass names, addresses,
counts and public digests only.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Final

#: Values made of these characters are written bare; anything else is quoted.
_BARE: Final = re.compile(r"[A-Za-z0-9_.:/@+\-\[\]]+")
#: The attribute of a ``LogRecord`` that carries the fields of :func:`log_event`.
_FIELDS: Final = "hotline_fields"


def format_value(value: object) -> str:
    """Return ``value`` as one token of a log line (quoted if it could be misread)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


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
        parts = [f"{stamp}.{int(record.msecs):03d}Z", record.levelname.lower(), record.getMessage()]
        fields: dict[str, object] = getattr(record, _FIELDS, {})
        parts.extend(f"{key}={format_value(value)}" for key, value in fields.items())
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            parts.append(f"error={format_value(f'{type(error).__name__}: {error}')}")
        return " ".join(part.replace("\n", " ") for part in parts)


def configure_logging(level: int = logging.INFO) -> None:
    """Send every log record of the process to stderr, one structured line each."""
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
