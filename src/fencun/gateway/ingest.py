"""Group commit for callbacks: many requests, one transaction.

Each server process has one writer thread. Request threads hand it their event and wait
for the commit that contains it, so every acknowledged callback is stored, while the
database sees one transaction (one lock, one sync) per batch instead of per request.
A batch that fails is retried one event at a time, so one bad event cannot fail others.
"""

from __future__ import annotations

import contextlib
import fcntl
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass

from django.db import connection, transaction

from fencun.audience.services import NewEvent, Recorded, record_events
from fencun.channels.models import Account
from fencun.gateway.normalize import Incoming

MAX_BATCH = 256
# Idle this long, the writer hands its connection back; reopening costs a few ms.
IDLE_CLOSE_SECONDS = 30.0


@dataclass
class _Item:
    account: Account
    incoming: Incoming
    future: Future[Recorded]


class GroupCommitter:
    """A per-process writer that stores callback events in batched transactions."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, account: Account, incoming: Incoming) -> Future[Recorded]:
        item = _Item(account, incoming, Future())
        if connection.in_atomic_block:
            # The caller's transaction must see (and own) the write: store it inline.
            self._write([item])
            return item.future
        self._ensure_thread()
        self._queue.put(item)
        return item.future

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

    def _write(self, batch: list[_Item]) -> None:
        with _writer_turn():
            self._write_batch(batch)

    def _write_batch(self, batch: list[_Item]) -> None:
        by_account: dict[int, list[_Item]] = {}
        for item in batch:
            by_account.setdefault(item.account.pk, []).append(item)
        try:
            with transaction.atomic():
                done = [
                    (items, record_events(items[0].account, [_new_event(i.incoming) for i in items]))
                    for items in by_account.values()
                ]
        except Exception:  # noqa: BLE001 - isolate the bad event: one transaction each
            for item in batch:
                self._write_one(item)
            return
        for items, results in done:
            for item, result in zip(items, results, strict=True):
                item.future.set_result(result)

    @staticmethod
    def _write_one(item: _Item) -> None:
        try:
            result = record_events(item.account, [_new_event(item.incoming)])[0]
        except Exception as exc:  # noqa: BLE001 - the waiter must hear about the failure
            item.future.set_exception(exc)
        else:
            item.future.set_result(result)


@contextlib.contextmanager
def _writer_turn() -> Iterator[None]:
    """On SQLite, take turns with the other server processes' writers.

    SQLite has one writer at a time, and a writer that finds the database locked polls
    with growing sleeps (up to 100 ms each), which stretches the slowest callbacks to
    seconds. A file lock queues the writers instead: the kernel wakes the next one the
    moment the lock is released, and the others' batches grow meanwhile.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with open(f"{connection.settings_dict['NAME']}.writer-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _new_event(i: Incoming) -> NewEvent:
    return NewEvent(i.kind, i.openid, i.occurred_at, i.payload, "callback", i.dedup_key)


committer = GroupCommitter()
