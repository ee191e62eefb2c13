"""Retention: an account's events older than its ``retention_months`` are made anonymous.

What stays of an old event is what names nobody — its kind, time, campaign, product,
amount and scene — so rollups and the account's history of orders keep their totals;
the openid, the follower link, texts, locations and the de-duplication key (which holds
the openid) go. The follower's current row (subscribed or not, last interaction) is
untouched: it is the present, not the history. The follower-state snapshots are rebuilt
from what is left.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.db import transaction

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience import snapshots
from fencun.audience.models import Event

#: Payload fields an anonymous event keeps: none of them names or locates a person.
KEPT = ("campaign", "product", "amount", "scene", "category", "msg_id", "status")
BATCH = 2_000
DAYS_PER_MONTH = 30.4375


def cutoff(account: Account, now: datetime | None = None) -> datetime | None:
    """Events before this are anonymised (None: the account keeps everything)."""
    if not account.retention_months:
        return None
    return (now or clock.now()) - timedelta(days=account.retention_months * DAYS_PER_MONTH)


def _anonymous_key(key: str) -> str:
    return "anon:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def anonymise_old_events(account: Account, now: datetime | None = None) -> int:
    """Make the account's events older than its retention anonymous; how many changed."""
    before = cutoff(account, now)
    if before is None:
        return 0
    old = Event.objects.filter(account=account, occurred_at__lt=before).exclude(openid="")
    changed = 0
    while True:
        with transaction.atomic():
            rows = list(old.select_for_update().order_by("pk")[:BATCH])
            if not rows:
                break
            for event in rows:
                event.openid, event.follower = "", None
                event.payload = {k: v for k, v in (event.payload or {}).items() if k in KEPT}
                event.dedup_key = _anonymous_key(event.dedup_key)
            Event.objects.bulk_update(rows, ["openid", "follower", "payload", "dedup_key"])
            changed += len(rows)
    if changed:
        snapshots.discard(account)
    return changed
