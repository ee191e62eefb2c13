"""``GET /api/campaigns/{id}/results`` carries WeChat's own figures of the campaign's
articles (``platform``) beside its tracked ones, and null for a campaign that mass sent no
article."""

from __future__ import annotations

import pytest
from tests.article_sends import days_passing, send_article_campaign, track_click_and_order

from fencun.api.models import ApiToken
from fencun.channels.models import MassSend
from fencun.channels.services import wechat_client
from fencun.channels.wechat.datacube import platform_yesterday
from fencun.insights.article_stats import sync_article_stats
from fencun.insights.models import ArticleDay, ArticleTotal
from fencun.sandbox.server import Sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def days_pass():
    yield from days_passing()


@pytest.fixture
def box():
    with Sandbox(account_type="service", followers=90, retry_too_fast_seconds=0) as sandbox:
        yield sandbox


def _results(client, campaign) -> dict:
    token = ApiToken.issue("tests", [campaign.account])[1]
    response = client.get(f"/api/campaigns/{campaign.pk}/results", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    return response.json()


def test_the_results_carry_the_platforms_figures(client, box, days_pass):
    campaign = send_article_campaign(box)
    days_pass(box, 3)
    before = _results(client, campaign)["platform"]
    assert before["reported"] is False and before["days"] == [] and before["read_users"] is None
    with wechat_client(campaign.account, api_base=box.api_base, backoff=0.0) as c:
        sync_article_stats(campaign.account, c)
    track_click_and_order(campaign, amount=1999.0)
    platform = _results(client, campaign)["platform"]
    (send,) = MassSend.objects.filter(account=campaign.account, msg_data_id__isnull=False)
    latest = ArticleTotal.objects.filter(account=campaign.account).order_by("-day").first()
    days = ArticleDay.objects.filter(account=campaign.account)
    assert platform["reported"] is True
    assert platform["sends"] == [send.msg_data_id] and platform["articles"] == [f"{send.msg_data_id}_1"]
    assert platform["recipients"] == 90 and platform["read_users"] == latest.read_users > 0
    assert platform["read_rate"] == pytest.approx(latest.read_users / 90)
    assert platform["reads"] == sum(d.reads for d in days)
    assert platform["favourites"] == sum(d.favourites for d in days)
    assert (platform["tracked_clicks"], platform["orders"], platform["revenue"]) == (1, 1, 1999.0)
    assert platform["synced_through"] == platform_yesterday().isoformat()
    assert [d["day"] for d in platform["days"]] == sorted({d.day.isoformat() for d in days})
    assert sum(d["orders"] for d in platform["days"]) == 1


def test_a_campaign_without_an_article_has_no_platform_figures(client, make_account):
    from fencun.campaigns.services import create_campaign
    from fencun.catalog.models import Category

    account = make_account()
    category = Category.objects.create(account=account, key="sofa", name="沙发")
    campaign = create_campaign(account, name="客服回访", category=category, channel="customer_service")
    assert _results(client, campaign)["platform"] is None


def test_the_openapi_document_describes_the_field(client):
    schema = client.get("/api/openapi.json").json()
    results = schema["components"]["schemas"]["ResultsOut"]["properties"]
    assert "platform" in results
    assert "platform" not in schema["components"]["schemas"]["ResultsOut"].get("required", [])
    stats = schema["components"]["schemas"]["ArticleStatsOut"]["properties"]
    assert {"read_users", "reads", "shares", "favourites", "tracked_clicks", "orders", "days"} <= set(stats)
