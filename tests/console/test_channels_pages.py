"""The channels' console pages: broadcast posts (write, lint, caps, schedule) and costs."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import User

from fencun import clock
from fencun.accounts.roles import grant
from fencun.channels.broadcast.services import create_post
from fencun.channels.costs import record_cost
from fencun.channels.models import BroadcastPost
from fencun.engine.clock import SHANGHAI

WEIBO_FEES = "https://open.weibo.com/wiki/2/statuses/share"
TARGET = "https://shop.example.com/p/sofa-42"
Status = BroadcastPost.Status


@pytest.fixture
def staff(db, client, account):
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)


@pytest.fixture
def account(make_account):
    return make_account()


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["渠道费用", "微信公众号", "企业微信", "微博", "这段时间没有发送"]),
    ("en", ["Channel costs", "WeChat Official Account", "WeCom", "Weibo", "Nothing sent in this period"]),
])
def test_costs_show_what_was_recorded_per_channel(client, staff, account, make_account, lang, words):
    from fencun.campaigns.models import OutboxItem
    from fencun.campaigns.services import create_campaign
    from fencun.catalog.models import Category

    now = clock.now()
    campaign = create_campaign(account, name="c", category=Category.objects.create(account=account, key="k"))
    for n in range(3):
        BroadcastPost.objects.create(account=account, text="t", remote_id=f"50{n}", status=Status.POSTED)
        record_cost("weibo", "post", f"50{n}", at=now - timedelta(days=n), fee_yuan=0, source=WEIBO_FEES)
    for n, msg in enumerate(("msg-1", "msg-old")):
        OutboxItem.objects.create(campaign=campaign, key=str(n), clientmsgid=msg, status="sent")
    record_cost("wecom", "message", "msg-1", at=now - timedelta(days=2), count=120, fee_yuan="1.5")
    record_cost("wecom", "message", "msg-old", at=now - timedelta(days=40), count=999)
    # Another account's sends are not this account's costs.
    other = make_account(app_id="wx-other-costs-0001")
    BroadcastPost.objects.create(account=other, text="t", remote_id="777", status=Status.POSTED)
    record_cost("weibo", "post", "777", at=now, fee_yuan=0, source=WEIBO_FEES)
    record_cost("wecom", "message", "not-ours", at=now, count=555)
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


def tomorrow_at_ten() -> datetime:
    day = clock.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=SHANGHAI)


def form(text: str = "周末到店有礼，凭券领取靠垫一个", **extra: str) -> dict[str, str]:
    return {"text": text, "link": TARGET, "send_at": tomorrow_at_ten().strftime("%Y-%m-%dT%H:%M"),
            **extra}


def test_a_good_post_is_scheduled_and_listed(client, staff, account):
    r = client.post("/broadcast/", form())
    assert r.status_code == 302 and r["Location"] == "/broadcast/"
    [post] = BroadcastPost.objects.all()
    assert (post.account, post.status, post.link_target) == (account, Status.SCHEDULED, TARGET)
    assert post.scheduled_for == tomorrow_at_ten()
    html = client.get("/broadcast/").content.decode()
    assert "周末到店有礼" in html and "已排期" in html


def test_an_empty_send_time_means_now(client, staff, account):
    assert client.post("/broadcast/", form(send_at="")).status_code == 302
    [post] = BroadcastPost.objects.all()
    assert post.status == Status.SCHEDULED and post.scheduled_for <= clock.now()


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["内容检查发现错误", "绝对化用语"]),
    ("en", ["The content lint found errors", "absolute"]),
])
def test_a_lint_error_is_shown_and_nothing_is_saved(client, staff, account, lang, words):
    client.cookies["django_language"] = lang
    r = client.post("/broadcast/", form("全网最低价，国家级品质", acknowledge="on"))
    assert r.status_code == 200
    html = r.content.decode()
    assert "errorlist" in html
    for w in words:
        assert w in html
    assert not BroadcastPost.objects.exists()


def test_warnings_need_the_acknowledgement(client, staff, account):
    r = client.post("/broadcast/", form("点击领取!!!! 限时抢购"))
    assert r.status_code == 200 and "请阅读后勾选确认" in r.content.decode()
    assert not BroadcastPost.objects.exists()
    r = client.post("/broadcast/", form("点击领取!!!! 限时抢购", acknowledge="on"))
    assert r.status_code == 302
    assert BroadcastPost.objects.get().warnings_acknowledged


def test_a_post_over_the_daily_cap_is_refused_and_nothing_changes(client, staff, account):
    for text in ("早上好：新品到店", "午后茶歇，到店有礼"):  # the default cap: two a day
        create_post(account, text, link_target=TARGET, scheduled_for=tomorrow_at_ten())
    before = list(BroadcastPost.objects.values())
    r = client.post("/broadcast/", form())
    assert r.status_code == 200 and "当天的发布已达每日上限" in r.content.decode()
    assert list(BroadcastPost.objects.values()) == before


@pytest.mark.parametrize("bad", [
    {"text": ""},
    {"link": "not a link"},
    {"send_at": "tomorrow"},
    {"send_at": "2020-01-01T10:00"},
    {"text": "字" * 2001},
])
def test_bad_input_is_refused_and_nothing_is_saved(client, staff, account, bad):
    r = client.post("/broadcast/", {**form(), **bad})
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    assert not BroadcastPost.objects.exists()


def test_the_list_shows_status_remote_id_and_reason(client, staff, account):
    posted = create_post(account, "新款布艺沙发到店", link_target=TARGET)
    failed = create_post(account, "秋季新品目录已上线", link_target=TARGET)
    BroadcastPost.objects.filter(pk=posted.pk).update(
        status=Status.POSTED, remote_id="5012345678901234", posted_at=clock.now()
    )
    BroadcastPost.objects.filter(pk=failed.pk).update(
        status=Status.FAILED, reason="微博拒绝重复内容，请修改正文"
    )
    client.cookies["django_language"] = "en"
    html = client.get("/broadcast/").content.decode()
    assert "5012345678901234" in html and "Posted" in html
    assert "微博拒绝重复内容" in html and "Failed" in html
