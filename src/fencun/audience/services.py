"""Writing to the event log and keeping the follower projection in step with it.

Every input (callback, sync, import, the product's own sends) enters through
:func:`record_event`: one row per source event, exactly once, and the follower updated
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from fencun.audience import projection
from fencun.audience.models import Event, Follower
from fencun.channels.models import Account


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


_EVENT_COLUMNS = ("account", "follower", "openid", "kind", "occurred_at", "received_at", "payload", "source",
                  "dedup_key")


def _insert_new_events(events: list[Event]) -> dict[str, int]:
    """INSERT the rows, skipping stored de-duplication keys; return {dedup_key: id} of the new ones.

    ``ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, SQLite >= 3.35) tells exactly which
    rows this statement created, even when another process stores the same key at the
    same moment: the projection must be applied once, by the writer that created the row.
    """
    fields = [Event._meta.get_field(name) for name in _EVENT_COLUMNS]
    qn = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table, columns = qn(Event._meta.db_table), ", ".join(qn(f.column) for f in fields)
    values = ", ".join([row] * len(events))
    # Identifiers come from the model's metadata; every value is a parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT ({qn('account_id')}, {qn('dedup_key')}) DO NOTHING RETURNING {qn('id')}, {qn('dedup_key')}"  # noqa: S608
    params: list[Any] = []
    for event in events:
        params.extend(f.get_db_prep_save(f.pre_save(event, add=True), connection) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {key: pk for pk, key in cursor.fetchall()}


def _update_followers(changes: list[tuple[Follower, set[str]]]) -> None:
    """Save the changed fields: one prepared UPDATE per set of fields, run for all its rows.

    (``Model.save`` builds its query anew for each follower; at callback rates that was
    most of the cost of a batch.)
    """
    groups: dict[tuple[str, ...], list[Follower]] = {}
    for follower, fields in changes:
        groups.setdefault(tuple(sorted(fields)) + ("updated_at",), []).append(follower)
    qn = connection.ops.quote_name
    for names, members in groups.items():
        fields = [Follower._meta.get_field(name) for name in names]
        assignments = ", ".join(f"{qn(f.column)} = %s" for f in fields)
        sql = f"UPDATE {qn(Follower._meta.db_table)} SET {assignments} WHERE {qn('id')} = %s"  # noqa: S608 - identifiers from the model
        rows = [
            [*(f.get_db_prep_save(f.pre_save(follower, add=False), connection) for f in fields), follower.pk]
            for follower in members
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _lock_followers(account: Account, openids: list[str]) -> dict[str, Follower]:
    rows = Follower.objects.select_for_update().filter(account=account, openid__in=openids).order_by("openid")
    return {f.openid: f for f in rows}


def record_events(account: Account, new: Sequence[NewEvent]) -> list[Recorded]:
    """Append events (those whose ``dedup_key`` is not stored yet) and project them.

    One transaction and a handful of statements for the whole batch: followers created
    and locked in openid order (so concurrent batches cannot deadlock), one INSERT for
    the events, one UPDATE per changed follower. Safe under concurrent duplicates: the
    UNIQUE (account, dedup_key) constraint decides, and a duplicate -- within the batch
    or already stored -- comes back as the stored row with ``created=False``.
    """
    if not new:
        return []
    with transaction.atomic():
        openids = sorted({e.openid for e in new if e.openid})
        followers: dict[str, Follower] = {}
        if openids:
            followers = _lock_followers(account, openids)
            missing = [o for o in openids if o not in followers]
            if missing:
                Follower.objects.bulk_create([Follower(account=account, openid=o) for o in missing],
                                             ignore_conflicts=True)
                followers = _lock_followers(account, openids)
        first: dict[str, Event] = {}  # the first of each key in the batch is the candidate
        for e in new:
            if e.dedup_key not in first:
                first[e.dedup_key] = Event(
                    account=account,
                    follower=followers.get(e.openid),
                    openid=e.openid,
                    kind=e.kind,
                    occurred_at=e.occurred_at,
                    payload=e.payload,
                    source=e.source,
                    dedup_key=e.dedup_key,
                )
        created_ids = _insert_new_events(list(first.values()))
        changed: dict[str, set[str]] = {}
        for key, event in first.items():
            if key in created_ids:
                event.pk = created_ids[key]
                event._state.adding = False
                if event.follower is not None:
                    fields = projection.apply(event.follower, event.kind, event.occurred_at, event.payload)
                    changed.setdefault(event.openid, set()).update(fields)
        _update_followers([(followers[openid], fields) for openid, fields in changed.items() if fields])
        not_created = [k for k in first if k not in created_ids]
        stored = (
            {e.dedup_key: e for e in Event.objects.filter(account=account, dedup_key__in=not_created)}
            if not_created
            else {}
        )
    results: list[Recorded] = []
    seen: set[str] = set()
    for e in new:
        key = e.dedup_key
        if key in created_ids and key not in seen:
            results.append(Recorded(first[key], True))
        else:
            results.append(Recorded(stored.get(key) or first[key], False))
        seen.add(key)
    return results


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
