"""Bridge from the campaign side's outbox to the event log (read-only on its models).

The outbox knows who was sent what and when, but writes no events; insights need one
``delivery`` event per recipient, with the row's title variant (``A``, ``B``…, or
``rest:B`` for the rest of an A/B campaign's audience, sent the winner after the test).
:func:`sync` records the recipients of rows sent since the last run (idempotent: the events' de-duplication keys are per campaign and follower)
and the latest plan's hold-backs by reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction

from fencun.campaigns.models import OutboxItem, PlanSnapshot
from fencun.channels.costs import WECHAT_FEE_SOURCE, WECOM_FEE_SOURCE, record_cost
from fencun.insights.models import Watermark
from fencun.insights.services import record_deliveries, record_hold_backs

NAME = "outbox"
# Workers stamp sent_at before their transaction commits; look back this far each run.
OVERLAP = timedelta(minutes=10)


def sync() -> int:
    """Record deliveries of outbox rows sent since the last run; return rows read."""

    mark, _ = Watermark.objects.get_or_create(name=NAME)
    since = datetime.fromtimestamp(mark.last_event_id / 1e6, tz=UTC) - OVERLAP if mark.last_event_id else None
    rows = OutboxItem.objects.filter(status=OutboxItem.Status.SENT, sent_at__isnull=False)
    if since is not None:
        rows = rows.filter(sent_at__gte=since)
    latest = mark.last_event_id
    campaigns = {}
    count = 0
    for item in rows.select_related("campaign").order_by("sent_at").iterator(chunk_size=500):
        campaign = item.campaign
        sent_at = item.sent_at
        assert sent_at is not None  # by the filter above
        # A mass-send batch lists its openids; a customer-service row is keyed by its one openid.
        openids = [o for o in item.openids if isinstance(o, str)] or ([] if item.key.isdigit() else [item.key])
        with transaction.atomic():
            wecom = campaign.channel == "wecom"
            msg_id = item.task_id if wecom else (str(item.msg_id) if item.msg_id else "")
            record_deliveries(campaign.account, campaign.pk, openids, sent_at,
                              variant=item.variant or "A", msg_id=msg_id)
            # What the send cost, once per outbox row (its clientmsgid), for the costs page.
            record_cost("wecom" if wecom else "wechat", "message", item.clientmsgid, at=sent_at,
                        count=len(openids), fee_yuan=0, source=WECOM_FEE_SOURCE if wecom else WECHAT_FEE_SOURCE)
        campaigns[campaign.pk] = campaign
        latest = max(latest, int(sent_at.timestamp() * 1e6))
        count += 1
    for campaign in campaigns.values():
        plan = PlanSnapshot.objects.filter(campaign=campaign).order_by("-created_at").first()
        if plan is None:
            continue
        if isinstance(plan.held_back, dict):
            counts = {str(k): int(v) for k, v in plan.held_back.items() if isinstance(v, int) and v >= 0}
            record_hold_backs(campaign.account, campaign.pk, plan.planned_for, counts)
        # The holdout's outcomes are what the recipients' are measured against.
        holdout = [o for o in plan.holdout if isinstance(o, str)]
        with transaction.atomic():
            record_deliveries(campaign.account, campaign.pk, holdout, plan.planned_for, holdout=True)
    Watermark.objects.filter(pk=mark.pk).update(last_event_id=latest)
    return count
