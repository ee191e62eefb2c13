"""Writing to the event log and keeping the follower projection in step with it.

Every input (callback, sync, import, the product's own sends) enters through
:func:`record_event`: one row per source event, exactly once, and the follower updated
in the same transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone

from fencun.accounts.models import Account
from fencun.audience import projection
from fencun.audience.models import Event, Follower


@dataclass(frozen=True)
class Recorded:
    """The outcome of :func:`record_event`: the stored row, and whether it is new."""

    event: Event
    created: bool


@dataclass(frozen=True)
class NewEvent:
    """One event to append, as :func:`record_events` takes it."""

    kind: str
    openid: str
    occurred_at: datetime
    payload: dict[str, Any]
    source: str
    dedup_key: str
    #: When the event reached fencun, if earlier than its append (a callback folded from
    #: the gateway's inbox); None: now.
    received_at: datetime | None = None


# Every statement below is written out by hand: at callback rates, building queries and
# model instances through the ORM cost more than the database's own work. Identifiers
# come from the models' metadata; every value is a parameter.

# A statement holds at most this many rows (SQLite allows 32,766 parameters per
# statement, PostgreSQL 65,535; a follower row has 12 and an event row 9).
_ROWS_PER_STATEMENT = 500

_EVENT_COLUMNS = ("account", "follower", "openid", "kind", "occurred_at", "received_at", "payload", "source",
                  "dedup_key")
_PROJECTED = projection.PROJECTED_FIELDS


class _FollowerState:
    """The projected fields of one follower row, read under the batch's lock.

    :func:`projection.apply` folds events into it exactly as into a :class:`Follower`
    (it only reads and sets these attributes), without building a model instance. Only
    the fields the batch's kinds of event can touch are read (``projection.fields_of``);
    a stored follower's other slots stay empty, and reading one would raise.
    """

    __slots__ = ("pk", *_PROJECTED)
    pk: int

    @classmethod
    def new(cls, pk: int) -> _FollowerState:
        state = cls()
        state.pk = pk
        for field, value in _NEW_FOLLOWER.items():
            setattr(state, field, list(value) if isinstance(value, list) else value)
        return state


def _stored_field(model: type[Model], name: str) -> Field:
    """``model``'s field ``name``, which these statements name by its column (get_field
    also finds reverse relations, which have none)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not stored in a column")
    return field


def _column(field: Field) -> str:
    if field.column is None:
        raise TypeError(f"{field!r} is not stored in a column")
    return field.column


# What a follower row created by the log holds before its first event is projected.
_NEW_FOLLOWER: dict[str, Any] = {
    f: (_stored_field(Follower, f).get_default() if not _stored_field(Follower, f).null else None)
    for f in _PROJECTED
}


def _chunks(items: list, size: int = _ROWS_PER_STATEMENT) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sqlite_utc_text(value: datetime | None) -> str | None:
    # What Django's SQLite backend stores for an aware datetime with USE_TZ: naive UTC text.
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


@functools.cache
def _quoted(vendor: str, name: str) -> str:
    return connection.ops.quote_name(name)


class _Adapt:
    """Python values to the driver's, per column type, for the connection in use."""

    def __init__(self) -> None:
        ops = connection.ops
        vendor = connection.vendor
        self.qn: Callable[[str], str] = lambda name: _quoted(vendor, name)
        self.sqlite = connection.vendor == "sqlite"
        self.datetime: Callable[[datetime | None], Any] = ops.adapt_datetimefield_value
        if self.sqlite and connection.timezone_name == "UTC":
            self.datetime = _sqlite_utc_text
        self.json = lambda value: ops.adapt_json_value(value, None)

    def placeholder(self, name: str) -> str:
        """A parameter in a VALUES list, typed where PostgreSQL cannot infer it (NULLs)."""
        if self.sqlite:
            return "%s"
        return f"CAST(%s AS {Follower._meta.get_field(name).db_type(connection)})"

    def read_datetime(self, value: Any) -> datetime | None:
        if value is None:
            return None
        # SQLite stores naive UTC (Django's converter parses it, or it comes as text).
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def for_field(self, name: str) -> Callable[[Any], Any]:
        field = Follower._meta.get_field(name)
        kind = field.get_internal_type()
        if kind == "DateTimeField":
            return self.datetime
        if kind == "JSONField":
            return self.json
        return lambda value: value

    def reader(self, name: str) -> Callable[[Any], Any]:
        kind = Follower._meta.get_field(name).get_internal_type()
        if kind == "DateTimeField":
            return self.read_datetime
        if kind == "JSONField":
            return lambda value: json.loads(value) if isinstance(value, str | bytes) else value
        if kind == "BooleanField":
            return bool
        return lambda value: value


def _select_followers(
    adapt: _Adapt, account_id: int, openids: list[str], fields: Sequence[str]
) -> dict[str, _FollowerState]:
    """Read (and on PostgreSQL lock, in openid order) the followers' ``fields``.

    On SQLite the batch's IMMEDIATE transaction already holds the only write lock.
    """
    columns = [_column(_stored_field(Follower, f)) for f in fields]
    readers = [adapt.reader(f) for f in fields]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    found: dict[str, _FollowerState] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(openids):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {', '.join(adapt.qn(c) for c in ['id', 'openid', *columns])} "  # noqa: S608
                f"FROM {adapt.qn(Follower._meta.db_table)} WHERE {adapt.qn('account_id')} = %s AND {adapt.qn('openid')} IN ({marks}) "
                f"ORDER BY {adapt.qn('openid')}{lock}",
                [account_id, *chunk],
            )
            for pk, openid, *values in cursor.fetchall():
                state = _FollowerState()
                state.pk = pk
                for field, read, value in zip(fields, readers, values, strict=True):
                    setattr(state, field, read(value))
                found[openid] = state
    return found


def _insert_followers(adapt: _Adapt, account_id: int, openids: list[str], now: datetime) -> dict[str, int]:
    """INSERT followers not stored yet; return {openid: id} of those this statement created."""
    fields = [f for f in Follower._meta.concrete_fields if not f.primary_key and not f.null]
    constant = {
        f.name: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if f.name not in ("account", "openid") and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
    }
    stamp = adapt.datetime(now)
    template = [account_id if f.name == "account" else constant.get(f.name, stamp) for f in fields]
    at = [f.name for f in fields].index("openid")
    created: dict[str, int] = {}
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(openids):
            params: list[Any] = []
            for openid in chunk:
                template[at] = openid
                params += template
            cursor.execute(
                f"INSERT INTO {adapt.qn(Follower._meta.db_table)} ({', '.join(adapt.qn(_column(f)) for f in fields)}) "  # noqa: S608
                f"VALUES {', '.join([row] * len(chunk))} "
                f"ON CONFLICT ({adapt.qn('account_id')}, {adapt.qn('openid')}) DO NOTHING RETURNING {adapt.qn('id')}, {adapt.qn('openid')}",
                params,
            )
            created.update((openid, pk) for pk, openid in cursor.fetchall())
    return created


def _followers(
    adapt: _Adapt, account_id: int, openids: list[str], fields: Sequence[str], now: datetime
) -> dict[str, _FollowerState]:
    """The followers of ``openids`` with ``fields`` read, created when missing, locked for
    the transaction."""
    found = _select_followers(adapt, account_id, openids, fields)
    missing = [o for o in openids if o not in found]
    if missing:
        created = _insert_followers(adapt, account_id, missing, now)
        found.update((openid, _FollowerState.new(pk)) for openid, pk in created.items())
        raced = [o for o in missing if o not in created]  # created meanwhile by another process
        if raced:
            found.update(_select_followers(adapt, account_id, raced, fields))
    return found


def _insert_new_events(
    adapt: _Adapt, account_id: int, events: list[NewEvent], follower_ids: dict[str, int], now: datetime
) -> dict[str, int]:
    """INSERT the rows, skipping stored de-duplication keys; return {dedup_key: id} of the new ones.

    ``ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, SQLite >= 3.35) tells exactly which
    rows this statement created, even when another process stores the same key at the
    same moment: the projection must be applied once, by the writer that created the row.
    Rows go in de-duplication key order, so concurrent batches wait for each other's
    keys in one order and cannot deadlock.
    """
    columns = ", ".join(adapt.qn(_column(_stored_field(Event, name))) for name in _EVENT_COLUMNS)
    row = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
    received = adapt.datetime(now)
    created: dict[str, int] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(sorted(events, key=lambda e: e.dedup_key)):
            params: list[Any] = []
            for e in chunk:
                params += (account_id, follower_ids.get(e.openid) if e.openid else None, e.openid, e.kind,
                           adapt.datetime(e.occurred_at),
                           received if e.received_at is None else adapt.datetime(e.received_at),
                           adapt.json(e.payload), e.source, e.dedup_key)
            cursor.execute(
                f"INSERT INTO {adapt.qn(Event._meta.db_table)} ({columns}) VALUES {', '.join([row] * len(chunk))} "  # noqa: S608
                f"ON CONFLICT ({adapt.qn('account_id')}, {adapt.qn('dedup_key')}) DO NOTHING RETURNING {adapt.qn('id')}, {adapt.qn('dedup_key')}",
                params,
            )
            created.update((key, pk) for pk, key in cursor.fetchall())
    return created


def _update_followers(adapt: _Adapt, states: list[_FollowerState], fields: list[str], now: datetime) -> None:
    """Write ``fields`` of every follower in ``states``: one UPDATE ... FROM (VALUES ...).

    The rows were read under the batch's lock, so writing back a field this batch did not
    change writes the value it already holds.
    """
    qn = adapt.qn
    names = ["id", *fields]
    writers = [adapt.for_field(name) for name in fields]
    marks = "(" + ", ".join(adapt.placeholder(name) for name in names) + ")"
    columns = ", ".join(f"c{i}" for i in range(len(names)))
    table = qn(Follower._meta.db_table)
    assignments = ", ".join(
        f"{qn(_column(_stored_field(Follower, name)))} = v.c{i}" for i, name in enumerate(names) if i
    )
    stamp = adapt.datetime(now)
    with connection.cursor() as cursor:
        for chunk in _chunks(states):
            params: list[Any] = []
            for state in chunk:
                params.append(state.pk)
                params += [write(getattr(state, name)) for name, write in zip(fields, writers, strict=True)]
            cursor.execute(
                f"WITH v({columns}) AS (VALUES {', '.join([marks] * len(chunk))}) "  # noqa: S608
                f"UPDATE {table} SET {assignments}, {qn('updated_at')} = %s FROM v WHERE {table}.{qn('id')} = v.c0",
                [*params, stamp],
            )


@dataclass(frozen=True)
class _Appended:
    first: dict[str, NewEvent]  # the first event of each key in the batch: the candidate
    created_ids: dict[str, int]  # {dedup_key: id} of the rows this batch created
    follower_ids: dict[str, int]
    received_at: datetime


def _append(account_id: int, new: Sequence[NewEvent]) -> _Appended:
    now = timezone.now()
    adapt = _Adapt()
    # The callers' atomic blocks (savepoints) make it all or nothing.
    with transaction.atomic(savepoint=False):
        first: dict[str, NewEvent] = {}
        for e in new:
            first.setdefault(e.dedup_key, e)
        openids = sorted({e.openid for e in first.values() if e.openid})
        # Only the fields this batch's kinds of event can touch are read.
        read: set[str] = set()
        for kind in {e.kind for e in first.values() if e.openid}:
            read |= projection.fields_of(kind)
        followers = _followers(adapt, account_id, openids, sorted(read), now) if openids else {}
        follower_ids = {openid: state.pk for openid, state in followers.items()}
        created_ids = _insert_new_events(adapt, account_id, list(first.values()), follower_ids, now)
        changed: dict[str, _FollowerState] = {}
        fields: set[str] = set()
        for key, e in first.items():
            if key in created_ids and e.openid:
                state = followers[e.openid]
                # apply reads and sets only the attributes a _FollowerState holds.
                touched = projection.apply(state, e.kind, e.occurred_at, e.payload)  # type: ignore[arg-type]
                if touched:
                    changed[e.openid] = state
                    fields |= touched
        if changed:
            _update_followers(adapt, list(changed.values()), sorted(fields), now)
    return _Appended(first, created_ids, follower_ids, now)


def append_events(account_id: int, new: Sequence[NewEvent], *, savepoint: bool = True) -> list[bool]:
    """Append events and project them, as :func:`record_events`; return, for each, whether
    it was stored now (``False``: its key was stored before, or earlier in ``new``).

    The lean form for the callback's group commit, which needs no model instances back.
    ``savepoint=False`` inside a caller's transaction spares two statements, and a
    failure then fails the caller's whole transaction.
    """
    if not new:
        return []
    with transaction.atomic(savepoint=savepoint):
        created = _append(account_id, new).created_ids
    seen: set[str] = set()
    flags = []
    for e in new:
        flags.append(e.dedup_key in created and e.dedup_key not in seen)
        seen.add(e.dedup_key)
    return flags


def record_events(account: Account, new: Sequence[NewEvent]) -> list[Recorded]:
    """Append events (those whose ``dedup_key`` is not stored yet) and project them.

    One transaction and a handful of statements for the whole batch: followers created
    and locked in openid order (so concurrent batches cannot deadlock), one INSERT for
    the events, one UPDATE per set of changed fields. Safe under concurrent duplicates:
    the UNIQUE (account, dedup_key) constraint decides, and a duplicate -- within the
    batch or already stored -- comes back as the stored row with ``created=False``.
    """
    if not new:
        return []
    with transaction.atomic():
        appended = _append(account.pk, new)
        not_created = [k for k in appended.first if k not in appended.created_ids]
        stored = (
            {e.dedup_key: e for e in Event.objects.filter(account=account, dedup_key__in=not_created)}
            if not_created
            else {}
        )
    events: dict[str, Event] = {}
    for key, pk in appended.created_ids.items():
        e = appended.first[key]
        event = Event(
            pk=pk,
            account=account,
            follower_id=appended.follower_ids.get(e.openid) if e.openid else None,
            openid=e.openid,
            kind=e.kind,
            occurred_at=e.occurred_at,
            received_at=appended.received_at,
            payload=e.payload,
            source=e.source,
            dedup_key=key,
        )
        event._state.adding = False
        events[key] = event
    results: list[Recorded] = []
    seen: set[str] = set()
    for e in new:
        key = e.dedup_key
        if key in events and key not in seen:
            results.append(Recorded(events[key], True))
        else:
            results.append(Recorded(events.get(key) or stored.get(key) or _unsaved(account, appended.first[key]), False))
        seen.add(key)
    return results


def _unsaved(account: Account, e: NewEvent) -> Event:
    return Event(account=account, openid=e.openid, kind=e.kind, occurred_at=e.occurred_at, payload=e.payload,
                 source=e.source, dedup_key=e.dedup_key)


def record_event(
    account: Account,
    *,
    kind: str,
    openid: str,
    occurred_at: datetime,
    payload: dict[str, Any],
    source: str,
    dedup_key: str,
) -> Recorded:
    """Append one event (unless its ``dedup_key`` is already stored) and project it."""
    return record_events(account, [NewEvent(kind, openid, occurred_at, payload, source, dedup_key)])[0]


def rebuild_followers(account: Account) -> int:
    """Recompute every follower of ``account`` from its events; return how many."""
    count = 0
    with transaction.atomic():
        for follower in Follower.objects.select_for_update().filter(account=account).iterator():
            projection.reset(follower)
            for event in follower.events.order_by("occurred_at", "id").iterator():
                projection.apply(follower, event.kind, event.occurred_at, event.payload)
            follower.save()
            count += 1
    return count
