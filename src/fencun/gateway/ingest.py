"""Group commit for callbacks: many requests, one transaction.

Each server process has one writer thread. Request threads hand it their event and wait
for the commit that contains it, so every acknowledged callback is stored, while the
database sees one transaction (one lock, one sync) per batch instead of per request.
A batch that fails is retried one event at a time, so one bad event cannot fail others.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import threading
from collections.abc import Iterator
from typing import IO

from django.db import connection, transaction

from fencun.accounts.models import Account
from fencun.audience.services import NewEvent, append_events
from fencun.gateway.normalize import Incoming

MAX_BATCH = 256
# Idle this long, the writer hands its connection back; reopening costs a few ms.
IDLE_CLOSE_SECONDS = 30.0


class Pending:
    """One event waiting for its commit; :meth:`wait` returns whether it was new.

    A bare lock, held until the writer has an outcome, is the cheapest thing a request
    thread can sleep on (a ``Future`` costs a condition variable and its bookkeeping).
    """

    __slots__ = ("account", "incoming", "_done", "_created", "_error")

    def __init__(self, account: Account, incoming: Incoming) -> None:
        self.account = account
        self.incoming = incoming
        self._done = threading.Lock()
        self._done.acquire()
        self._created: bool | None = None
        self._error: BaseException | None = None

    def resolve(self, created: bool) -> None:
        self._created = created
        self._done.release()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.release()

    def wait(self, timeout: float) -> bool:
        """True: stored by this callback; False: a duplicate of a stored event.

        Raises ``TimeoutError`` if the commit has not happened within ``timeout`` seconds,
        or the writer's error if the event could not be stored.
        """
        if not self._done.acquire(timeout=timeout):
            raise TimeoutError("the event was not committed in time")
        self._done.release()  # later waits return at once
        if self._error is not None:
            raise self._error
        return bool(self._created)

    # The interface of concurrent.futures.Future that callers used before.
    def result(self, timeout: float) -> bool:
        return self.wait(timeout)


class GroupCommitter:
    """A per-process writer that stores callback events in batched transactions."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._turns: _WriterTurns = _WriterTurns()

    def submit(self, account: Account, incoming: Incoming) -> Pending:
        item = Pending(account, incoming)
        if connection.in_atomic_block:
            # The caller's transaction must see (and own) the write: store it inline.
            self._write([item])
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
            try:
                batch = [self._queue.get(timeout=IDLE_CLOSE_SECONDS)]
            except queue.Empty:
                connection.close()
                continue
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[Pending]) -> None:
        with self._turns.turn():
            self._write_batch(batch)

    def _write_batch(self, batch: list[Pending]) -> None:
        by_account: dict[int, list[Pending]] = {}
        for item in batch:
            by_account.setdefault(item.account.pk, []).append(item)
        try:
            with transaction.atomic():
                done = [
                    (items, append_events(account_id, [_new_event(i.incoming) for i in items], savepoint=False))
                    for account_id, items in by_account.items()
                ]
        except Exception:  # noqa: BLE001 - isolate the bad event: one transaction each
            for item in batch:
                self._write_one(item)
            return
        for items, results in done:
            for item, created in zip(items, results, strict=True):
                item.resolve(created)

    @staticmethod
    def _write_one(item: Pending) -> None:
        try:
            created = append_events(item.account.pk, [_new_event(item.incoming)])[0]
        except Exception as exc:  # noqa: BLE001 - the waiter must hear about the failure
            item.fail(exc)
        else:
            item.resolve(created)


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


def _new_event(i: Incoming) -> NewEvent:
    return NewEvent(i.kind, i.openid, i.occurred_at, i.payload, "callback", i.dedup_key)


committer = GroupCommitter()
