"""Posts to WeCom customer Moments: linted, capped per day and week like any broadcast
post (and by WeCom's own daily limit), posted once through the WeCom sandbox over HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from fencun import clock
from fencun.audience.models import Event
from fencun.channels.broadcast.services import (
    MOMENTS,
    CapExceeded,
    LintBlocked,
    create_post,
    post_due,
)
from fencun.channels.costs import costs
from fencun.channels.models import BroadcastPost, WecomCorp
from fencun.channels.tasks import post_due_broadcasts

MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 Beijing, a Monday
Status = BroadcastPost.Status


@pytest.fixture
def shop(make_account, make_wecom_sandbox, settings):
    box = make_wecom_sandbox()
    settings.WECOM = {**settings.WECOM, "API_BASE": box.api_base}
    account = make_account()
    corp = WecomCorp.objects.create(
        account=account, corp_id=box.config.corp_id, secret=box.config.secret,
        token=box.config.token, aes_key=box.config.aes_key,
    )
    return account, corp, box


def test_a_moments_post_goes_out_once_and_its_result_comes_back(shop):
    account, corp, box = shop
    post = create_post(account, "周末新品布艺沙发到店，欢迎来看看。", channel=MOMENTS, scheduled_for=clock.now())
    assert post_due_broadcasts() == 1
    assert post_due_broadcasts() == 0  # claimed once: nothing left to post
    post.refresh_from_db()
    assert post.status == Status.POSTED and post.remote_id in box.platform.jobs
    assert len(box.platform.jobs) == 1
    assert box.platform.jobs[post.remote_id].payload["text"]["content"] == post.text
    ((cost),) = costs(channel="wecom")
    assert (cost.kind, cost.count, cost.fee_yuan) == ("moment", 1, 0)
    deadline = time.monotonic() + 10
    while not Event.objects.filter(account=account, kind="wecom_moment_result").exists():
        assert time.monotonic() < deadline, "the Moments result never came back"
        time.sleep(0.1)
        post_due_broadcasts()


def test_moments_are_capped_per_day_by_the_merchant_and_by_wecom(shop, monkeypatch):
    account, corp, box = shop
    monkeypatch.setenv("FENCUN_BROADCAST_PER_DAY", "2")
    create_post(account, "周一上新沙发", channel=MOMENTS, scheduled_for=MONDAY)
    create_post(account, "周一午间到店礼", channel=MOMENTS, scheduled_for=MONDAY + timedelta(hours=1))
    with pytest.raises(CapExceeded, match="每日上限 2"):
        create_post(account, "周一晚间直播预告", channel=MOMENTS, scheduled_for=MONDAY + timedelta(hours=2))
    assert BroadcastPost.objects.count() == 2  # the refused post was not kept
    # A Weibo post is another channel: its own caps.
    create_post(account, "微博一条 https://shop.example.com/p", channel="weibo", scheduled_for=MONDAY)
    # WeCom's own limit holds even when the merchant allows more.
    monkeypatch.setenv("FENCUN_BROADCAST_PER_DAY", "5")
    create_post(account, "周一晚间直播预告", channel=MOMENTS, scheduled_for=MONDAY + timedelta(hours=2))
    with pytest.raises(CapExceeded, match="企业微信每日上限 3"):
        create_post(account, "周一再来一条", channel=MOMENTS, scheduled_for=MONDAY + timedelta(hours=3))
    clock.set_now(MONDAY + timedelta(hours=4))
    try:
        from fencun.channels.wecom.ledger import wecom_client

        with wecom_client(corp) as client:
            outcomes = post_due(client)
    finally:
        clock.reset()
    assert [o.error for o in outcomes] == [None, None, None]
    assert len(box.platform.jobs) == 3
    assert BroadcastPost.objects.filter(channel="weibo", status=Status.SCHEDULED).count() == 1  # not WeCom's


def test_moments_need_a_corp_and_pass_the_lint(make_account, shop):
    account, corp, _ = shop
    with pytest.raises(LintBlocked):
        create_post(account, "全网最低价，国家级品质", channel=MOMENTS)
    corp.delete()
    with pytest.raises(ValueError, match="企业微信"):
        create_post(account, "周末到店有礼", channel=MOMENTS)
    assert not BroadcastPost.objects.exists()
