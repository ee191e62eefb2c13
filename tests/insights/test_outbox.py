"""The outbox bridge: sent rows become delivery events once; the plan's hold-backs are kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fencun.audience.models import Event
from fencun.channels.costs import costs
from fencun.insights import outbox, rollups, services

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_sent_outbox_rows_become_deliveries_once(make_account):
    from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot
    from fencun.catalog.models import Category

    account = make_account()
    category = Category.objects.create(account=account, key="sofa", name="沙发")
    campaign = Campaign.objects.create(account=account, name="秋季沙发", category=category)
    PlanSnapshot.objects.create(campaign=campaign, planned_for=T0, held_back={"cap": 4, "quiet_hours": 1})
    OutboxItem.objects.create(campaign=campaign, key="0", openids=["o1", "o2", "o3"], clientmsgid="c0",
                              status="sent", sent_at=T0, msg_id=1001)
    OutboxItem.objects.create(campaign=campaign, key="1", openids=["o4"], clientmsgid="c1", status="pending")
    assert outbox.sync() == 1
    assert outbox.sync() == 1  # the look-back re-reads it, and records nothing new
    assert Event.objects.filter(kind="delivery").count() == 3
    [cost] = costs("wechat")
    assert (cost.sends, cost.count, cost.fee_yuan) == (1, 3, 0)  # one send, three messages, once
    rollups.run(lag=0)
    report = services.campaign_report(campaign)
    assert report.sent == 3
    assert report.held_back == {"cap": 4, "quiet_hours": 1}
