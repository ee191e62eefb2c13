"""The channels' console pages: broadcast posts (write, lint, caps, schedule) and costs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from fencun import clock
from fencun.channels.costs import record_cost

WEIBO_FEES = "https://open.weibo.com/wiki/2/statuses/share"


@pytest.fixture
def staff(db, client):
    client.force_login(User.objects.create_user("owner", password="a-long-password-1"))


@pytest.fixture
def account(make_account):
    return make_account()


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["渠道费用", "微信公众号", "企业微信", "微博", "这段时间没有发送"]),
    ("en", ["Channel costs", "WeChat Official Account", "WeCom", "Weibo", "Nothing sent in this period"]),
])
def test_costs_show_what_was_recorded_per_channel(client, staff, account, lang, words):
    now = clock.now()
    for n in range(3):
        record_cost("weibo", "post", f"50{n}", at=now - timedelta(days=n), fee_yuan=0, source=WEIBO_FEES)
    record_cost("wecom", "message", "msg-1", at=now - timedelta(days=2), count=120, fee_yuan="1.5")
    record_cost("wecom", "message", "msg-old", at=now - timedelta(days=40), count=999)
    client.cookies["django_language"] = lang
    html = client.get("/costs/").content.decode()
    for w in words:
        assert w in html
    rows = {row.split("</td>")[0].rsplit(">", 1)[1]: row for row in html.split("<tr>")[2:]}
    weibo = rows["微博" if lang == "zh-hans" else "Weibo"]
    assert "<td>3</td><td>3</td><td>0.00</td>" in weibo and WEIBO_FEES in weibo
    wecom = rows["企业微信" if lang == "zh-hans" else "WeCom"]
    assert "<td>1</td><td>120</td><td>1.50</td>" in wecom and "999" not in html
    assert ("这段时间没有发送" if lang == "zh-hans" else "Nothing sent") in rows[
        "微信公众号" if lang == "zh-hans" else "WeChat Official Account"
    ]
