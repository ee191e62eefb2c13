"""Group commit for callbacks: many requests, one transaction, into the inbox.

Each server process has one writer thread. Request threads hand it their event and wait
for the commit that contains it, so every acknowledged callback is stored, while the
database sees one transaction (one lock, one sync) per batch instead of per request.
The batch goes to the inbox (:mod:`fencun.gateway.inbox`: one cheap row per callback);
the same thread folds the inbox into the event log between commits, as
:class:`~fencun.gateway.inbox.FoldPolicy` says (before answering while the server is
quiet, in bounded batches under load).

``fencun serve`` runs a writer process instead (:mod:`fencun.gateway.writer`), which
the asynchronous callback path hands its events to; this thread is what the WSGI path
(``fencun demo``, Django's view) and a server without a writer process use.

A batch that fails is retried one event at a time, so one bad event cannot fail others.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import threading
from collections.abc import Iterator
from typing import IO

from django.db import connection, transaction
from django.utils import timezone

from fencun.accounts.models import Account
from fencun.audience.services import NewEvent, append_events
from fencun.gateway import inbox
from fencun.gateway.normalize import Incoming
from fencun.gateway.writer import SOCKET_ENV, AsyncWriterClient

log = logging.getLogger(__name__)

MAX_BATCH = 256
# Idle this long, the writer hands its connection back; reopening costs a few ms.
IDLE_CLOSE_SECONDS = 30.0
#: With callbacks in the inbox and none arriving for this long, the writer folds them.
FOLD_WHEN_IDLE_SECONDS = 0.02


class Pending:
    """One event waiting for its commit (:meth:`wait`).

    A bare lock, held until the writer has an outcome, is the cheapest thing a request
    thread can sleep on (a ``Future`` costs a condition variable and its bookkeeping).
    """

    __slots__ = ("account", "incoming", "_done", "_error")

    def __init__(self, account: Account, incoming: Incoming) -> None:
        self.account = account
        self.incoming = incoming
        self._done = threading.Lock()
        self._done.acquire()
        self._error: BaseException | None = None

    def resolve(self) -> None:
        self._done.release()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.release()

    def wait(self, timeout: float) -> None:
        """Return once the event is stored (a WeChat retry of a stored one is stored
        again in the inbox and folded away).

        Raises ``TimeoutError`` if the commit has not happened within ``timeout`` seconds,
        or the writer's error if the event could not be stored.
        """
        if not self._done.acquire(timeout=timeout):
            raise TimeoutError("the event was not committed in time")
        self._done.release()  # later waits return at once
        if self._error is not None:
            raise self._error


class AsyncPending:
    """One event of an event loop waiting for its commit (:attr:`future`)."""

    __slots__ = ("account", "incoming", "future", "_loop")

    def __init__(self, account: Account, incoming: Incoming, loop: asyncio.AbstractEventLoop) -> None:
        self.account = account
        self.incoming = incoming
        self._loop = loop
        self.future: asyncio.Future[None] = loop.create_future()

    def resolve(self) -> None:
        self._loop.call_soon_threadsafe(_settle, self.future, None)

    def fail(self, error: BaseException) -> None:
        self._loop.call_soon_threadsafe(_settle, self.future, error)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the waiter gave up (its timeout)
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class GroupCommitter:
    """A per-process writer that stores callback events in batched transactions."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Pending | AsyncPending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._turns: _WriterTurns = _WriterTurns()
        self._folds = inbox.FoldPolicy(self._turns.turn)

    def store(self, account: Account, incoming: Incoming, timeout: float) -> None:
        """Return once ``incoming`` is stored by this process's writer thread."""
        self.submit(account, incoming).wait(timeout)

    async def store_async(self, account: Account, incoming: Incoming, timeout: float) -> None:
        """Return once ``incoming`` is stored: by the machine's writer process where one
        runs (:mod:`fencun.gateway.writer`), else by this process's writer thread."""
        client = _writer_client()
        if client is not None:
            try:
                await client.store(account.pk, _new_event(incoming), timeout)
                return
            except (ConnectionError, FileNotFoundError) as exc:
                # No writer to hand it to (not started yet, gone): store it here. A copy
                # the writer did commit before it went away is folded away as a
                # duplicate. A writer that is only slow is waited for, not doubled.
                log.warning("the writer process is unreachable (%s); writing in process", exc)
        item = AsyncPending(account, incoming, asyncio.get_running_loop())
        self._ensure_thread()
        self._queue.put(item)
        await asyncio.wait_for(item.future, timeout)

    def submit(self, account: Account, incoming: Incoming) -> Pending:
        item = Pending(account, incoming)
        if connection.in_atomic_block:
            # The caller's transaction must see (and own) the write: store it inline,
            # straight into the event log.
            self._write_one(item)
            return item
        self._ensure_thread()
        self._queue.put(item)
        return item

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fencun-event-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            idle = FOLD_WHEN_IDLE_SECONDS if self._folds.unfolded else IDLE_CLOSE_SECONDS
            try:
                batch = [self._queue.get(timeout=idle)]
            except queue.Empty:
                if self._folds.unfolded:
                    self._folds.fold()
                else:
                    connection.close()
                continue
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stored = self._append(batch)
            if self._folds.quiet:
                self._folds.fold()
                self._resolve(stored)
            else:
                self._resolve(stored)
                self._folds.fold_if_due()

    def _append(self, batch: list[Pending | AsyncPending]) -> list[Pending | AsyncPending]:
        """Append the batch to the inbox in one transaction; returns the items stored
        (the others have failed with their error)."""
        rows = [(item.account.pk, _new_event(item.incoming)) for item in batch]
        try:
            with self._turns.turn(), transaction.atomic():
                inbox.append(rows, timezone.now())
        except Exception:  # noqa: BLE001 - isolate the bad event: one transaction each
            stored = []
            for item, row in zip(batch, rows, strict=True):
                try:
                    with self._turns.turn(), transaction.atomic():
                        inbox.append([row], timezone.now())
                except Exception as exc:  # noqa: BLE001 - the waiter must hear about it
                    item.fail(exc)
                else:
                    stored.append(item)
            self._folds.arrived(len(stored))
            return stored
        self._folds.arrived(len(batch))
        return batch

    @staticmethod
    def _resolve(items: list[Pending | AsyncPending]) -> None:
        for item in items:
            item.resolve()

    @staticmethod
    def _write_one(item: Pending) -> None:
        try:
            append_events(item.account.pk, [_new_event(item.incoming)])
        except Exception as exc:  # noqa: BLE001 - the waiter must hear about the failure
            item.fail(exc)
        else:
            item.resolve()


class _WriterTurns:
    """On SQLite, take turns with the other server processes' writers.

    SQLite has one writer at a time, and a writer that finds the database locked polls
    with growing sleeps (up to 100 ms each), which stretches the slowest callbacks to
    seconds. A file lock queues the writers instead: the kernel wakes the next one the
    moment the lock is released, and the others' batches grow meanwhile. The lock file
    stays open for the life of the process (reopened after a fork or a change of
    database), so a turn costs two system calls.
    """

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self._key: tuple[int, str] | None = None

    def _lock_file(self) -> IO[str]:
        key = (os.getpid(), f"{connection.settings_dict['NAME']}.writer-lock")
        if self._file is None or self._key != key:
            if self._file is not None and self._key is not None and self._key[0] == key[0]:
                self._file.close()
            self._file, self._key = open(key[1], "a"), key  # noqa: SIM115 - kept open on purpose
        return self._file

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        if connection.vendor != "sqlite":
            yield
            return
        lock = self._lock_file()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_clients: dict[tuple[asyncio.AbstractEventLoop, str], AsyncWriterClient] = {}


def _writer_client() -> AsyncWriterClient | None:
    """The running loop's client of the writer process, if ``fencun serve`` started one."""
    path = os.environ.get(SOCKET_ENV, "")
    if not path:
        return None
    key = (asyncio.get_running_loop(), path)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = AsyncWriterClient(path)
    return client


def _new_event(i: Incoming) -> NewEvent:
    return NewEvent(i.kind, i.openid, i.occurred_at, i.payload, "callback", i.dedup_key)


committer = GroupCommitter()
