"""Erasing a follower: afterwards nothing of theirs is in any table, their endpoints
answer 404, the others' data is untouched, and a pending send never reaches them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.core import serializers

from fencun.api.models import ApiToken
from fencun.audience.erasure import erase_follower
from fencun.audience.models import Event
from fencun.audience.services import record_event
from fencun.campaigns.models import Journey, JourneyEntry, OutboxItem, PlanSnapshot
from fencun.campaigns.services import create_campaign
from fencun.catalog.models import Category
from fencun.gateway.models import InboxEvent
from fencun.insights.models import CampaignMember
from fencun.operations.models import NoticeSend

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
GONE, KEPT = "o_erase_me_0001", "o_keep_me_0002"


def _everything() -> str:
    """Every row of every model, serialised: where an openid would show if it were kept."""
    return "".join(
        serializers.serialize("json", model.objects.all()) for model in apps.get_models()
    )


@pytest.fixture
def held(make_account):
    account = make_account()
    for n, openid in enumerate((GONE, KEPT)):
        record_event(account, kind="subscribe", openid=openid, occurred_at=T0, payload={"scene": "ADD_SCENE_SEARCH"},
                     source="test", dedup_key=f"s{n}")
        record_event(account, kind="order", openid=openid, occurred_at=T0, payload={"amount": 99.0},
                     source="test", dedup_key=f"o{n}")
    category = Category.objects.create(account=account, key="sofa", name="沙发")
    campaign = create_campaign(account, name="活动", category=category, title="标题", body="正文")
    PlanSnapshot.objects.create(campaign=campaign, planned_for=T0, recipients=[GONE, KEPT],
                                holdout=[GONE], controls=[GONE, KEPT])
    OutboxItem.objects.create(campaign=campaign, key="1", openids=[GONE, KEPT], clientmsgid="c1")
    OutboxItem.objects.create(campaign=campaign, key=GONE, openids=[GONE], clientmsgid="c2")
    OutboxItem.objects.create(campaign=campaign, key="2", openids=[GONE, KEPT], clientmsgid="c3",
                              status=OutboxItem.Status.SENT)
    CampaignMember.objects.create(account=account, campaign_id=campaign.pk, openid=GONE, arm="A", sent_at=T0)
    CampaignMember.objects.create(account=account, campaign_id=campaign.pk, openid=KEPT, arm="A", sent_at=T0)
    NoticeSend.objects.create(account=account, openid=GONE, template_id="t", key="k1")
    InboxEvent.objects.create(account=account, kind="text", openid=GONE, occurred_at=T0, received_at=T0,
                              payload={"content": "你好"}, source="wechat", dedup_key="i1")
    journey = Journey.objects.create(account=account, name="欢迎", definition={})
    JourneyEntry.objects.create(journey=journey, openid=GONE, version=1, entered_at=T0, due_at=T0)
    return account, campaign


def test_nothing_of_an_erased_follower_remains_in_any_table(held):
    account, campaign = held
    assert GONE in _everything()
    counts = erase_follower(account, GONE)
    assert counts["followers"] == 1 and counts["events"] == 2
    assert GONE not in _everything()
    # The others' data is all there.
    assert Event.objects.filter(openid=KEPT).count() == 2
    plan = PlanSnapshot.objects.get(campaign=campaign)
    assert (plan.recipients, plan.holdout, plan.controls) == ([KEPT], [], [KEPT])
    # A pending batch goes to the others only; a pending row of theirs alone is gone; a
    # row already sent keeps its place, without them.
    assert {r.clientmsgid: r.openids for r in OutboxItem.objects.all()} == {"c1": [KEPT], "c3": [KEPT]}
    assert CampaignMember.objects.filter(openid=KEPT).exists()


def test_erasing_through_the_api_and_then_nothing_answers(client, held):
    account, _ = held
    token = ApiToken.issue("tests", [account])[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(f"/api/followers/{GONE}", **auth).status_code == 200
    erased = client.delete(f"/api/followers/{GONE}", **auth)
    assert erased.status_code == 200 and erased.json()["erased"]["followers"] == 1
    assert client.get(f"/api/followers/{GONE}", **auth).status_code == 404
    assert client.get(f"/api/followers/{GONE}/export", **auth).status_code == 404
    assert client.get(f"/api/events?openid={GONE}", **auth).json() == []
    assert client.delete(f"/api/followers/{GONE}", **auth).status_code == 404
    assert client.delete("/api/followers/o_never_known", **auth).status_code == 404
    assert json.loads(client.get(f"/api/followers/{KEPT}", **auth).content)["openid"] == KEPT


def test_no_personalisation_is_recorded_shown_and_kept_by_a_rebuild(client, held):
    from fencun.audience.models import Follower
    from fencun.audience.services import rebuild_followers

    account, _ = held
    token = ApiToken.issue("tests", [account])[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(f"/api/followers/{KEPT}", **auth).json()["personalised"] is True
    chose = client.post(f"/api/followers/{KEPT}/preferences", {"personalised": False},
                        content_type="application/json", **auth)
    assert chose.status_code == 200 and chose.json()["personalised"] is False
    rebuild_followers(account)
    assert Follower.objects.get(account=account, openid=KEPT).personalised is False
    assert client.post("/api/followers/o_nobody/preferences", {"personalised": False},
                       content_type="application/json", **auth).status_code == 404
