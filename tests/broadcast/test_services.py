"""Broadcast posts end to end: lint, caps, scheduling and posting once, over HTTP to the sandbox."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from fencun import clock
from fencun.channels.broadcast import services
from fencun.channels.broadcast.client import WeiboClient
from fencun.channels.broadcast.errors import DuplicateContent, RateLimited, TokenExpired
from fencun.channels.broadcast.services import (
    CapExceeded,
    LintBlocked,
    WarningsNotAcknowledged,
    create_post,
    post_due,
    schedule,
)
from fencun.channels.costs import costs
from fencun.channels.models import BroadcastPost
from fencun.insights.links import parse_token

PUBLIC = "https://shop.example.com"
TARGET = "https://shop.example.com/p/sofa-42"
MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 Beijing, a Monday
Status = BroadcastPost.Status


@pytest.fixture
def account(make_account):
    return make_account()


def new_client(box, **kwargs) -> WeiboClient:
    return WeiboClient(
        box.config.access_token,
        api_base=box.api_base,
        safe_domain=box.config.safe_domain,
        **kwargs,
    )


def due(account, text: str, at: datetime | None = None) -> BroadcastPost:
    return create_post(
        account, text, link_target=TARGET, scheduled_for=at or clock.now() - timedelta(minutes=1)
    )


@pytest.mark.django_db
def test_due_post_goes_out_once_with_tracked_links(account, weibo_client, weibo_sandbox):
    post = create_post(
        account,
        "新款布艺沙发到店 https://shop.example.com/new",
        scheduled_for=clock.now() - timedelta(minutes=1),
    )
    [outcome] = post_due(weibo_client, public_url=PUBLIC)
    assert outcome.error is None
    post.refresh_from_db()
    assert post.status == Status.POSTED and post.posted_at is not None
    [sent] = weibo_sandbox.posts
    assert post.remote_id == sent["idstr"]
    assert sent["text"] == post.posted_text
    links = [w for w in sent["text"].split() if w.startswith(f"{PUBLIC}/r/")]
    assert [parse_token(u.rsplit("/r/", 1)[1].rstrip("/")).target for u in links] == [
        "https://shop.example.com/new"
    ]
    assert "https://shop.example.com/new" not in sent["text"]
    assert post_due(weibo_client, public_url=PUBLIC) == []
    assert len(weibo_sandbox.posts) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_runners_post_a_due_post_once(account, weibo_sandbox):
    post = due(account, "周末到店有礼，凭券领取靠垫一个")
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with new_client(weibo_sandbox) as client:
                start.wait()
                post_due(client, public_url=PUBLIC)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    post.refresh_from_db()
    assert post.status == Status.POSTED and post.attempts == 1
    assert len(weibo_sandbox.posts) == 1


@pytest.mark.django_db
def test_runner_crashing_after_the_claim_never_reposts(account, weibo_client, weibo_sandbox):
    post = due(account, "新品床垫试睡活动开始了")
    now = clock.now()
    assert services._claim(post.pk, now, PUBLIC) is not None  # then the process dies
    assert post_due(weibo_client, now=now, public_url=PUBLIC) == []
    later = now + services.STALE_CLAIM + timedelta(seconds=1)
    assert post_due(weibo_client, now=later, public_url=PUBLIC) == []
    post.refresh_from_db()
    assert post.status == Status.UNKNOWN and "结果未知" in post.reason
    assert weibo_sandbox.posts == []


@pytest.mark.django_db
def test_lost_answer_is_unknown_and_not_reposted(account, weibo_sandbox):
    post = due(account, "秋季新品目录已上线")
    weibo_sandbox.set_faults([{"delay": 1.0, "times": 1}])
    with new_client(weibo_sandbox, timeout=0.3) as client:
        [outcome] = post_due(client, public_url=PUBLIC)
        assert post_due(client, public_url=PUBLIC) == []
    post.refresh_from_db()
    assert post.status == Status.UNKNOWN and "不会自动重发" in post.reason
    assert len(weibo_sandbox.posts) == 1  # it did go out; the product just never heard


@pytest.mark.django_db
def test_lint_errors_block_and_warnings_need_acknowledgement(account):
    with pytest.raises(LintBlocked):
        create_post(account, "全网最低价，国家级品质", link_target=TARGET)
    with pytest.raises(WarningsNotAcknowledged):
        create_post(account, "点击领取!!!! 限时抢购", link_target=TARGET)
    assert not BroadcastPost.objects.exists()
    post = create_post(
        account, "点击领取!!!! 限时抢购", link_target=TARGET, acknowledge_warnings=True
    )
    assert post.warnings_acknowledged and post.status == Status.DRAFT


@pytest.mark.django_db
def test_day_and_week_caps_refuse_scheduling_and_change_nothing(account, monkeypatch):
    monkeypatch.setenv("FENCUN_BROADCAST_PER_DAY", "2")
    monkeypatch.setenv("FENCUN_BROADCAST_PER_WEEK", "3")
    due(account, "早上好：新品到店", MONDAY)
    due(account, "周末活动报名中", MONDAY + timedelta(hours=2))
    third = create_post(account, "换季清仓开始", link_target=TARGET)
    with pytest.raises(CapExceeded, match="posts_per_day"):
        schedule(third, MONDAY + timedelta(hours=4))
    third.refresh_from_db()
    assert third.status == Status.DRAFT and third.scheduled_for is None
    schedule(third, MONDAY + timedelta(days=1))
    fourth = create_post(account, "会员日预告", link_target=TARGET)
    with pytest.raises(CapExceeded, match="posts_per_week"):
        schedule(fourth, MONDAY + timedelta(days=3))
    assert BroadcastPost.objects.filter(status=Status.SCHEDULED).count() == 3


@pytest.mark.django_db
def test_cap_reached_at_posting_time_refuses_before_calling(
    account, weibo_client, weibo_sandbox, monkeypatch
):
    now = clock.now()
    first = due(account, "上午：新品到店", now - timedelta(minutes=2))
    second = due(account, "下午：周末活动", now - timedelta(minutes=1))
    monkeypatch.setenv("FENCUN_BROADCAST_PER_DAY", "1")  # the merchant lowered the cap
    before = BroadcastPost.objects.values().get(pk=second.pk)
    outcomes = post_due(weibo_client, now=now, public_url=PUBLIC)
    assert [type(o.error) for o in outcomes] == [type(None), CapExceeded]
    assert "每日上限" in str(outcomes[1].error)
    first.refresh_from_db()
    assert first.status == Status.POSTED
    assert BroadcastPost.objects.values().get(pk=second.pk) == before
    assert weibo_sandbox.platform.calls == 1


@pytest.mark.django_db
def test_duplicate_content_fails_the_post(account, weibo_client, weibo_sandbox):
    post = due(account, "新款沙发到店")
    weibo_sandbox.set_faults([{"error_code": 20019, "times": 1}])
    [outcome] = post_due(weibo_client, public_url=PUBLIC)
    assert isinstance(outcome.error, DuplicateContent) and outcome.error.error_code == 20019
    post.refresh_from_db()
    assert post.status == Status.FAILED and "重复" in post.reason
    assert post_due(weibo_client, public_url=PUBLIC) == []
    assert weibo_sandbox.posts == []


@pytest.mark.django_db
def test_rate_limited_post_is_rescheduled_and_posted_later(account, weibo_client, weibo_sandbox):
    post = due(account, "冬季床品上新")
    now = clock.now()
    weibo_sandbox.set_faults([{"error_code": 10024, "times": 1}])
    [outcome] = post_due(weibo_client, now=now, public_url=PUBLIC)
    assert isinstance(outcome.error, RateLimited)
    post.refresh_from_db()
    assert post.status == Status.SCHEDULED and post.scheduled_for == now + timedelta(hours=1)
    assert post_due(weibo_client, now=now, public_url=PUBLIC) == []
    [outcome] = post_due(weibo_client, now=now + timedelta(hours=1), public_url=PUBLIC)
    assert outcome.error is None
    post.refresh_from_db()
    assert post.status == Status.POSTED and post.attempts == 2
    assert len(weibo_sandbox.posts) == 1


@pytest.mark.django_db
def test_expired_token_fails_and_never_shows_the_token(
    account, weibo_client, weibo_sandbox, caplog
):
    caplog.set_level(logging.DEBUG)
    post = due(account, "门店营业时间调整通知")
    weibo_sandbox.expire_token()
    [outcome] = post_due(weibo_client, public_url=PUBLIC)
    assert isinstance(outcome.error, TokenExpired)
    post.refresh_from_db()
    token = weibo_sandbox.config.access_token
    assert post.status == Status.FAILED and "21327" in post.reason
    assert token not in post.reason and token not in str(outcome.error)
    assert token not in caplog.text


@pytest.mark.django_db
def test_posts_are_costed_per_channel(account, weibo_client, weibo_sandbox):
    due(account, "早上好：新品到店")
    due(account, "周末活动报名中")
    post_due(weibo_client, public_url=PUBLIC)
    [summary] = costs("weibo")
    assert (summary.kind, summary.count, summary.fee_yuan) == ("post", 2, Decimal(0))
    assert costs("wecom") == []


@pytest.mark.django_db
def test_a_public_link_counts_each_reader_once_per_window(account, client):
    from fencun.audience.models import Event
    from fencun.insights.links import tracked_url

    url = tracked_url(None, "", None, TARGET, account=account)
    browser = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.50"
    for ip in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert client.get(url, HTTP_USER_AGENT=browser, REMOTE_ADDR=ip)["Location"] == TARGET
    # A public post's link names nobody: each client counts once, a repeat not again.
    assert Event.objects.filter(kind="link_click", openid="").count() == 3


@pytest.mark.django_db
def test_unreachable_weibo_puts_the_post_back_on_the_schedule(account, make_weibo_sandbox):
    box = make_weibo_sandbox()
    client = new_client(box)
    box.stop()  # nothing listens: the connection is refused, so nothing was posted
    post = due(account, "门店搬迁通知")
    now = clock.now()
    with client:
        [outcome] = post_due(client, now=now, public_url=PUBLIC)
    post.refresh_from_db()
    assert post.status == Status.SCHEDULED and post.scheduled_for == now + timedelta(minutes=5)
    assert box.config.access_token not in str(outcome.error)
