"""Folding new events into the rollups, by id watermark.

:func:`run` reads events after the watermark in id order, a batch at a time, and in one
transaction per batch updates the counters and moves the watermark -- so a run that dies
halfway leaves the rollups exactly as of some batch boundary, and a second run (or two at
once: the watermark row is locked) never counts an event twice.

Ids are assigned before commit, so on PostgreSQL a transaction that commits late could
hold an id below one already folded in; :func:`run` therefore leaves the newest
``lag`` seconds of received events for the next run.

What the campaign side writes, and this reads (the contract):

- ``delivery`` events with payload ``{"campaign": id, "variant": "A", "msg_id": ...}``:
  one per recipient sent to (``variant`` optional; ``msg_id`` the mass send's id);
- ``holdout`` events with payload ``{"campaign": id}``: one per follower kept back as the
  campaign's holdout;
- ``read``, ``link_click``, ``order`` events with ``campaign`` in the payload (see
  ``links.py`` and ``orders.py``); ``unsubscribe`` within the window after a send or hold-out
  counts against that campaign; receipts (``masssendjobfinish``, WeCom's per-customer mass
  results, see ``channels/receipts.py``) add what they delivered to the campaign whose
  ``msg_id`` (WeCom: task msgid) they carry.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from fencun import clock
from fencun.audience import kinds
from fencun.audience.models import Event, Follower
from fencun.channels import receipts as channel_receipts
from fencun.engine.clock import SHANGHAI
from fencun.insights import control_lift
from fencun.insights.models import (
    HOLDOUT,
    AccountSnapshot,
    CampaignArm,
    CampaignMember,
    CampaignMessage,
    DailyCount,
    Watermark,
)
from fencun.insights.orders import attribution_window

HOLDOUT_KIND = "holdout"
NAME = "events"
# China has kept UTC+8 without daylight saving since 1991: the fixed offset of the one
# clock is exact, and a zoneinfo lookup per event is most of the cost of a day bucket.
_UTC_TO_LOCAL = SHANGHAI.utcoffset(None)
_IN_CHUNK = 5000  # ids per IN (...) list: SQLite allows at most 32,766 parameters
PRESSURE_DAYS = 7
PRESSURE_BUCKETS = ("0", "1", "2", "3", "4+")
_PAYLOAD_KINDS = frozenset(
    {kinds.DELIVERY, HOLDOUT_KIND, kinds.READ, kinds.LINK_CLICK, kinds.ORDER} | channel_receipts.KINDS
)


def _campaign(payload: dict[str, Any]) -> int | None:
    value = payload.get("campaign")
    try:
        campaign = int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    # 0 is the account-wide row of DailyCount; campaign ids start at 1.
    return campaign if campaign is not None and campaign > 0 else None


class _Batch:
    """Counter deltas of one batch, applied together."""

    def __init__(self) -> None:
        self.daily: dict[tuple[int, int, str, date], list[float]] = defaultdict(lambda: [0, 0.0])
        self.arms: dict[tuple[int, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.arm_account: dict[tuple[int, str], int] = {}

    def count(self, account: int, campaign: int, kind: str, day: date, amount: float = 0.0) -> None:
        cell = self.daily[(account, campaign, kind, day)]
        cell[0] += 1
        cell[1] += amount

    def arm(self, account: int, campaign: int, arm: str, **deltas: float) -> None:
        key = (campaign, arm)
        self.arm_account[key] = account
        for name, value in deltas.items():
            self.arms[key][name] += value


def _apply_daily(batch: _Batch) -> None:
    keys = list(batch.daily)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        existing = {
            (r.account_id, r.campaign_id, r.kind, r.day): r
            for r in DailyCount.objects.filter(
                account_id__in={k[0] for k in chunk},
                campaign_id__in={k[1] for k in chunk},
                kind__in={k[2] for k in chunk},
                day__in={k[3] for k in chunk},
            )
        }
        new, changed = [], []
        for key in chunk:
            count, amount = batch.daily[key]
            row = existing.get(key)
            if row is None:
                new.append(DailyCount(account_id=key[0], campaign_id=key[1], kind=key[2], day=key[3],
                                      count=count, amount=amount))
            else:
                row.count += count
                row.amount += amount
                changed.append(row)
        DailyCount.objects.bulk_create(new, batch_size=500)
        DailyCount.objects.bulk_update(changed, ["count", "amount"], batch_size=500)


def _apply_arms(batch: _Batch) -> None:
    if not batch.arms:
        return
    fields = ("members", "read", "clicked", "converters", "orders", "revenue", "revenue_sq", "unfollowed")
    existing = {(a.campaign_id, a.arm): a for a in CampaignArm.objects.filter(campaign_id__in={k[0] for k in batch.arms})}
    new, changed = [], []
    for key, deltas in batch.arms.items():
        row = existing.get(key)
        if row is None:
            row = CampaignArm(account_id=batch.arm_account[key], campaign_id=key[0], arm=key[1])
            new.append(row)
        else:
            changed.append(row)
        for name in fields:
            setattr(row, name, getattr(row, name) + deltas.get(name, 0))
    CampaignArm.objects.bulk_create(new)
    CampaignArm.objects.bulk_update(changed, list(fields))


def _fold(rows: list[tuple[int, int, str, str, datetime, Any]], window: timedelta) -> None:
    batch = _Batch()
    members_by_key: dict[tuple[int, str], _Member] = {}
    new_members: dict[tuple[int, str], _Member] = {}
    dirty: dict[int, _Member] = {}
    # What the batch needs from the member table, loaded in a few queries.
    wanted_campaigns: set[int] = set()
    wanted_openids: set[str] = set()
    unsub_openids: set[str] = set()
    parsed: list[tuple[int, str, str, datetime, dict[str, Any]]] = []
    receipts: list[tuple[int, str, float, date]] = []
    for _id, account, openid, kind, at, payload in rows:
        if kind in _PAYLOAD_KINDS:
            data = json.loads(payload) if isinstance(payload, str) else (payload or {})
        else:
            data = {}
        parsed.append((account, openid, kind, at, data))
        campaign = _campaign(data)
        if campaign is not None:
            wanted_campaigns.add(campaign)
            wanted_openids.add(openid)
        if kind == kinds.UNSUBSCRIBE:
            unsub_openids.add(openid)
    if wanted_campaigns:
        for chunk in _chunks(sorted(wanted_openids)):
            for m in _members(CampaignMember.objects.filter(campaign_id__in=wanted_campaigns, openid__in=chunk)):
                members_by_key[(m.campaign_id, m.openid)] = m
    recent_by_openid: dict[tuple[int, str], list[_Member]] = defaultdict(list)
    if unsub_openids:
        oldest = min(at for _a, _o, k, at, _d in parsed if k == kinds.UNSUBSCRIBE) - window
        accounts = {a for a, _o, k, _at, _d in parsed if k == kinds.UNSUBSCRIBE}
        for chunk in _chunks(sorted(unsub_openids)):
            query = CampaignMember.objects.filter(account_id__in=accounts, openid__in=chunk, sent_at__gte=oldest)
            for m in _members(query):
                m = members_by_key.setdefault((m.campaign_id, m.openid), m)
                recent_by_openid[(m.account_id, m.openid)].append(m)
    msg_campaigns: dict[tuple[int, str], int] = {}

    def touch(m: _Member) -> None:
        if m.id is not None:
            dirty[m.id] = m

    for account, openid, kind, at, data in parsed:
        day = (at + _UTC_TO_LOCAL).date()
        campaign = _campaign(data)
        amount = float(data.get("amount") or 0) if kind == kinds.ORDER else 0.0
        batch.count(account, 0, kind, day, amount)
        receipt = channel_receipts.parse_receipt(kind, data)
        if receipt is not None:
            receipts.append((account, receipt.reference, float(receipt.delivered), day))
            continue
        if campaign is None:
            if kind == kinds.UNSUBSCRIBE:
                for m in recent_by_openid.get((account, openid), ()):
                    if not m.unfollowed and m.sent_at <= at <= m.sent_at + window:
                        m.unfollowed = True
                        touch(m)
                        batch.arm(account, m.campaign_id, m.arm, unfollowed=1)
                        batch.count(account, m.campaign_id, "unfollow", day)
            continue
        batch.count(account, campaign, kind, day, amount)
        key = (campaign, openid)
        member = members_by_key.get(key)
        if kind in (kinds.DELIVERY, HOLDOUT_KIND):
            if kind == kinds.DELIVERY and data.get("msg_id"):
                msg_campaigns[(account, str(data["msg_id"]))] = campaign
            if member is None and openid:
                arm = HOLDOUT if kind == HOLDOUT_KIND else str(data.get("variant") or "A")[:32]
                member = _Member(None, account, campaign, openid, arm, at)
                members_by_key[key] = new_members[key] = member
                recent_by_openid[(account, openid)].append(member)
                batch.arm(account, campaign, arm, members=1)
            continue
        if member is None:
            continue  # an outcome of someone the campaign never reached: counted above, not per arm
        if kind == kinds.READ and not member.read:
            member.read = True
            batch.arm(account, campaign, member.arm, read=1)
        elif kind == kinds.LINK_CLICK and not member.clicked:
            member.clicked = True
            batch.arm(account, campaign, member.arm, clicked=1)
        elif kind == kinds.ORDER:
            before = member.revenue
            member.revenue = before + amount
            member.orders += 1
            batch.arm(account, campaign, member.arm, orders=1, converters=1 if member.orders == 1 else 0,
                      revenue=amount, revenue_sq=member.revenue**2 - before**2)
        touch(member)

    if msg_campaigns:
        CampaignMessage.objects.bulk_create(
            [CampaignMessage(account_id=a, msg_id=m, campaign_id=c) for (a, m), c in msg_campaigns.items()],
            ignore_conflicts=True,
        )
    if receipts:
        known = {
            (r.account_id, r.msg_id): r.campaign_id
            for r in CampaignMessage.objects.filter(msg_id__in={m for _a, m, _s, _d in receipts})
        }
        for account, msg_id, sent, day in receipts:
            if (account, msg_id) in known:
                batch.count(account, known[(account, msg_id)], "delivered", day, sent)
    _write_members(list(new_members.values()), list(dirty.values()))
    _apply_arms(batch)
    _apply_daily(batch)


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]


_MEMBER_FIELDS = ("id", "account_id", "campaign_id", "openid", "arm", "sent_at", "read", "clicked", "orders",
                  "revenue", "unfollowed")


class _Member:
    """A campaign member row while a batch is folded: far cheaper than a model instance,
    and a batch touches up to one per event."""

    __slots__ = _MEMBER_FIELDS

    def __init__(self, id: int | None, account_id: int, campaign_id: int, openid: str, arm: str,  # noqa: A002
                 sent_at: datetime, read: bool = False, clicked: bool = False, orders: int = 0,
                 revenue: float = 0.0, unfollowed: bool = False) -> None:
        self.id, self.account_id, self.campaign_id, self.openid, self.arm = id, account_id, campaign_id, openid, arm
        self.sent_at, self.read, self.clicked, self.orders = _aware(sent_at), read, clicked, orders
        self.revenue, self.unfollowed = revenue, unfollowed


def _members(query: Any) -> list[_Member]:
    return [_Member(*row) for row in query.values_list(*_MEMBER_FIELDS)]


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fetch(after: int, limit: int, cutoff: datetime | None) -> list[tuple[int, int, str, str, datetime, Any]]:
    """The next events after id ``after``, as plain tuples (the ORM's per-row conversion of
    JSON and datetimes was most of a run's time); payloads stay text until needed."""
    qn = connection.ops.quote_name
    table = qn(Event._meta.db_table)
    sql = (
        f"SELECT {qn('id')}, {qn('account_id')}, {qn('openid')}, {qn('kind')}, {qn('occurred_at')}, "  # noqa: S608
        f"{qn('payload')} FROM {table} WHERE {qn('id')} > %s"
    )
    params: list[Any] = [after]
    if cutoff is not None:
        sql += f" AND {qn('received_at')} < %s"
        params.append(Event._meta.get_field("received_at").get_db_prep_value(cutoff, connection))
    sql += f" ORDER BY {qn('id')} LIMIT %s"
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(r[0], r[1], r[2], r[3], _aware(r[4]), r[5]) for r in cursor.fetchall()]


def _db_time(value: datetime) -> Any:
    if connection.vendor == "sqlite":  # Django's format there: naive UTC text
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return value


def _write_members(new: list[_Member], dirty: list[_Member]) -> None:
    qn = connection.ops.quote_name
    table = qn(CampaignMember._meta.db_table)
    with connection.cursor() as cursor:
        if new:
            cols: tuple[str, ...] = ("account_id", "campaign_id", "openid", "arm", "sent_at", "read", "clicked", "orders", "revenue",
                    "unfollowed")
            sql = (f"INSERT INTO {table} ({', '.join(qn(c) for c in cols)}) "  # noqa: S608
                   f"VALUES ({', '.join(['%s'] * len(cols))})")
            cursor.executemany(sql, [
                (m.account_id, m.campaign_id, m.openid, m.arm, _db_time(m.sent_at),
                 m.read, m.clicked, m.orders, m.revenue, m.unfollowed)
                for m in new
            ])
        if dirty:
            cols = ("read", "clicked", "orders", "revenue", "unfollowed")
            sql = (f"UPDATE {table} SET {', '.join(f'{qn(c)} = %s' for c in cols)} "  # noqa: S608
                   f"WHERE {qn('id')} = %s")
            cursor.executemany(sql, [(m.read, m.clicked, m.orders, m.revenue, m.unfollowed, m.id) for m in dirty])


def run(*, batch_size: int = 50_000, lag: float = 5.0, max_batches: int | None = None) -> int:
    """Fold events received more than ``lag`` seconds ago into the rollups; return how many."""
    window = attribution_window()
    cutoff = timezone.now() - timedelta(seconds=lag)
    total = batches = 0
    touched: set[int] = set()
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            Watermark.objects.get_or_create(name=NAME)
            mark = Watermark.objects.select_for_update().get(name=NAME)
            rows = _fetch(mark.last_event_id, batch_size, cutoff if lag > 0 else None)
            if not rows:
                break
            _fold(rows, window)
            touched.update(r[1] for r in rows)
            Watermark.objects.filter(pk=mark.pk).update(last_event_id=rows[-1][0])
        total += len(rows)
        batches += 1
        if len(rows) < batch_size:
            break
    for account_id in touched:
        refresh_pressure(account_id)
        control_lift.refresh(account_id)
    return total


def refresh_pressure(account_id: int, now: datetime | None = None) -> dict[str, int]:
    """Recompute how many subscribed followers got 0, 1, 2, 3, 4+ pushes in the last
    7 days, and store it for the overview."""
    now = now or clock.now()
    per_follower = (
        CampaignMember.objects.filter(account_id=account_id, sent_at__gte=now - timedelta(days=PRESSURE_DAYS))
        .exclude(arm=HOLDOUT)
        .values("openid")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("n", flat=True)
    )
    buckets = dict.fromkeys(PRESSURE_BUCKETS, 0)
    pushed = 0
    for n in per_follower.iterator(chunk_size=10_000):
        buckets[str(n) if n < 4 else "4+"] += 1
        pushed += 1
    subscribed = Follower.objects.filter(account_id=account_id, subscribed=True).count()
    buckets["0"] = max(subscribed - pushed, 0)
    AccountSnapshot.objects.update_or_create(
        account_id=account_id, defaults={"computed_at": now, "pressure": buckets, "followers": subscribed}
    )
    return buckets

