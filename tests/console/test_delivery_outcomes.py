"""The merchant sees how a campaign's delivery ended, in their language: sent, failed
and of unknown outcome, and why."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fencun.accounts.roles import grant
from fencun.campaigns import outcomes
from fencun.campaigns.models import OutboxItem
from fencun.campaigns.services import create_campaign
from fencun.catalog.models import Category


@pytest.fixture
def campaign(db, client, make_account):
    account = make_account()
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    category = Category.objects.create(account=account, key="sofa", name="沙发")
    campaign = create_campaign(account, name="客服回访", category=category, channel="customer_service")
    rows = [
        ("o1", OutboxItem.Status.SENT, ""),
        ("o2", OutboxItem.Status.UNKNOWN, outcomes.OUTCOME_UNKNOWN),
        ("o3", OutboxItem.Status.FAILED, outcomes.OUTSIDE_WINDOW),
    ]
    for openid, status, code in rows:
        OutboxItem.objects.create(campaign=campaign, key=openid, openids=[openid], clientmsgid=f"k-{openid}",
                                  status=status, reason_code=code, reason="WeChat errcode 45015: out of time"
                                  if code == outcomes.OUTSIDE_WINDOW else "")
    return campaign


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["发送结果", "结果未知", "不在该粉丝的客服消息窗口内", "45015"]),
    ("en", ["Delivery", "Outcome unknown", "customer-service window, or its message count used up", "45015"]),
])
def test_the_campaign_page_shows_unknown_and_failed_sends_with_their_reasons(client, campaign, lang, words):
    client.cookies["django_language"] = lang
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    for w in words:
        assert w in html
    assert '<div class="tile" data-figure="unknown"><span>' in html


@pytest.mark.parametrize(("lang", "word"), [("zh-hans", "结果未知"), ("en", "Outcome unknown")])
def test_the_campaign_report_counts_the_unknown(client, campaign, lang, word):
    client.cookies["django_language"] = lang
    html = client.get(f"/campaigns/{campaign.pk}/report/").content.decode()
    assert word in html and 'data-figure="unknown"' in html
