"""The station daemon: the composition root that runs one station (``hotline serve``).

It wires the pieces and owns nothing the pieces could own themselves:

1. checks, before anything listens: the crypto self-test, one daemon per home (a lock file),
   the store (WAL, synchronous=FULL, migrated);
2. builds a :class:`~hotline.line.Line` per active pairing (revoked pins get none), with the
   handshake timestamps from the store, and a :class:`~hotline.line.Listener` per
   ``station.listen`` address over a peer table of the same pairings;
3. serves the local API (:func:`hotline.api.make_app`) with uvicorn in the same event loop, on
   ``[api] listen``, and writes ``daemon.json`` so that ``hotline status`` finds it; the
   operator's messages go through :class:`~hotline.station._desk.MessageDesk` to the store's
   own thread (texts sealed with the store's subkey of the data key);
4. re-reads ``peers.json`` when it changes (``pair``, ``unpair`` while serving): a new pairing
   gets a line, an unpaired one is closed and refused from then on;
5. on SIGTERM or SIGINT closes every session with a CLOSE frame, stops listening, removes
   ``daemon.json``, and returns.

Every log line is structured (:mod:`hotline.logfmt`); no secret is ever logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA87PublicKey

from hotline.api import (
    LOCK_FILE,
    AckRequest,
    AckView,
    AlarmUnknownError,
    AlarmView,
    CheckpointView,
    DaemonInfo,
    InboxView,
    LineView,
    OutboxView,
    PeerUnknownError,
    RecordQuery,
    RequestInvalidError,
    SendRequest,
    SendResult,
    StationStatus,
    StoreUnavailableError,
    format_time_ms,
    load_or_create_token,
    make_app,
)
from hotline.constants import CHECKPOINT_INTERVAL, CHECKPOINT_WAIT, CLOCK_SKEW_BOUND_MS
from hotline.delivery import DELIVERY_FRAMES
from hotline.errors import ExitCode, HotlineError
from hotline.handshake import (
    LocalCredentials,
    PairedPeer,
    PeerKeys,
    PeerTable,
    check_crypto_support,
)
from hotline.identity import Card, Peer, PeerRegistry, PeersFileError, line_id
from hotline.line import (
    Line,
    LinePeer,
    LineStatus,
    Listener,
    RefusalLog,
    shift_for_testing,
    split_address,
)
from hotline.logfmt import log_event
from hotline.record import direction_of
from hotline.session import CloseReason, PeerTimestamps, SessionTiming
from hotline.signatures import VerifyKeys
from hotline.store import LABEL_STORE_KEY, Store, StoreError, StoreThread
from hotline.watch import Alarm, UnknownAlarmError

from ._courier import Courier
from ._crashpoints import arm_from_environment
from ._desk import MessageDesk
from ._home import UnlockedStation
from ._hooks import HookRunner
from ._loop import new_event_loop
from ._records import export_record
from ._watch import StationWatch

_log = logging.getLogger("hotline.station")

DB_FILE: Final = "hotline.db"
#: How often peers.json is checked for a change (one ``stat``): an unpaired station loses its
#: line within about this long.
PEERS_POLL_INTERVAL: Final = 1.0


class ListenError(HotlineError):
    """The station cannot listen on an address of ``station.listen`` or ``[api] listen``."""

    exit_code = ExitCode.LISTEN_FAILED


class TaskDiedError(HotlineError):
    """A task the daemon cannot run without (the peers watcher, the API) died: a bug.

    The daemon stops rather than serve on without it: without the watcher an unpairing would
    silently stop taking effect (fail closed).
    """

    exit_code = ExitCode.INTERNAL


class AlreadyRunningError(HotlineError):
    """Another daemon already serves this station."""

    exit_code = ExitCode.ALREADY_RUNNING


def serve(station: UnlockedStation) -> None:
    """Run the station until SIGTERM or SIGINT (``hotline serve``).

    Raises:
        CryptoSupportError: no ML-KEM-1024 / ML-DSA-87 here.
        AlreadyRunningError: a daemon already serves this home.
        StoreError: hotline.db cannot be used.
        ListenError: an address cannot be listened on.
        ConfigError: ``[testing]`` is out of bounds.
    """
    check_crypto_support()
    arm_from_environment()
    home = station.home.path
    session_timing = station.config.session_timing()
    if station.config.clock_offset_ms is not None:
        shift_for_testing(station.config.clock_offset_ms)
    with _single_daemon(home):
        os.umask(0o077)  # hotline.db, its -wal and -shm, daemon.json: the operator's only
        store_key = station.unlocked.derive_key(LABEL_STORE_KEY)
        with (
            Store.open(home / DB_FILE) as store,
            StoreThread.open(home / DB_FILE, store_key) as messages,
            asyncio.Runner(loop_factory=new_event_loop) as r,
        ):
            daemon = Daemon(station, store, session_timing=session_timing, messages=messages)
            r.run(daemon.run())


@contextlib.contextmanager
def _single_daemon(home: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<home>/daemon.lock`` (released by the kernel at exit)."""
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunningError(f"the station in {home} is already running") from None
        yield
    finally:
        os.close(fd)


def _peer_keys(card: Card) -> PeerKeys:
    return PeerKeys(
        static=card.keys.x25519,
        ed25519=Ed25519PublicKey.from_public_bytes(card.keys.ed25519),
        mldsa=MLDSA87PublicKey.from_public_bytes(card.keys.mldsa87),
    )


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else format_time_ms(ms)


def _alarm_view(alarm: Alarm) -> AlarmView:
    return AlarmView(
        id=alarm.id,
        kind=str(alarm.kind),
        level=str(alarm.level),
        peer=alarm.peer,
        text=alarm.text,
        raised_at=format_time_ms(alarm.raised_at_ms),
        last_at=format_time_ms(alarm.last_at_ms),
        count=alarm.count,
        active=alarm.active,
        cleared_at=_iso_ms(alarm.cleared_at_ms),
        acked_by=alarm.acked_by,
        acked_at=_iso_ms(alarm.acked_at_ms),
    )


def _view(status: LineStatus) -> LineView:
    return LineView(
        peer=status.peer,
        state=status.state.value,
        path=status.path,
        direction=status.direction,
        rtt_ms=status.rtt_ms,
        session_age_s=status.session_age_s,
        up_for_s=status.up_for_s,
        last_handshake=_iso(status.last_handshake),
        rekeys=status.rekeys,
        rtt_last_ms=status.rtt_last_ms,
        loss=status.loss,
        clock_offset_ms=status.clock_offset_ms,
        path_state=None if status.path_state is None else status.path_state.value,
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: the daemon, not uvicorn, handles SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Daemon:
    """One running station: lines, listeners, the API. Implements :class:`hotline.api.Control`."""

    def __init__(
        self,
        station: UnlockedStation,
        store: Store,
        *,
        session_timing: SessionTiming,
        messages: StoreThread,
    ) -> None:
        """Args:
        station: the unlocked station.
        store: its open store.
        session_timing: the session timers (the protocol's unless ``[testing]``).
        messages: the store's thread, for the operator's messages.
        """
        self._station = station
        self._config = station.config
        self._store = store
        self._messages = messages
        self._hooks = HookRunner(log=logging.getLogger("hotline.hooks"), station=self._config.name)
        self._watch = StationWatch(
            station=self._config.name,
            config=self._config.watch,
            store=messages,
            hooks=self._hooks,
            lines=lambda: [line.status() for line in self._lines.values()],
            line_ids=self._line_ids,
            queued=self._queued,
            skew_bound_ms=CLOCK_SKEW_BOUND_MS,
        )
        self._desk = MessageDesk(messages, self._line_ids, self._queued, self._watch.acknowledged)
        self._session_timing = session_timing
        keys = station.keys
        self._local = LocalCredentials(keys.x25519, keys.ed25519, keys.mldsa87)
        self._signer = keys.signing_keys()
        self._card = station.card()
        self._refusals = RefusalLog(self._config.line.refusal_log_interval)
        self._lines: dict[bytes, Line] = {}
        self._couriers: dict[bytes, Courier] = {}
        self._paired: dict[bytes, PairedPeer] = {}
        #: The card (its fingerprint: name and all three keys) each line was built for.
        self._cards: dict[bytes, Card] = {}
        self._listener: Listener | None = None
        self._stop = asyncio.Event()
        self._died: str | None = None
        self._peers_stamp: tuple[int, int, int] | None = None

    # --- Control -------------------------------------------------------------------------------

    def status(self) -> StationStatus:
        """The station's lines and open alarms, for ``GET /v1/status``."""
        lines = []
        for line in self._lines.values():
            view = _view(line.status())
            queued, oldest = self._watch.outbox.get(line.name, (0, None))
            last_in, last_out = self._watch.last_tests(line.name)
            ack = self._watch.last_ack(line.name)
            lines.append(
                dataclasses.replace(
                    view,
                    queued=queued,
                    oldest_unreceipted=_iso_ms(oldest),
                    last_test_received=_iso_ms(last_in),
                    last_test_sent=_iso_ms(last_out),
                    last_ack_by=None if ack is None else ack.operator,
                    last_ack_seq=None if ack is None else ack.seq,
                    last_ack_at=None if ack is None else _iso_ms(ack.at_ms),
                )
            )
        return StationStatus(
            self._config.name,
            tuple(lines),
            self.alarms(include_closed=False),
            self._watch.clock_synchronised,
        )

    def alarms(self, include_closed: bool) -> tuple[AlarmView, ...]:
        """The alarms, newest first, for ``GET /v1/alarms``."""
        return tuple(
            _alarm_view(alarm) for alarm in self._watch.board.alarms(include_closed=include_closed)
        )

    def ack_alarm(self, alarm_id: int, operator: str) -> AlarmView:
        """Acknowledge an alarm, for ``POST /v1/alarms/{id}/ack``.

        Raises:
            AlarmUnknownError: no alarm has that number.
        """
        try:
            alarm = self._watch.board.ack(alarm_id, operator, time.time_ns() // 1_000_000)
        except UnknownAlarmError as exc:
            raise AlarmUnknownError(str(exc)) from None
        except ValueError as exc:
            raise RequestInvalidError(str(exc)) from None
        log_event(_log, logging.INFO, "alarm acknowledged", id=alarm_id, operator=operator)
        return _alarm_view(alarm)

    async def send(self, request: SendRequest) -> SendResult:
        """Queue a message durably, for ``POST /v1/messages`` (see :class:`MessageDesk`)."""
        return await self._desk.send(request)

    async def send_batch(self, requests: tuple[SendRequest, ...]) -> tuple[SendResult, ...]:
        """Queue many messages in one commit, for ``POST /v1/messages/batch``."""
        return await self._desk.send_batch(requests)

    async def outbox(self, peer: str | None) -> tuple[OutboxView, ...]:
        """The messages not yet receipted, for ``GET /v1/outbox``."""
        return await self._desk.outbox(peer)

    async def inbox(self, peer: str | None, after: str | None = None) -> tuple[InboxView, ...]:
        """The messages received, for ``GET /v1/inbox``."""
        return await self._desk.inbox(peer, after)

    async def record(self, peer: str, query: RecordQuery) -> bytes:
        """An export of the line's record, for ``GET /v1/lines/{peer}/record``.

        Raises:
            PeerUnknownError: no active pairing has that name.
            StoreUnavailableError: the store cannot be read, or its record is damaged.
        """
        line = self._named(peer)
        cards = sorted(
            (self._card, self._cards[line.peer.paired.keys.static]),
            key=lambda card: card.fingerprint.digest,
        )
        return await export_record(
            self._messages, (cards[0], cards[1]), line.peer.paired.line_id, query
        )

    async def ack(self, message_id: str, request: AckRequest) -> SendResult:
        """Queue an operator's acknowledgement, for ``POST /v1/inbox/{id}/ack``."""
        return await self._desk.ack(message_id, request)

    async def acks(self, peer: str | None) -> tuple[AckView, ...]:
        """The peers' acknowledgements of our messages, for ``GET /v1/acks``."""
        return await self._desk.acks(peer)

    async def checkpoint(self, peer: str) -> CheckpointView:
        """Sign a checkpoint with the peer now, for ``POST /v1/lines/{peer}/checkpoint``.

        Raises:
            PeerUnknownError: no active pairing has that name.
            LineUnavailableError: the line is not up, or the peer did not co-sign in time.
        """
        line = self._named(peer)
        courier = self._couriers[line.peer.paired.keys.static]
        body = (await courier.checkpoint_now(CHECKPOINT_WAIT)).body
        ours = courier.direction
        return CheckpointView(
            peer,
            body.number,
            sent=body.heads[ours].seq,
            received=body.heads[ours.other].seq,
            proposed_at=format_time_ms(body.proposed_at_ms),
            cosigned_at=format_time_ms(body.cosigned_at_ms),
        )

    async def resume(self, peer: str) -> int:
        """Lift the halts of the line to ``peer`` (``hotline resume``); return how many.

        The line's session is closed, so the next one starts from the store: a fresh SYNC, a
        fresh validator, sending again.

        Raises:
            PeerUnknownError: no active pairing has that name.
            StoreUnavailableError: the store failed: nothing was lifted.
        """
        line = self._named(peer)
        line_id = line.peer.paired.line_id
        future = self._messages.submit_chains(lambda chains: chains.resume(line_id))
        try:
            lifted = await asyncio.wrap_future(future)
        except StoreError as exc:
            raise StoreUnavailableError(str(exc)) from None
        log_event(_log, logging.WARNING, "halts lifted by the operator", peer=peer, halts=lifted)
        self._watch.resumed(peer)
        session = line.session
        if lifted and session is not None:
            session.close(CloseReason.NORMAL, "halt lifted; resyncing")
        return lifted

    def _named(self, peer: str) -> Line:
        """The line to the active pairing named ``peer``.

        Raises:
            PeerUnknownError: there is none.
        """
        line = next((line for line in self._lines.values() if line.name == peer), None)
        if line is None:
            raise PeerUnknownError(f"no paired station is named {peer!r} (see peers)")
        return line

    def _queued(self, line_id: bytes) -> None:
        """A message was queued on ``line_id``: its courier may sequence it."""
        for courier in self._couriers.values():
            if courier.line_id == line_id:
                courier.wake()

    def _line_ids(self) -> dict[str, bytes]:
        """The active pairings: peer name -> line id."""
        return {line.peer.name: line.peer.paired.line_id for line in self._lines.values()}

    # --- Running -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until a signal asks to stop, then shut down in order."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop.set)
        if (
            not self._session_timing.is_default
            or self._config.checkpoint_interval is not None
            or self._config.clock_offset_ms is not None
        ):
            log_event(
                _log,
                logging.WARNING,
                "TESTING TIMERS IN FORCE: never run a real station like this",
                rekey_after_s=self._session_timing.rekey_after,
                reject_after_s=self._session_timing.reject_after,
                checkpoint_interval_s=self._config.checkpoint_interval,
                clock_offset_ms=self._config.clock_offset_ms,
            )
        registry = self._read_peers()
        self._listener = Listener(PeerTable(()), self._line_for, self._refusals)
        self._apply_peers(registry)
        await self._listen()
        api_server, api_task, api_url = await self._start_api()
        info = DaemonInfo(os.getpid(), api_url, _iso(time.time()) or "")
        info.write(self._station.home.path)
        log_event(
            _log,
            logging.INFO,
            "station up",
            station=self._config.name,
            listen=",".join(self._config.listen),
            api=api_url,
            peers=len(self._lines),
            pid=os.getpid(),
        )
        for line in self._lines.values():
            line.start(on_died=self._line_died)
        watcher = loop.create_task(self._watch_peers(), name="hotline-peers-watch")
        watch = loop.create_task(self._watch.run(), name="hotline-watch")
        for task in (watcher, api_task, watch):
            task.add_done_callback(self._task_done)
        try:
            await self._stop.wait()
        finally:
            log_event(_log, logging.INFO, "station stopping", station=self._config.name)
            watcher.cancel()
            watch.cancel()
            await asyncio.gather(watcher, watch, return_exceptions=True)
            await self._hooks.close()
            await asyncio.gather(*(line.stop() for line in self._lines.values()))
            # The sessions' store jobs still queued (a checkpoint counter-signed at the last
            # moment) finish before this one, and their results reach the loop while it runs.
            # A store already failed or closed says so here: the stop goes on.
            with contextlib.suppress(StoreError):
                await asyncio.wrap_future(self._messages.submit_chains(lambda chains: None))
            await self._listener.close()
            api_server.should_exit = True
            await asyncio.gather(api_task, return_exceptions=True)
            DaemonInfo.remove(self._station.home.path)
            log_event(_log, logging.INFO, "station stopped", station=self._config.name)
        if self._died is not None:
            raise TaskDiedError(f"stopped: the task {self._died} died unexpectedly (see the log)")

    def _line_died(self) -> None:
        """A line's dial loop died (logged by the line): stop, as for any task we need."""
        if not self._stop.is_set():
            self._died = "hotline-dial"
            self._stop.set()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """Stop the daemon if a task it needs ended before it was asked to stop."""
        if self._stop.is_set() or task.cancelled():
            return
        error = task.exception()
        log_event(
            _log,
            logging.CRITICAL,
            "task died; stopping the station",
            task=task.get_name(),
            error=type(error).__name__ if error is not None else "returned",
        )
        self._died = task.get_name()
        self._stop.set()

    async def _listen(self) -> None:
        assert self._listener is not None
        for address in self._config.listen:
            host, port = split_address(address)
            try:
                await self._listener.listen(host, port)
            except OSError as exc:
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                raise ListenError(
                    f"cannot listen on {address}: {reason}"
                    " (another station or program uses it, or the host is not local)"
                ) from None

    async def _start_api(self) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
        app = make_app(self, token=load_or_create_token(self._station.home.path))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._config.api_port))
        except OSError as exc:
            sock.close()
            raise ListenError(
                f"cannot listen on {self._config.api_listen} for the API: {exc.strerror or exc}"
            ) from None
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", server_header=False
        )
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # our own lines say it
        server = _EmbeddedServer(config)
        task = asyncio.get_running_loop().create_task(
            server.serve(sockets=[sock]), name="hotline-api"
        )
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise ListenError("the API server stopped at start")
            await asyncio.sleep(0.005)
        return server, task, f"http://127.0.0.1:{port}"

    # --- Peers ---------------------------------------------------------------------------------

    def _line_for(self, peer: PairedPeer) -> Line | None:
        return self._lines.get(peer.keys.static)

    def _read_peers(self) -> PeerRegistry:
        path = self._station.home.peers_path
        info = path.stat()
        self._peers_stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        return self._station.load_peers()

    def _line_peer(self, peer: Peer, paired: PairedPeer) -> LinePeer:
        record = self._store.handshakes(paired.keys.static)
        addresses = self._config.dial_addresses(peer.name) or peer.card.addresses
        return LinePeer(
            peer.name,
            paired,
            addresses,
            # One record per peer, shared by all its connections (docs/line.md §3).
            timestamps=PeerTimestamps(record.last_sent, record.last_accepted),
            last_handshake=record.last_handshake,
        )

    def _apply_peers(self, registry: PeerRegistry) -> tuple[list[Line], list[Line]]:
        """Make the lines match the active pairings; return the lines to stop and to start.

        A line is keyed by the peer's static key but built for all its pins: a ``pair
        --replace`` that keeps the static key and changes a signing key (or the name) must not
        leave the old ``PairedPeer`` in force, so any change of the fingerprint replaces the line.
        """
        active = {peer.card.keys.x25519: peer for peer in registry.active()}
        removed = [
            self._lines.pop(key)
            for key in list(self._lines)
            if key not in active
            or self._cards[key].fingerprint.digest != active[key].card.fingerprint.digest
        ]
        for key in [key for key in self._paired if key not in self._lines]:
            del self._paired[key]
            self._cards.pop(key, None)
            self._couriers.pop(key, None)
        added: list[Line] = []
        for key, peer in active.items():
            line = self._lines.get(key)
            if line is not None:
                self._cards[key] = peer.card  # the same pins; its addresses may be new
                addresses = self._config.dial_addresses(peer.name) or peer.card.addresses
                if addresses != line.peer.addresses:
                    line.set_addresses(addresses)
                continue
            paired = PairedPeer.derive(
                self._local, _peer_keys(peer.card), line_id(self._card, peer.card)
            )
            self._paired[key] = paired
            self._cards[key] = peer.card
            courier = self._courier(peer, paired)
            self._couriers[key] = courier
            line = Line(
                self._line_peer(peer, paired),
                self._local,
                ledger=self._store,
                refusals=self._refusals,
                timing=self._config.line,
                session_timing=self._session_timing,
                observer=courier,
                codec=DELIVERY_FRAMES,
            )
            self._lines[key] = line
            added.append(line)
        assert self._listener is not None
        self._listener.table = PeerTable(self._paired.values())
        return removed, added

    def _courier(self, peer: Peer, paired: PairedPeer) -> Courier:
        return Courier(
            peer=peer.name,
            line_id=paired.line_id,
            direction=direction_of(self._card.fingerprint.digest, peer.card.fingerprint.digest),
            signer=self._signer,
            own_keys=self._signer.public(),
            peer_keys=VerifyKeys(paired.keys.ed25519, paired.keys.mldsa),
            store=self._messages,
            stored_hash=self._store.hash_at,
            watch=self._watch,
            checkpoint_interval=self._config.checkpoint_interval or CHECKPOINT_INTERVAL,
        )

    async def _watch_peers(self) -> None:
        """Re-read peers.json whenever its stat changes (pair/unpair while serving)."""
        path = self._station.home.peers_path
        while True:
            await asyncio.sleep(PEERS_POLL_INTERVAL)
            try:
                info = path.stat()
            except OSError:
                continue
            if (info.st_mtime_ns, info.st_size, info.st_ino) == self._peers_stamp:
                continue
            try:
                registry = self._read_peers()
            except (PeersFileError, OSError) as exc:
                log_event(_log, logging.ERROR, "peers.json unreadable; pins unchanged", error=exc)
                continue
            removed, added = self._apply_peers(registry)
            # The old lines stop before their replacements dial: one msg1 sender per peer.
            for line in removed:
                replaced = line.peer.paired.keys.static in self._lines
                log_event(_log, logging.WARNING, "peer removed", peer=line.name, replaced=replaced)
                await line.stop("pins changed" if replaced else "unpaired")
            for line in added:
                log_event(_log, logging.INFO, "peer added", peer=line.name)
                line.start(on_died=self._line_died)
