"""Links in pushes become tracked links under FENCUN_PUBLIC_URL: one per recipient where
the message goes to one follower (customer service), one for everyone in a mass send;
following one records the click against the campaign and redirects to the page."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from fencun.audience.models import Event, Follower
from fencun.audience.services import record_event
from fencun.campaigns import delivery
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.seeding import ready_campaign, seed_account
from fencun.channels.services import wechat_client
from fencun.insights.links import parse_token

pytestmark = pytest.mark.django_db
BASE = "https://shop.example.com"
PAGE = "https://shop.example.com/p/sofa-42"
TOKEN = re.compile(re.escape(BASE) + r"/r/([^\s/]+)/?")
# WeChat's in-app browser, as it opens a link in a message (a request without a browser's
# User-Agent is not counted as a click).
WECHAT_BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN"
)


def _drain(box) -> None:
    factory = lambda account: wechat_client(account, api_base=box.api_base, backoff=0.0, timeout=2.0)  # noqa: E731
    for _ in range(10):
        delivery.run_scheduler("sched")
        delivery.work("w", client_factory=factory)
        OutboxItem.objects.filter(status="pending").update(not_before=None)
        if not delivery.has_work():
            break
    box.flush()


def test_a_mass_send_carries_one_tracked_link_that_counts_clicks_for_the_campaign(make_sandbox, settings, client):
    settings.PUBLIC_URL = BASE
    box = make_sandbox(account_type="service", followers=12, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box), body=f"新款布艺沙发到店 {PAGE} 欢迎来看看。")
    _drain(box)
    texts = {d["title"] for d in box.deliveries(kind="mass")}
    assert len(texts) == 1 and PAGE not in next(iter(texts))  # the page only behind the link
    (token,) = TOKEN.findall(next(iter(texts)))
    link = parse_token(token)
    assert (link.campaign_id, link.openid, link.target) == (campaign.pk, "", PAGE)
    r = client.get(f"/r/{token}", HTTP_USER_AGENT=WECHAT_BROWSER)
    assert r.status_code == 302 and r["Location"] == PAGE
    click = Event.objects.get(kind="link_click")
    assert click.payload["campaign"] == campaign.pk


def test_a_customer_service_message_carries_its_recipients_own_link(make_sandbox, settings):
    settings.PUBLIC_URL = BASE
    box = make_sandbox(account_type="service", followers=4, retry_too_fast_seconds=0)
    account = seed_account(box)
    now = timezone.now()
    openids = sorted(Follower.objects.values_list("openid", flat=True))
    # They wrote to the account just now: inside the 48-hour window on both sides.
    box.post_events([{"kind": "text", "openid": o, "at": now.isoformat(), "content": "在吗"} for o in openids])
    for o in openids:
        record_event(account, kind="text", openid=o, occurred_at=now, payload={"content": "在吗"},
                     source="test", dedup_key=f"text:{o}")
    campaign = ready_campaign(account, channel=Campaign.Channel.CUSTOMER_SERVICE, body=f"您问的沙发：{PAGE}")
    _drain(box)
    sent = box.deliveries(kind="custom")
    assert sorted(d["openid"] for d in sent) == openids
    for d in sent:
        (token,) = TOKEN.findall(d["title"])
        assert parse_token(token).openid == d["openid"]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE


def test_without_a_public_url_links_go_as_written(make_sandbox, settings):
    settings.PUBLIC_URL = ""
    box = make_sandbox(account_type="service", followers=6, retry_too_fast_seconds=0)
    ready_campaign(seed_account(box), body=f"新款布艺沙发到店 {PAGE}")
    _drain(box)
    assert {d["title"] for d in box.deliveries(kind="mass")} == {f"新款布艺沙发到店 {PAGE}"}


def test_a_news_articles_read_more_is_the_tracked_page_of_its_first_product(make_sandbox, settings):
    from fencun.campaigns import planning, services
    from fencun.catalog.models import Category, Product

    settings.PUBLIC_URL = BASE
    box = make_sandbox(account_type="service", followers=6, retry_too_fast_seconds=0)
    account = seed_account(box)
    sofa = Category.objects.get(account=account, key="sofa")
    product = Product.objects.create(account=account, category=sofa, sku="S42", name="三人沙发", price=4299,
                                     link_url=PAGE)
    campaign = services.create_campaign(account, name="图文", category=sofa, title="三人沙发到店", body="欢迎到店。",
                                        message_type="news", products=[product])
    services.lint_campaign(campaign, acknowledge_warnings=True)
    planning.dry_run(campaign, policy="blast")
    planning.approve(campaign, by="店长", scheduled_for=timezone.now())
    _drain(box)
    with box.platform.lock:
        (article,) = {j.message["articles"][0]["content_source_url"]: j.message["articles"][0]
                      for j in box.platform.jobs.values() if j.message["msgtype"] == "mpnews"}.values()
    (token,) = TOKEN.findall(article["content_source_url"])
    link = parse_token(token)
    assert (link.campaign_id, link.product_id, link.target) == (campaign.pk, "S42", PAGE)
