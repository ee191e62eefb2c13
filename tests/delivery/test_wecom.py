"""WeCom campaigns: planned by the engine, written to the outbox, sent through the WeCom
sandbox over HTTP, each customer once; and one attention budget per person across the
Official Account and WeCom."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from fencun.audience.models import Follower
from fencun.campaigns import delivery, planning, services
from fencun.campaigns.models import Campaign, OutboxItem, Rules
from fencun.campaigns.seeding import ready_campaign, seed_account, seed_wecom
from fencun.catalog.models import Category
from fencun.channels.costs import costs
from fencun.channels.models import ExternalContact, WecomCorp
from fencun.channels.services import wechat_client
from fencun.channels.wecom import people
from fencun.channels.wecom.ledger import wecom_client
from fencun.engine import reasons as R
from fencun.insights import outbox, rollups
from fencun.insights.services import campaign_report

S = Campaign.Status
pytestmark = pytest.mark.django_db
SHARED = 10  # followers who are also WeCom customers


@pytest.fixture
def world(make_sandbox, make_wecom_sandbox):
    """A service account with 40 followers and a corp with 30 customers, the first 10 of
    whom are followers too (same unionid)."""
    box = make_sandbox(account_type="service", followers=40, retry_too_fast_seconds=0)
    account = seed_account(box)
    openids = sorted(Follower.objects.filter(account=account).values_list("openid", flat=True))
    for n, openid in enumerate(openids[:SHARED]):
        Follower.objects.filter(openid=openid).update(unionid=f"u-shared-{n}")
    wbox = make_wecom_sandbox(contacts=30, shared_unionids=tuple(f"u-shared-{n}" for n in range(SHARED)))
    seed_wecom(account, wbox, _wecom_factory(wbox)())
    return account, box, wbox, openids[:SHARED]


def _wecom_factory(wbox):
    from fencun.channels.wecom.client import WeComClient

    def make(corp=None):
        from fencun.channels.wecom.ledger import DatabaseDispatchLedger

        return WeComClient(
            wbox.config.corp_id,
            wbox.config.secret,
            api_base=wbox.api_base,
            ledger=DatabaseDispatchLedger(corp) if corp is not None else None,
            backoff=0.0,
            timeout=5.0,
        )

    return make


def _clients(box, wbox):
    wecom = _wecom_factory(wbox)

    def factory(target):
        if isinstance(target, WecomCorp):
            return wecom(target)
        return wechat_client(target, api_base=box.api_base, backoff=0.0, timeout=2.0)

    return factory


def _drain(box, wbox, rounds: int = 10) -> None:
    for _ in range(rounds):
        delivery.run_scheduler("sched")
        delivery.work("w", client_factory=_clients(box, wbox))
        OutboxItem.objects.filter(status="pending").update(not_before=None)
        if not delivery.has_work():
            break


def _wecom_received(wbox) -> Counter[str]:
    """external_userid -> mass tasks that name them, across every task in the sandbox."""
    with wbox.platform.lock:
        return Counter(
            ext for task in wbox.platform.mass.values() for ids in task.targets.values() for ext in ids
        )


def _rules(account, **fields):
    Rules.objects.filter(account=account).update(**fields)


def test_a_wecom_campaign_reaches_every_customer_once_and_shares_the_budget(world):
    account, box, wbox, shared = world
    corp = people.campaign_corp(account)
    contacts = people.person_keys(corp)
    assert sum(1 for key in contacts.values() if not key.startswith(people.PREFIX)) == SHARED
    campaign = ready_campaign(account, name="企微上新", channel=Campaign.Channel.WECOM)
    plan = campaign.plans.latest("created_at")
    assert plan.delivery_method == "wecom_mass"
    assert sorted(plan.recipients) == sorted(contacts.values())
    # Followers who are not customers are held back by consent on this channel.
    assert plan.held_back == {R.NOT_A_CONTACT: 40 - SHARED}
    _drain(box, wbox)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    assert _wecom_received(wbox) == Counter(list(contacts))  # every customer once, no one else
    task_ids = set(OutboxItem.objects.filter(campaign=campaign).values_list("task_id", flat=True))
    assert task_ids == set(wbox.platform.mass)
    # The members confirm; the results come back into the event log as receipts.
    (msgid,) = task_ids
    wbox.confirm_mass(msgid, sorted(wbox.platform.mass[msgid].targets)[0])  # one member so far
    first = delivery.collect_wecom_results(client_factory=_clients(box, wbox))
    wbox.confirm_mass(msgid)
    rest = delivery.collect_wecom_results(client_factory=_clients(box, wbox))
    assert 0 < first < 30 and first + rest == 30
    calls = wbox.platform.calls["/cgi-bin/externalcontact/get_groupmsg_task"]
    assert delivery.collect_wecom_results(client_factory=_clients(box, wbox)) == 0  # nothing new
    assert wbox.platform.calls["/cgi-bin/externalcontact/get_groupmsg_task"] == calls  # finished: not read again
    outbox.sync()
    rollups.run(lag=0)
    assert campaign_report(campaign).delivered == 30
    (cost,) = costs(channel="wecom")
    assert (cost.count, cost.fee_yuan, cost.sends) == (30, 0, len(task_ids))
    # The same people are one person to the engine: an Official Account campaign now
    # holds back exactly the shared ones by the minimum gap.
    _rules(account, min_gap_hours=20)
    follow_up = services.create_campaign(
        account, name="公众号跟进", category=campaign.category, title="公众号跟进", body="欢迎到店。"
    )
    services.lint_campaign(follow_up, acknowledge_warnings=True)
    held = planning.dry_run(follow_up, policy="fencun").held_back
    assert held.get(R.MIN_GAP) == SHARED
    state = planning.build_state(account)
    assert all(state.pushes_within(timezone.now().timestamp() + 1, 7 * 86400)[state.index[o]] == 1 for o in shared)


@pytest.mark.parametrize("first", [Campaign.Channel.WECOM, Campaign.Channel.MASS])
def test_no_person_exceeds_the_weekly_cap_across_channels(world, first):
    account, box, wbox, shared = world
    _rules(account, weekly_cap=1)
    second = Campaign.Channel.MASS if first == Campaign.Channel.WECOM else Campaign.Channel.WECOM
    one = ready_campaign(account, name="第一次", channel=first)
    _drain(box, wbox)
    one.refresh_from_db()
    assert one.status == S.DONE
    # "capped": everyone reachable, but the merchant's weekly cap holds across channels.
    two = services.create_campaign(
        account, name="第二次", category=one.category, title="第二次", body="本周特价。", channel=second
    )
    services.lint_campaign(two, acknowledge_warnings=True)
    plan = planning.dry_run(two, policy="capped")
    assert plan.held_back.get(R.WEEKLY_CAP) == SHARED
    planning.approve(two, by="店长", scheduled_for=timezone.now())
    _drain(box, wbox)
    box.flush()
    corp = people.campaign_corp(account)
    key_of = people.person_keys(corp)
    pushes = Counter(d["openid"] for d in box.deliveries(kind="mass"))
    pushes.update(key_of[ext] for ext in _wecom_received(wbox).elements())
    assert pushes and max(pushes.values()) == 1
    assert set(shared) <= set(pushes)


def test_a_lost_answer_is_adopted_on_the_next_attempt_not_sent_again(world, monkeypatch):
    account, box, wbox, _ = world
    campaign = ready_campaign(account, name="丢失的答复", channel=Campaign.Channel.WECOM)
    real_put = delivery.RowMemo.put

    def die_after_wecom_answered(self, name, value):
        if name == "task" and not value.startswith("started:"):
            raise SystemExit("worker killed after WeCom created the task")
        return real_put(self, name, value)

    monkeypatch.setattr(delivery.RowMemo, "put", die_after_wecom_answered)
    delivery.run_scheduler("sched")
    with pytest.raises(SystemExit):
        delivery.work("w1", client_factory=_clients(box, wbox))
    assert len(wbox.platform.mass) == 1
    (row,) = OutboxItem.objects.filter(campaign=campaign)
    assert row.status == "claimed" and row.task_id.startswith("started:")
    monkeypatch.setattr(delivery.RowMemo, "put", real_put)
    # The lease runs out; another worker takes the row and finds the task WeCom made.
    OutboxItem.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    _drain(box, wbox)
    row.refresh_from_db()
    assert row.status == "sent" and row.task_id == next(iter(wbox.platform.mass))
    assert len(wbox.platform.mass) == 1
    assert max(_wecom_received(wbox).values()) == 1


def test_an_attempt_that_died_before_calling_creates_the_task_once(world):
    account, box, wbox, _ = world
    campaign = ready_campaign(account, name="未发出", channel=Campaign.Channel.WECOM)
    OutboxItem.objects.filter(campaign=campaign).update(task_id=f"started:{int(timezone.now().timestamp())}")
    _drain(box, wbox)
    assert len(wbox.platform.mass) == 1
    assert OutboxItem.objects.get(campaign=campaign).task_id == next(iter(wbox.platform.mass))


def test_wecom_campaigns_need_a_corp_and_text(make_sandbox):
    box = make_sandbox(account_type="service", followers=5)
    account = seed_account(box)
    category = Category.objects.get(account=account, key="sofa")
    with pytest.raises(services.CampaignError, match="WeCom corp"):
        services.create_campaign(account, name="x", category=category, title="x", channel="wecom")
    WecomCorp.objects.create(account=account, corp_id="ww-x", token="t", aes_key="k" * 43)
    with pytest.raises(services.CampaignError, match="image"):
        services.create_campaign(
            account, name="x", category=category, channel="wecom", message_type="image", media_id="m"
        )
    assert not Campaign.objects.exists()


def test_the_default_client_factory_builds_a_wecom_client(world):
    account, _, wbox, _ = world
    corp = people.campaign_corp(account)
    client = delivery.default_clients(corp)
    assert type(client) is type(wecom_client(corp))


def test_a_wecom_segment_by_corp_tag_plans_exactly_the_customers_with_it(world):
    from fencun.channels.models import ExternalContact, WecomTag

    account, box, wbox, _ = world
    corp = people.campaign_corp(account)
    keys = people.person_keys(corp)
    high = WecomTag.objects.get(corp=corp, name="高意向").tag_id
    tagged = {keys[c.external_userid] for c in ExternalContact.objects.filter(corp=corp) if high in c.tags}
    assert 0 < len(tagged) < 30
    category = Category.objects.get(account=account, key="sofa")
    campaign = services.create_campaign(account, name="高意向客户", category=category, title="高意向客户专享",
                                        body="到店有礼。", channel="wecom", segment="wecom_tag:高意向")
    services.lint_campaign(campaign, acknowledge_warnings=True)
    plan = planning.dry_run(campaign, policy="blast")
    assert set(plan.recipients) == tagged
    assert plan.held_back == {R.NOT_A_CONTACT: 40 - SHARED, R.SEGMENT: 30 - len(tagged)}


def test_a_wecom_news_campaign_carries_its_products_tracked_page_as_a_link_card(world, settings):
    from fencun.catalog.models import Product
    from fencun.insights.links import parse_token

    settings.PUBLIC_URL = "https://shop.example.com"
    account, box, wbox, _ = world
    sofa = Category.objects.get(account=account, key="sofa")
    product = Product.objects.create(account=account, category=sofa, sku="S42", name="三人沙发", price=4299,
                                     link_url="https://shop.example.com/p/s42")
    campaign = services.create_campaign(account, name="企微图文", category=sofa, title="三人沙发到店",
                                        body="布艺三人沙发，欢迎到店看样。", channel="wecom", message_type="news",
                                        products=[product])
    services.lint_campaign(campaign, acknowledge_warnings=True)
    planning.dry_run(campaign, policy="blast")
    planning.approve(campaign, by="店长", scheduled_for=timezone.now())
    _drain(box, wbox)
    (task,) = wbox.platform.mass.values()
    assert task.text["content"].startswith("三人沙发到店")
    (card,) = task.attachments
    token = card["link"]["url"].rstrip("/").rsplit("/", 1)[-1]
    assert (parse_token(token).campaign_id, parse_token(token).product_id) == (campaign.pk, "S42")


def test_a_customer_who_is_no_longer_a_contact_is_recorded_failed_and_the_rest_sent_once(world):
    account, box, wbox, _ = world
    corp = people.campaign_corp(account)
    contacts = people.person_keys(corp)
    campaign = ready_campaign(account, name="企微上新", channel=Campaign.Channel.WECOM)
    gone_ext = sorted(contacts)[0]
    ExternalContact.objects.filter(corp=corp, external_userid=gone_ext).update(active=False)
    _drain(box, wbox)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    assert _wecom_received(wbox) == Counter([e for e in contacts if e != gone_ext])
    (failed,) = OutboxItem.objects.filter(campaign=campaign, status="failed")
    assert failed.openids == [contacts[gone_ext]] and "no longer a contact" in failed.reason
    sent = OutboxItem.objects.filter(campaign=campaign, status="sent")
    assert contacts[gone_ext] not in [o for row in sent for o in row.openids]
