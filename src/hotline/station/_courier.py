"""The courier: one line's messages moved over its sessions (docs/protocol.md §4). Asyncio.

The courier is the thin adapter between three things that each decide nothing about the
others: the line's session (frames in and out), the sans-IO :class:`~hotline.delivery.Exchange`
(what the frames mean and what to do), and the store's thread (every durable step). It lives
as long as the line; each session's work is a :class:`~._session_run.SessionRun` (its writer
and sender tasks), which the next session replaces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Protocol, TypeVar

from hotline.api import LineUnavailableError
from hotline.constants import CHECKPOINT_INTERVAL, IN_FLIGHT_WINDOW
from hotline.line import SessionProtocol
from hotline.record import ChainRef, Checkpoint, Direction, Envelope, Signer
from hotline.session import Frame
from hotline.signatures import VerifyKeys
from hotline.store import Chains, StoreThread
from hotline.watch import AlarmKind

from ._session_run import SessionGoneError, SessionRun

T = TypeVar("T")


class Watcher(Protocol):
    """What the courier tells the station's watch (:class:`~._watch.StationWatch`)."""

    def alarm(self, kind: AlarmKind, peer: str, text: str) -> None:
        """Something is wrong with the line to ``peer``: raise the alarm."""

    def delivered(self, peer: str, stored: Sequence[tuple[str, Envelope]], at_ms: int) -> None:
        """The peer's envelopes were stored at ``at_ms`` (with their message ids)."""


class Courier:
    """Moves the messages of one line. Implements :class:`hotline.line.SessionObserver`.

    Args:
        peer: the peer's station name.
        line_id: the line's id.
        direction: the direction this station sends.
        signer: this station's signing keys.
        peer_keys: the peer's signing keys, from its pinned card.
        store: the store's thread (every write).
        stored_hash: the stored hash at ``(line_id, direction, seq)``, read on the loop.
        window: the in-flight window.
        checkpoint_interval: seconds between checkpoint proposals while the line moves.
        watch: told of alarms and deliveries.
    """

    def __init__(
        self,
        *,
        peer: str,
        line_id: bytes,
        direction: Direction,
        signer: Signer,
        own_keys: VerifyKeys,
        peer_keys: VerifyKeys,
        store: StoreThread,
        stored_hash: Callable[[bytes, Direction, int], bytes | None],
        watch: Watcher,
        window: int = IN_FLIGHT_WINDOW,
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
    ) -> None:
        self.peer = peer
        self.line_id = line_id
        self.direction = direction
        self.signer = signer
        self.own_keys = own_keys
        self.peer_keys = peer_keys
        self.window = window
        self.checkpoint_interval = checkpoint_interval
        self.watch = watch
        self._store = store
        self._stored_hash = stored_hash
        #: Set when there may be something to sequence (a message queued, a receipt came).
        self.work = asyncio.Event()
        self.work.set()
        #: When each of our envelopes was first sent (our clock), until receipted.
        self.sent_at: dict[int, int] = {}
        #: Per direction, the last stored envelope the audit checked (this process).
        self.audited: dict[Direction, ChainRef] = {}
        self._run: SessionRun | None = None

    def __repr__(self) -> str:
        return f"Courier({self.peer})"

    def wake(self) -> None:
        """A message was queued for this line."""
        self.work.set()

    async def call(self, job: Callable[[Chains], T]) -> T:
        """Run ``job`` in the store's thread, after everything submitted before."""
        return await asyncio.wrap_future(self.submit(job))

    def submit(self, job: Callable[[Chains], T]) -> Future[T]:
        """Queue ``job`` in the store's thread now; it runs even if nobody waits for it."""
        return self._store.submit_chains(job)

    def stored(self, direction: Direction, seq: int) -> bytes | None:
        """The stored hash of this line at ``(direction, seq)``."""
        return self._stored_hash(self.line_id, direction, seq)

    def alarm(self, kind: AlarmKind, text: str) -> None:
        """Raise an alarm about this line (the detailed log line is the caller's)."""
        self.watch.alarm(kind, self.peer, text)

    async def checkpoint_now(self, timeout: float) -> Checkpoint:
        """Propose a checkpoint now (an operator asked) and return it once both signed.

        Raises:
            LineUnavailableError: the line is not up and synced, the session ended, or the
                peer did not co-sign within ``timeout`` seconds (it declines by silence, and
                logs why: its clock or its record disagrees).
        """
        run = self._run
        if run is None:
            raise LineUnavailableError(f"the line to {self.peer} is not up")
        if not run.synced:  # resends still going out, a recovery, or stores that disagree
            raise LineUnavailableError(
                f"the line to {self.peer} is up but not synced yet: ask again in a moment"
                " (if it lasts, see hotline alarms)"
            )
        try:
            return await asyncio.wait_for(run.propose_checkpoint(), timeout)
        except TimeoutError:
            raise LineUnavailableError(
                f"{self.peer} did not co-sign a checkpoint within {timeout:g} s"
                " (see both stations' logs: a clock or record disagreement is an ALARM)"
            ) from None
        except (ConnectionError, SessionGoneError):
            raise LineUnavailableError(
                f"the session with {self.peer} ended before the checkpoint was signed"
            ) from None

    # --- SessionObserver -----------------------------------------------------------------------
    def session_up(self, session: SessionProtocol) -> None:
        """Start the exchange on the line's new session."""
        self._run = SessionRun(self, session)

    def frame_received(self, session: SessionProtocol, frame: Frame) -> None:
        """Hand a frame of the line's session to its exchange."""
        if self._run is not None and self._run.session is session:
            self._run.receive(frame)

    def session_down(self, session: SessionProtocol) -> None:
        """Stop the session's tasks: what they did not finish, the next session redoes."""
        if self._run is not None and self._run.session is session:
            self._run.stop()
            self._run = None
