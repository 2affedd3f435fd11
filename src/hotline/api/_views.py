"""What the API shows, and the narrow control surface the daemon hands it.

The API imports nothing of the daemon: the daemon implements :class:`Control` and passes it to
:func:`~hotline.api.make_app`. These views are the JSON contract of ``GET /v1/status`` (and of
``hotline status --json``); fields are only ever added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class LineView:
    """One line as the API reports it.

    Attributes:
        peer: the paired station's name.
        state: ``"up"``, ``"down"``, ``"connecting"`` (or ``"closed"`` while stopping).
        path: the remote ``host:port`` of the session, or ``None`` when not up.
        direction: ``"out"`` (we dialled) or ``"in"``, or ``None``.
        rtt_ms: last heartbeat round trip in milliseconds, or ``None``.
        session_age_s: seconds since the keys in use were established (0 again at each rekey).
        up_for_s: seconds since the session's first handshake.
        last_handshake: when the last handshake completed, ISO 8601 UTC, or ``None``.
        rekeys: rekeys completed on the current session.
    """

    peer: str
    state: str
    path: str | None
    direction: str | None
    rtt_ms: float | None
    session_age_s: float | None
    up_for_s: float | None
    last_handshake: str | None
    rekeys: int


@dataclass(frozen=True, slots=True)
class StationStatus:
    """The answer of ``GET /v1/status``.

    Attributes:
        station: this station's name.
        lines: one entry per paired (not revoked) station, in pairing order.
    """

    station: str
    lines: tuple[LineView, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object (lines as a list of objects)."""
        document = asdict(self)
        document["lines"] = [asdict(line) for line in self.lines]
        return document


class Control(Protocol):
    """What the API may ask of the daemon. Later issues add send, outbox, inbox."""

    def status(self) -> StationStatus:
        """Return the station's name and the state of every line."""
