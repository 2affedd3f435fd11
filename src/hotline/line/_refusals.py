"""One log line per source and reason and interval, for everything the station refuses."""

from __future__ import annotations

import asyncio
import logging

from hotline.logfmt import log_event

from ._ratelimit import RateLimiter

_log = logging.getLogger("hotline.line")


class RefusalLog:
    """Logs refusals (unpaired dialers, replays, floods) without letting them flood the log."""

    __slots__ = ("_limiter",)

    def __init__(self, interval: float) -> None:
        """Log each (source, reason) at most once per ``interval`` seconds."""
        self._limiter = RateLimiter(interval)

    def refuse(self, source: str, reason: str, **fields: object) -> None:
        """Record one refusal of ``source`` for ``reason``; log it unless rate-limited.

        Args:
            source: the remote address (no port: a flood changes ports, not addresses).
            reason: a short fixed phrase (``"no paired peer's mac1"``), part of the key.
            fields: more context for the line (never a secret).
        """
        verdict = self._limiter.check((source, reason), asyncio.get_running_loop().time())
        if verdict.log:
            log_event(
                _log,
                logging.WARNING,
                "refused",
                source=source,
                reason=reason,
                **fields,
                suppressed=verdict.suppressed,
            )
