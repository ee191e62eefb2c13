"""Writing to the event log and keeping the follower projection in step with it.

Every input (callback, sync, import, the product's own sends) enters through
:func:`record_event`: one row per source event, exactly once, and the follower updated
in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from fencun.audience import projection
from fencun.audience.models import Event, Follower
from fencun.channels.models import Account


@dataclass(frozen=True)
class Recorded:
    """The outcome of :func:`record_event`: the stored row, and whether it is new."""

    event: Event
    created: bool


def _follower_for_update(account: Account, openid: str) -> Follower:
    follower, _ = Follower.objects.get_or_create(account=account, openid=openid)
    # Lock the row so concurrent events for one follower apply one after the other.
    return Follower.objects.select_for_update().get(pk=follower.pk)


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
    """Append one event (unless its ``dedup_key`` is already stored) and project it.

    Safe under concurrent duplicates: the UNIQUE (account, dedup_key) constraint decides,
    and the loser gets the winner's row with ``created=False``.
    """
    try:
        with transaction.atomic():
            follower = _follower_for_update(account, openid) if openid else None
            event = Event.objects.create(
                account=account,
                follower=follower,
                openid=openid,
                kind=kind,
                occurred_at=occurred_at,
                payload=payload,
                source=source,
                dedup_key=dedup_key,
            )
            if follower is not None:
                changed = projection.apply(follower, kind, occurred_at, payload)
                if changed:
                    follower.save(update_fields=[*changed, "updated_at"])
            return Recorded(event, True)
    except IntegrityError:
        existing = Event.objects.filter(account=account, dedup_key=dedup_key).first()
        if existing is None:  # an integrity error that was not the de-duplication key
            raise
        return Recorded(existing, False)


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
