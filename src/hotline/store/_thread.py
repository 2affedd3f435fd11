"""The store's own thread: blocking SQLite work off the daemon's event loop.

A commit with ``synchronous=FULL`` waits for an fsync (milliseconds on a good disk, much more
on a busy one); run on the event loop it would stall every line's heartbeats. So the daemon's
message work runs here: one thread, which opens its own connection (sqlite3 connections stay
in the thread that made them) and runs submitted calls one at a time, in order. One writer
thread also means queued messages are committed in the order the operator's requests arrived.

A call gets the thread's :class:`Messages` (the operator's side) or its :class:`Chains`
(delivery's side), both on the one connection. The caller gets a
:class:`concurrent.futures.Future`; the daemon awaits it with
``asyncio.wrap_future``. (This package imports no asyncio: the store knows nothing of loops.)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from ._chains import Chains
from ._db import connect
from ._errors import StoreError
from ._messages import Messages
from ._sealing import RowCipher

T = TypeVar("T")

#: Long reads (:meth:`StoreThread.read_aside`) at once: each holds a whole export in memory.
MAX_READS_ASIDE: Final = 2

_Job = tuple[Callable[[Messages, Chains], Any], Future[Any]]


class StoreThread:
    """One thread, one connection to ``hotline.db``, running store calls in order."""

    __slots__ = ("_cipher", "_closed", "_jobs", "_path", "_reads_aside", "_thread")

    def __init__(self, path: Path, key: bytes) -> None:
        """Use :meth:`open`.

        Args:
            path: the database file.
            key: the store's subkey of the data key (``LABEL_STORE_KEY``).
        """
        self._path = path
        self._cipher = RowCipher(key)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="hotline-store", daemon=True)
        self._closed = False
        self._reads_aside = threading.BoundedSemaphore(MAX_READS_ASIDE)

    def __repr__(self) -> str:
        return f"StoreThread({str(self._path)!r})"

    @classmethod
    def open(cls, path: Path, key: bytes) -> StoreThread:
        """Start the thread and open its connection (WAL, synchronous=FULL, migrated).

        Raises:
            StoreError: the connection cannot be opened (see :func:`hotline.store.connect`).
        """
        store = cls(path, key)
        ready: Future[None] = Future()
        store._thread.start()
        store._jobs.put((lambda messages, chains: None, ready))
        try:
            ready.result()
        except StoreError:
            store._thread.join()
            raise
        return store

    def submit(self, call: Callable[[Messages], T]) -> Future[T]:
        """Run ``call(messages)`` in the store's thread, after every call submitted before.

        Returns:
            Its future: the result, or the exception ``call`` raised.
        """
        return self._submit(lambda messages, chains: call(messages))

    def submit_chains(self, call: Callable[[Chains], T]) -> Future[T]:
        """Run ``call(chains)`` in the store's thread, after every call submitted before.

        Returns:
            Its future: the result, or the exception ``call`` raised.
        """
        return self._submit(lambda messages, chains: call(chains))

    def read_aside(self, call: Callable[[Chains], T]) -> Future[T]:
        """Run a long read, ``call(chains)``, on a connection and in a thread of its own.

        WAL lets that connection read one moment of the store while this thread goes on
        committing: exporting a year of a line must not hold up a FLASH message. ``call``
        must only read (its own read transaction, as :meth:`Chains.record` opens).

        Returns:
            Its future: the result, or the exception ``call`` (or opening the store) raised;
            a :class:`StoreError` at once when :data:`MAX_READS_ASIDE` already run.
        """
        future: Future[T] = Future()
        if self._closed:
            future.set_exception(StoreError(f"the store {self._path} is closed"))
            return future
        if not self._reads_aside.acquire(blocking=False):
            future.set_exception(
                StoreError(f"{MAX_READS_ASIDE} long reads already run: try again in a moment")
            )
            return future

        def read() -> None:
            try:
                if not future.set_running_or_notify_cancel():
                    return
                db = connect(self._path)
                try:
                    result = call(Chains(db, self._path, self._cipher))
                finally:
                    db.close()
            except BaseException as exc:  # handed to the caller, who reports it
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                self._reads_aside.release()

        try:
            threading.Thread(target=read, name="hotline-store-reader", daemon=True).start()
        except RuntimeError as exc:  # no thread to be had
            self._reads_aside.release()
            future.set_exception(StoreError(f"cannot start a read of {self._path}: {exc}"))
        return future

    def _submit(self, call: Callable[[Messages, Chains], T]) -> Future[T]:
        future: Future[T] = Future()
        if self._closed:  # nobody would ever run it: say so rather than hang the caller
            future.set_exception(StoreError(f"the store {self._path} is closed"))
        else:
            self._jobs.put((call, future))
        return future

    def close(self) -> None:
        """Finish the calls already submitted, close the connection, stop the thread; calls
        submitted afterwards fail at once."""
        self._closed = True
        self._jobs.put(None)
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        try:
            db = connect(self._path)
        except StoreError as exc:
            job = self._jobs.get()
            if job is not None:
                job[1].set_exception(exc)
            return
        messages = Messages(db, self._path, self._cipher)
        chains = Chains(db, self._path, self._cipher)
        try:
            while (job := self._jobs.get()) is not None:
                call, future = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = call(messages, chains)
                except BaseException as exc:  # handed to the caller, who reports it
                    future.set_exception(exc)
                else:
                    future.set_result(result)
        finally:
            db.close()
