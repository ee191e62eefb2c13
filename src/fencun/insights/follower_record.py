"""Everything fencun holds about one follower, for the follower's right of access (PIPL
art. 45): the projected profile, every event of theirs in the log (orders among them),
and every campaign that reached them or held them out, with what followed."""

from __future__ import annotations

from typing import Any

from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Event, Follower
from fencun.insights.models import CampaignMember


def follower_record(account: Account, openid: str) -> dict[str, Any] | None:
    """The follower's record, or None when ``account`` has no follower ``openid``.

    ``events`` are oldest first; ``orders`` are the order events among them; each of
    ``deliveries`` is one campaign's part (its arm: a variant, or ``holdout``)."""
    follower = Follower.objects.filter(account=account, openid=openid).first()
    if follower is None:
        return None
    events = [
        {"id": e.id, "kind": e.kind, "at": e.occurred_at, "source": e.source, "payload": e.payload}
        for e in Event.objects.filter(account=account, openid=openid).order_by("occurred_at", "id")
    ]
    deliveries = [
        {
            "campaign_id": m.campaign_id,
            "arm": m.arm,
            "at": m.sent_at,
            "read": m.read,
            "clicked": m.clicked,
            "orders": m.orders,
            "revenue": m.revenue,
            "unfollowed": m.unfollowed,
        }
        for m in CampaignMember.objects.filter(account=account, openid=openid).order_by("sent_at", "id")
    ]
    return {
        "profile": follower,
        "events": events,
        "orders": [e for e in events if e["kind"] == kinds.ORDER],
        "deliveries": deliveries,
    }
