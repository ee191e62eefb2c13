"""A customer-service campaign in the sandbox: every follower wrote to the account just
now, so each is inside the 48-hour window on both sides (the platform and the product)."""

from __future__ import annotations

from collections import Counter

from django.utils import timezone

from fencun.audience.services import NewEvent, record_events
from fencun.campaigns import services
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.seeding import ready_campaign, seed_account

CUSTOM_SEND = "/cgi-bin/message/custom/send"


def cs_campaign(box) -> Campaign:
    """An approved customer-service campaign to every follower of ``box``."""
    account = seed_account(box)
    now = timezone.now()
    with box.platform.lock:
        openids = box.platform.population.page(0, box.platform.population.size)
    box.post_events([{"kind": "text", "openid": o, "at": now.isoformat(), "content": "在吗"} for o in openids])
    record_events(account, [
        NewEvent("text", o, now, {"content": "在吗"}, "test", f"text:{o}") for o in openids
    ])
    return ready_campaign(account, channel=Campaign.Channel.CUSTOMER_SERVICE)


def outcomes(box, campaign: Campaign) -> dict[str, int]:
    """What happened to each planned follower, from the platform's delivery record and
    the outbox: ``lost`` (neither delivered nor reported unknown), ``duplicated``
    (delivered more than once), ``unknown`` (reported unknown; ``unknown_delivered`` of
    them did reach the follower), ``false_sent`` (recorded sent, never delivered)."""
    box.flush()
    delivered = Counter(d["openid"] for d in box.deliveries(kind="custom"))
    status = {
        row.openids[0]: row.status for row in OutboxItem.objects.filter(campaign=campaign)
    }
    planned = services.recipients_of(campaign, sent_only=False)
    unknown = [o for o in planned if status[o] == OutboxItem.Status.UNKNOWN]
    return {
        "planned": len(planned),
        "sent": sum(1 for o in planned if status[o] == OutboxItem.Status.SENT),
        "lost": sum(1 for o in planned if not delivered[o] and status[o] != OutboxItem.Status.UNKNOWN),
        "duplicated": sum(1 for n in delivered.values() if n > 1),
        "unknown": len(unknown),
        "unknown_delivered": sum(1 for o in unknown if delivered[o]),
        "false_sent": sum(1 for o in planned if status[o] == OutboxItem.Status.SENT and not delivered[o]),
    }
