"""Articles mass sent through a sandbox, and days passing on both clocks: what the
platform's article analytics need before they have anything to say (they answer up to
yesterday only)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from fencun import clock
from fencun.channels.wechat import messages
from fencun.channels.wechat.articles import DraftArticle
from fencun.channels.wechat.client import WeChatClient

DAY = 86_400
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def send_articles(client: WeChatClient, titles: tuple[str, ...] = ("三人沙发到店", "茶几配套"),
                  clientmsgid: str = "articles-1") -> int:
    """A draft of ``titles`` mass sent to every follower; returns its msg_data_id."""
    cover = client.add_material("thumb", "cover.jpg", JPEG).media_id
    draft = client.add_draft([
        DraftArticle(title=t, content=f"<p>{t}</p>", thumb_media_id=cover,
                     content_source_url="https://shop.example.com/sofa" if i == 0 else "")
        for i, t in enumerate(titles)
    ])
    sent = client.sendall(messages.news(draft), clientmsgid=clientmsgid)
    assert sent.msg_data_id is not None
    return sent.msg_data_id


def days_passing() -> Iterator[Callable[..., None]]:
    """Body of a ``days_pass`` fixture: ``days_pass(box, n)`` makes ``n`` days go by on the
    sandbox's clock and the product's; the product's is back to real time afterwards."""

    def go(box, days: float) -> None:
        box.flush()
        box.advance_clock(days * DAY)
        clock.set_now(clock.now() + timedelta(days=days))

    try:
        yield go
    finally:
        clock.reset()


def send_article_campaign(box, *, name: str = "沙发图文", title: str = "三人沙发到店"):
    """A news campaign of a seeded account taken through lint, dry run and approval, and
    delivered to the sandbox's followers as a mass send of its draft; returns it."""
    from django.utils import timezone

    from fencun.campaigns import delivery, planning, services
    from fencun.campaigns.models import Campaign, OutboxItem
    from fencun.campaigns.seeding import seed_account
    from fencun.catalog.models import Category
    from fencun.channels.services import wechat_client

    account = seed_account(box)
    category = Category.objects.get(account=account, key="sofa")
    campaign = services.create_campaign(account, name=name, category=category, title=title,
                                        body="头层牛皮三人位，周末到店看样。",
                                        message_type=Campaign.MessageType.NEWS)
    services.lint_campaign(campaign, acknowledge_warnings=True)
    planning.dry_run(campaign, policy="blast")
    planning.approve(campaign, by="店长", scheduled_for=timezone.now())

    def client(target):
        return wechat_client(target, api_base=box.api_base, backoff=0.0, timeout=5.0)

    for _ in range(20):
        delivery.run_scheduler("sched")
        delivery.work("w", client_factory=client)
        OutboxItem.objects.filter(status="pending").update(not_before=None)
        if not delivery.has_work():
            break
    box.flush()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    return campaign


def track_click_and_order(campaign, *, days_ago: int = 2, amount: float = 4299.0) -> None:
    """One tracked link click and one attributed order of ``campaign`` ``days_ago`` days
    before the product's now, folded into the rollups."""
    from fencun.audience.services import NewEvent, record_events
    from fencun.insights import rollups

    at = clock.now() - timedelta(days=days_ago)
    openid = "o-tracked-reader"
    record_events(campaign.account, [
        NewEvent("link_click", openid, at, {"campaign": campaign.pk, "product": "S42"}, "test",
                 f"click-{campaign.pk}"),
        NewEvent("order", openid, at + timedelta(minutes=30),
                 {"campaign": campaign.pk, "amount": amount, "order_id": f"A{campaign.pk}"}, "test",
                 f"order-{campaign.pk}"),
    ])
    rollups.run(lag=0)
