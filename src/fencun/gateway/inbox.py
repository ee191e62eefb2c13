"""The callbacks' inbox: a cheap durable append now, the event log and projection later.

A callback is acknowledged once its event is committed somewhere durable. Appending it to
the event log directly costs an insert into a table of five indexes plus the follower
projection, per group commit of a handful of callbacks; appending it to the inbox costs
one row in a table with no index but its row id. :func:`fold` then moves the inbox into
the event log (:func:`fencun.audience.services.append_events`: de-duplicated against the
log's unique key, projected once) in batches of hundreds, where the cost per event is a
fraction of a small batch's, and deletes the rows it moved in the same transaction:

* exactly once: a fold that dies rolls back whole, and its rows are folded again; a
  WeChat retry that sits in the inbox twice, or arrives after its first copy was folded,
  meets the event log's unique key and is stored once;
* concurrent folders (several server processes, the worker's periodic fold) never take
  the same rows: SQLite's one writer holds the whole fold, PostgreSQL's folders skip the
  rows another has locked;
* events of one account keep their arrival order within a fold.

The server's writer folds whenever it has no callback waiting (:mod:`fencun.gateway.ingest`),
and the worker folds every minute (:mod:`fencun.gateway.tasks`) in case no server runs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction

from fencun.audience.services import NewEvent, append_events
from fencun.gateway.models import InboxEvent

log = logging.getLogger(__name__)

#: Rows per fold transaction: large enough that an event's share of the batch's fixed
#: costs is small, small enough that a callback waiting behind it is not kept long.
FOLD_BATCH = 500
#: Rows folded at a time under load (the writer answers nobody meanwhile: ~30 ms).
FOLD_UNDER_LOAD = 200
#: Under load, folding takes at most this share of a writer's time.
FOLD_SHARE = 0.1
#: Below this many callbacks a second, a writer folds before it answers.
QUIET_PER_SECOND = 200.0
RATE_HALF_LIFE = 0.1  # seconds
_COLUMNS = ("account_id", "kind", "openid", "occurred_at", "received_at", "payload", "source", "dedup_key")
_ROWS_PER_STATEMENT = 500  # 8 parameters a row: far below either database's limit


def append(rows: Sequence[tuple[int, NewEvent]], received_at: datetime) -> None:
    """Append ``(account_id, event)`` rows in the caller's transaction: one INSERT per
    few hundred rows, written out by hand (the ORM's bulk_create costs more than the
    database's own work at callback rates)."""
    ops = connection.ops
    table = connection.ops.quote_name(InboxEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    received = ops.adapt_datetimefield_value(received_at)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            params: list[Any] = []
            for account_id, e in chunk:
                params += (
                    account_id,
                    e.kind,
                    e.openid,
                    ops.adapt_datetimefield_value(e.occurred_at),
                    received,
                    ops.adapt_json_value(e.payload, None),
                    e.source,
                    e.dedup_key,
                )
            marks = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * len(chunk))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {marks}", params)  # noqa: S608


def fold(limit: int = FOLD_BATCH) -> int:
    """Move up to ``limit`` of the oldest inbox rows into the event log, in one
    transaction; return how many rows were taken (0: the inbox is empty, or every row is
    being folded by another folder).

    A batch the event log refuses is folded again a row at a time, so that one row the
    database will not take (logged, and left in the inbox) cannot hold back the others.
    """
    try:
        return _fold(limit)
    except DatabaseError:
        log.exception("inbox fold failed; folding its rows one at a time")
    moved = 0
    for row_id in _oldest_ids(limit):
        try:
            moved += _fold(1, row_id)
        except DatabaseError:
            log.exception("inbox row %s could not be folded; it stays in the inbox", row_id)
    return moved


def _oldest_ids(limit: int) -> list[int]:
    return list(InboxEvent.objects.order_by("id").values_list("id", flat=True)[:limit])


def _fold(limit: int, row_id: int | None = None) -> int:
    with transaction.atomic():
        taken = InboxEvent.objects.select_for_update(skip_locked=True).order_by("id")
        if row_id is not None:
            taken = taken.filter(id=row_id)
        rows = list(taken.values_list("id", "account_id", *_COLUMNS[1:])[:limit])
        if not rows:
            return 0
        by_account: dict[int, list[NewEvent]] = {}
        for _id, account_id, kind, openid, occurred_at, received_at, payload, source, key in rows:
            by_account.setdefault(account_id, []).append(
                NewEvent(kind, openid, occurred_at, payload, source, key, received_at)
            )
        for account_id, events in by_account.items():
            append_events(account_id, events, savepoint=False)
        ids = [row[0] for row in rows]
        table = connection.ops.quote_name(InboxEvent._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(ids), _ROWS_PER_STATEMENT):
                chunk = ids[start : start + _ROWS_PER_STATEMENT]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks})", chunk)  # noqa: S608
    return len(rows)


def fold_all(limit: int = FOLD_BATCH) -> int:
    """Fold until the inbox is empty (or held by other folders); return the rows moved."""
    moved = 0
    while n := fold(limit):
        moved += n
    return moved


class FoldPolicy:
    """When a writer (the writer process, or a server process's writer thread) folds.

    * Quiet (fewer than ``QUIET_PER_SECOND`` callbacks a second): a batch is folded after
      every commit, before its callbacks are answered, so that on a quiet server what is
      acknowledged is in the event log already.
    * Busy: callbacks are answered right after the inbox commit, and folding takes at
      most ``FOLD_SHARE`` of the writer's time, ``FOLD_UNDER_LOAD`` rows at a time: a
      burst is absorbed by the inbox and folded once it has passed.
    * Idle (nothing arrives): what is left is folded, a batch at a time between looks
      for new callbacks.

    ``turn``: a context manager the folds run in (a process's turn at SQLite's writer).
    """

    def __init__(self, turn: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext) -> None:
        self.turn = turn
        self.unfolded = True  # rows may be waiting from before (a server killed mid-burst)
        self.rate = 0.0  # callbacks a second, decayed with a half-life of RATE_HALF_LIFE
        self._rate_at = time.monotonic()
        self._next_fold = 0.0

    def arrived(self, count: int) -> None:
        """``count`` callbacks were appended now."""
        now = time.monotonic()
        decay = 0.5 ** ((now - self._rate_at) / RATE_HALF_LIFE)
        # An impulse decaying with that half-life integrates to half-life / ln 2.
        self.rate = self.rate * decay + count * math.log(2) / RATE_HALF_LIFE
        self._rate_at = now
        self.unfolded = True

    @property
    def quiet(self) -> bool:
        now = time.monotonic()
        return self.rate * 0.5 ** ((now - self._rate_at) / RATE_HALF_LIFE) < QUIET_PER_SECOND

    def fold_if_due(self) -> None:
        """Under load: one small batch, if folding has not had its share of the time yet."""
        if self.unfolded and time.monotonic() >= self._next_fold:
            self.fold(FOLD_UNDER_LOAD)

    def fold(self, rows: int | None = FOLD_BATCH) -> None:
        """Fold one batch of ``rows`` (None: everything, as a writer stops). One batch at
        a time, so that a backlog left by a burst never keeps a new callback waiting
        longer than one batch takes; a fold that fails leaves its rows for the next one
        (and the worker's): the callbacks were acknowledged already."""
        started = time.monotonic()
        try:
            with self.turn():
                if rows is None:
                    fold_all()
                    self.unfolded = False
                else:
                    self.unfolded = fold(rows) == rows
        except Exception:  # noqa: BLE001 - logged; the writer must go on
            log.exception("folding the inbox failed")
        self._next_fold = started + (time.monotonic() - started) / FOLD_SHARE


def waiting() -> int:
    """Rows in the inbox: callbacks acknowledged and not folded yet."""
    return InboxEvent.objects.count()
