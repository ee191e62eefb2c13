"""The campaign report shows what WeChat counted of the campaign's article (read back
from the platform's analytics) beside fencun's own tracked figures, in both languages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from tests.article_sends import days_passing, send_article_campaign, track_click_and_order

from fencun.accounts.roles import grant
from fencun.channels.services import wechat_client
from fencun.channels.wechat.datacube import platform_yesterday
from fencun.insights.article_stats import sync_article_stats
from fencun.insights.models import ArticleTotal

pytestmark = pytest.mark.django_db


@pytest.fixture
def days_pass():
    yield from days_passing()


@pytest.fixture
def sent(make_sandbox, days_pass, client):
    box = make_sandbox(account_type="service", followers=120, retry_too_fast_seconds=0)
    campaign = send_article_campaign(box)
    days_pass(box, 3)
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, campaign.account, "operator")
    client.force_login(user)
    return box, campaign


def _sync(box, campaign) -> None:
    with wechat_client(campaign.account, api_base=box.api_base, backoff=0.0) as c:
        sync_article_stats(campaign.account, c)


def _report(client, campaign, lang: str) -> str:
    client.cookies["django_language"] = lang
    response = client.get(f"/campaigns/{campaign.pk}/report/")
    assert response.status_code == 200
    return response.content.decode()


def _total_row(html: str) -> list[str]:
    row = re.search(r'<tr data-figure="platform-total">(.*?)</tr>', html, re.S)
    assert row, "no total row"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<th>(.*?)</th>", row.group(1), re.S)]


@pytest.mark.parametrize(("lang", "words", "money"), [
    ("zh-hans", ["微信统计的阅读", "阅读人数", "阅读次数", "分享次数", "收藏次数", "微信统计", "分寸追踪", "合计", "数据截至"],
     "4,299.00 元"),
    ("en", ["What WeChat counted", "Readers", "Reads", "Shares", "Favourites", "Counted by WeChat",
            "Tracked by fencun", "In all", "Figures through"], "¥4,299.00"),
])
def test_the_report_shows_what_wechat_counted_beside_the_tracked_figures(client, sent, lang, words, money):
    box, campaign = sent
    _sync(box, campaign)
    track_click_and_order(campaign)
    html = _report(client, campaign, lang)
    for w in words:
        assert w in html, w
    latest = ArticleTotal.objects.filter(account=campaign.account).order_by("-day").first()
    readers = f"{latest.read_users:,}"
    total = _total_row(html)
    assert total[1] == readers  # each reader once
    assert total[6:] == ["1", "1", money]  # fencun's tracked clicks, orders and revenue
    assert platform_yesterday().isoformat() in html
    sentence = re.search(r'data-figure="platform-readers">(.*?)</p>', html, re.S).group(1)
    assert readers in sentence and "120" in sentence
    assert ("读者" in sentence) == (lang == "zh-hans")


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", "微信还没有"),
    ("en", "WeChat has not reported"),
])
def test_before_the_platform_reports_the_report_says_so(client, sent, lang, words):
    _box, campaign = sent
    html = _report(client, campaign, lang)
    assert 'data-figure="platform-none"' in html and words in html
    assert "platform-total" not in html
