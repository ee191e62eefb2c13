"""A/B title tests and news articles over real HTTP to the sandbox: each variant's
recipients get its title, the rest is held until the winner is decided and then gets the
winner's title exactly once; a subscription account's mass send refuses A/B; a news
article is uploaded once per variant and reused."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from fencun.accounts.roles import grant
from fencun.audience.models import Event, Follower
from fencun.audience.services import NewEvent, record_events
from fencun.campaigns import delivery, planning, services, variants
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.seeding import seed_account
from fencun.catalog.models import Category
from fencun.channels.services import wechat_client
from fencun.insights import outbox, rollups
from fencun.insights.services import campaign_report

S = Campaign.Status
OS = OutboxItem.Status
pytestmark = pytest.mark.django_db

TITLE_A = "秋季沙发上新"
TITLE_B = "三人位布艺沙发直降五百"
TITLE_C = "今晚八点沙发限时特价"
BODY = "新款布艺沙发到店，欢迎来看看。"


def _factory(box):
    return lambda account: wechat_client(account, api_base=box.api_base, backoff=0.0, timeout=1.0)


def _drain(box, rounds: int = 20) -> None:
    for _ in range(rounds):
        delivery.run_scheduler("sched")
        delivery.work("w", client_factory=_factory(box))
        OutboxItem.objects.filter(status=OS.PENDING).update(not_before=None)
        if not delivery.has_work():
            break


def _ab_campaign(account, *, title_variants=(TITLE_B,), split=0.5, rule="read_rate", **fields) -> Campaign:
    category = Category.objects.get(account=account, key="sofa")
    campaign = services.create_campaign(
        account, name="沙发 A/B", category=category, title=TITLE_A, body=BODY,
        title_variants=list(title_variants), variant_split=split, winner_rule=rule, **fields,
    )
    services.lint_campaign(campaign, acknowledge_warnings=True)
    planning.dry_run(campaign, policy="blast")
    planning.approve(campaign, by="店长", scheduled_for=timezone.now())
    campaign.refresh_from_db()
    return campaign


def _recipients(campaign, variant: str) -> list[str]:
    out: list[str] = []
    for ids in OutboxItem.objects.filter(campaign=campaign, variant=variant).values_list("openids", flat=True):
        out.extend(ids)
    return out


def _outcomes(account, campaign, kind: str, openids: list[str]) -> None:
    at = timezone.now()
    record_events(account, [
        NewEvent(kind, o, at, {"campaign": campaign.pk}, "test", f"{kind}:{campaign.pk}:{o}") for o in openids
    ])


def _titles_by_openid(box, kind: str = "mass") -> dict[str, list[str]]:
    box.flush()
    out: dict[str, list[str]] = {}
    for d in box.deliveries(kind=kind):
        out.setdefault(d["openid"], []).append(d["title"])
    return out


def test_the_split_is_reproducible_and_follows_the_share():
    openids = [f"o{i:05d}" for i in range(6000)]
    first = [variants.assign(7, o, 0.3, 3) for o in openids]
    assert first == [variants.assign(7, o, 0.3, 3) for o in openids]
    counts = Counter(first)
    assert counts[variants.REST] / 6000 == pytest.approx(0.7, abs=0.03)
    for letter in "ABC":
        assert counts[letter] / 6000 == pytest.approx(0.1, abs=0.02)
    # Another campaign splits the same followers differently.
    assert first != [variants.assign(8, o, 0.3, 3) for o in openids]


def test_approval_writes_each_variant_and_holds_the_rest(make_sandbox):
    box = make_sandbox(account_type="service", followers=300)
    campaign = _ab_campaign(seed_account(box), title_variants=(TITLE_B, TITLE_C), split=0.6)
    rows = OutboxItem.objects.filter(campaign=campaign)
    planned = planning.PlanSnapshot.objects.filter(campaign=campaign).latest().recipients
    by_openid = {o: item.variant for item in rows for o in item.openids}
    assert sorted(by_openid) == sorted(planned), "every planned recipient in exactly one row"
    assert sum(len(item.openids) for item in rows) == len(planned)
    for openid, variant in by_openid.items():
        assert variant == variants.assign(campaign.pk, openid, 0.6, 3)
    assert {r.variant for r in rows} == {"A", "B", "C", variants.REST}
    assert all(r.status == OS.HELD for r in rows if r.variant == variants.REST)
    assert all(r.status == OS.PENDING for r in rows if r.variant != variants.REST)
    assert len(_recipients(campaign, variants.REST)) / len(planned) == pytest.approx(0.4, abs=0.1)


@pytest.mark.parametrize(("rule", "expected"), [("read_rate", "A"), ("click_rate", "B")])
def test_each_variant_gets_its_title_and_the_rest_gets_the_winner_once(make_sandbox, client, rule, expected):
    box = make_sandbox(account_type="service", followers=200, retry_too_fast_seconds=0)
    account = seed_account(box)
    campaign = _ab_campaign(account, split=0.5, rule=rule)
    a, b, rest = (_recipients(campaign, v) for v in ("A", "B", variants.REST))
    assert a and b and rest

    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.SENDING, "the held rest keeps the campaign open"
    titles = _titles_by_openid(box)
    assert set(titles) == set(a) | set(b), "only the test parts were sent"
    assert all(t == [f"{TITLE_A}\n\n{BODY}"] for o, t in titles.items() if o in a)
    assert all(t == [f"{TITLE_B}\n\n{BODY}"] for o, t in titles.items() if o in b)

    # A reads more, B's links are clicked more.
    _outcomes(account, campaign, "read", a[: len(a) // 2] + b[:2])
    _outcomes(account, campaign, "link_click", a[:1] + b[: len(b) // 2])
    start = timezone.now()
    assert delivery.run_scheduler("sched", now=start + timedelta(minutes=60)) == []
    assert not Campaign.objects.get(pk=campaign.pk).ab_winner, "not before the test period is over"
    delivery.work("w", client_factory=_factory(box))
    assert OutboxItem.objects.filter(campaign=campaign, status=OS.HELD).count() >= 1

    delivery.run_scheduler("sched", now=start + timedelta(minutes=121))
    campaign.refresh_from_db()
    assert (campaign.ab_winner, campaign.ab_decided_at is not None) == (expected, True)
    assert set(campaign.ab_results) == {"A", "B"}
    assert not OutboxItem.objects.filter(campaign=campaign, status=OS.HELD).exists()
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    winner_title = {"A": TITLE_A, "B": TITLE_B}[expected]
    titles = _titles_by_openid(box)
    assert set(titles) == set(a) | set(b) | set(rest), "nobody lost"
    assert max(len(t) for t in titles.values()) == 1, "nobody twice"
    assert all(titles[o] == [f"{winner_title}\n\n{BODY}"] for o in rest)

    # A second decision pass and more work change nothing.
    delivery.run_scheduler("sched", now=start + timedelta(minutes=300))
    delivery.work("w", client_factory=_factory(box))
    box.flush()
    assert len(box.deliveries(kind="mass")) == len(titles)

    # Insights: each delivery carries its variant; the report shows the test and the winner.
    outbox.sync()
    delivered = Event.objects.filter(kind="delivery", payload__campaign=campaign.pk)
    variant_of = {e.openid: e.payload["variant"] for e in delivered}
    assert {variant_of[o] for o in a} == {"A"} and {variant_of[o] for o in b} == {"B"}
    assert {variant_of[o] for o in rest} == {f"rest:{expected}"}
    rollups.run(lag=0)
    report = campaign_report(campaign)
    assert sorted(v.arm for v in report.variants) == ["A", "B"]
    assert (report.winner, report.winner_rule) == (expected, rule)
    assert report.titles == {"A": TITLE_A, "B": TITLE_B}
    assert report.sent == len(a) + len(b) + len(rest)
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, campaign.account, "analyst")  # reading a report needs no more
    client.force_login(user)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/campaigns/{campaign.pk}/report/").content.decode()
    assert "胜出规则" in page and f"{expected} ★" in page
    assert {"read_rate": "阅读率", "click_rate": "点击率"}[rule] in page


def test_customer_service_variants_on_a_subscription_account(make_sandbox):
    box = make_sandbox(account_type="subscription", followers=60, retry_too_fast_seconds=0)
    account = seed_account(box)
    openids = list(Follower.objects.filter(account=account).values_list("openid", flat=True))
    # Every follower wrote in just now: the 48-hour window is open on both sides.
    box.post_events([{"kind": "text", "openid": o, "content": "沙发还有吗"} for o in openids])
    now = timezone.now()
    record_events(account, [NewEvent("text", o, now, {"content": "沙发还有吗"}, "test", f"t:{o}") for o in openids])
    Follower.objects.filter(account=account).update(last_interaction_at=now)
    campaign = _ab_campaign(account, split=0.5, channel=Campaign.Channel.CUSTOMER_SERVICE)
    a, b, rest = (_recipients(campaign, v) for v in ("A", "B", variants.REST))
    assert a and b and rest
    _drain(box)
    _outcomes(account, campaign, "read", b)
    delivery.run_scheduler("sched", now=timezone.now() + timedelta(minutes=121))
    _drain(box)
    campaign.refresh_from_db()
    assert (campaign.ab_winner, campaign.status) == ("B", S.DONE)
    titles = _titles_by_openid(box, kind="custom")
    assert max(len(t) for t in titles.values()) == 1
    assert all(titles[o] == [f"{TITLE_A}\n\n{BODY}"] for o in a)
    assert all(titles[o] == [f"{TITLE_B}\n\n{BODY}"] for o in b + rest)


def test_a_subscription_mass_send_refuses_ab_at_creation_and_changes_nothing(make_sandbox):
    box = make_sandbox(account_type="subscription", followers=20)
    account = seed_account(box)
    category = Category.objects.get(account=account, key="sofa")
    with pytest.raises(services.CampaignError, match="订阅号每天只能群发一次"):
        services.create_campaign(account, name="沙发 A/B", category=category, title=TITLE_A, body=BODY,
                                 title_variants=[TITLE_B], variant_split=0.2)
    assert not Campaign.objects.exists()


def test_a_subscription_mass_send_refuses_ab_at_approval_and_changes_nothing(make_sandbox):
    box = make_sandbox(account_type="subscription", followers=20)
    account = seed_account(box)
    category = Category.objects.get(account=account, key="sofa")
    campaign = services.create_campaign(account, name="沙发", category=category, title=TITLE_A, body=BODY)
    services.lint_campaign(campaign, acknowledge_warnings=True)
    planning.dry_run(campaign, policy="blast")
    Campaign.objects.filter(pk=campaign.pk).update(title_variants=[TITLE_B], variant_split=0.3)
    with pytest.raises(services.CampaignError, match="订阅号"):
        planning.approve(campaign, by="店长", scheduled_for=timezone.now())
    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by) == (S.PLANNED, "")
    assert not OutboxItem.objects.filter(campaign=campaign).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title_variants": [TITLE_B]}, "比例"),
        ({"variant_split": 0.2}, "备选标题"),
        ({"title_variants": [TITLE_A], "variant_split": 0.2}, "重复"),
        ({"title_variants": [TITLE_B], "variant_split": 0.2, "winner_rule": "likes"}, "胜出规则"),
        ({"title_variants": [TITLE_B], "variant_split": 0.2, "message_type": "image"}, "图片"),
        ({"title_variants": [TITLE_B], "variant_split": 0.2, "message_type": "news", "media_id": "m"}, "media_id"),
    ],
)
def test_ab_settings_that_cannot_run_are_refused(make_sandbox, fields, message):
    box = make_sandbox(account_type="service", followers=5)
    account = seed_account(box)
    category = Category.objects.get(account=account, key="sofa")
    with pytest.raises(services.CampaignError, match=message):
        services.create_campaign(account, name="x", category=category, title=TITLE_A, body=BODY, **fields)
    assert not Campaign.objects.exists()


def test_cancel_fails_the_held_rest(make_sandbox):
    box = make_sandbox(account_type="service", followers=40)
    campaign = _ab_campaign(seed_account(box), split=0.5)
    services.cancel(campaign)
    assert not OutboxItem.objects.filter(campaign=campaign, status__in=(OS.HELD, OS.PENDING)).exists()


def _calls(box, path: str) -> int:
    with box.platform.lock:
        return box.platform.calls[path]


def test_every_batch_sends_a_draft_of_its_own_and_a_reclaim_sends_the_same_one(make_sandbox):
    box = make_sandbox(account_type="service", followers=120, retry_too_fast_seconds=0)
    account = seed_account(box)
    campaign = _ab_campaign(account, split=0.5, message_type=Campaign.MessageType.NEWS)
    # A token shared with earlier runs (Redis) may be stale: one call to take a fresh one
    # first, so that no call below is repeated for its token.
    _factory(box)(account).list_tags()
    # The first row's send fails after its draft was made (busy, past the client's
    # retries): the row is released and taken again, and sends the draft it stored.
    box.set_faults([{"path": "/cgi-bin/message/mass/send", "action": "error", "errcode": -1, "times": 3}])
    _drain(box)
    rows = list(OutboxItem.objects.filter(campaign=campaign, variant__in=("A", "B")))
    assert len(rows) == 2 and all(r.media_id for r in rows)
    assert _calls(box, "/cgi-bin/draft/add") == 2, "one draft per row, none again on the reclaim"
    assert _calls(box, "/cgi-bin/material/add_material") == 1, "the cover is added once"
    assert OutboxItem.objects.filter(campaign=campaign, variant="A").first().attempts == 2
    with box.platform.lock:
        assert not set(r.media_id for r in rows) & set(box.platform.drafts), "a sent draft leaves the box"

    _outcomes(account, campaign, "read", _recipients(campaign, "B"))
    delivery.run_scheduler("sched", now=timezone.now() + timedelta(minutes=121))
    _drain(box)
    rest = OutboxItem.objects.filter(campaign=campaign, variant__startswith="rest")
    assert _calls(box, "/cgi-bin/draft/add") == 2 + rest.count()
    assert _calls(box, "/cgi-bin/material/add_material") == 1
    titles = _titles_by_openid(box)
    assert max(len(t) for t in titles.values()) == 1
    assert all(titles[o] == [TITLE_B] for o in _recipients(campaign, "rest:B"))
    assert all(titles[o] == [TITLE_A] for o in _recipients(campaign, "A"))


def test_a_news_campaign_without_media_sends_a_draft_with_its_cover(make_sandbox):
    box = make_sandbox(account_type="subscription", followers=30, retry_too_fast_seconds=0)
    account = seed_account(box)
    category = Category.objects.get(account=account, key="sofa")
    campaign = services.create_campaign(account, name="沙发图文", category=category, title=TITLE_A, body=BODY,
                                        message_type=Campaign.MessageType.NEWS)
    services.lint_campaign(campaign, acknowledge_warnings=True)
    planning.dry_run(campaign, policy="blast")
    planning.approve(campaign, by="店长", scheduled_for=timezone.now())
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE and campaign.cover_media_id
    with box.platform.lock:
        assert box.platform.materials[campaign.cover_media_id]["type"] == "thumb"  # permanent
    assert _calls(box, "/cgi-bin/media/uploadnews") == 0
    box.flush()
    sent = box.deliveries(kind="mass")
    assert sent and {(d["msgtype"], d["title"]) for d in sent} == {("mpnews", TITLE_A)}


def test_a_decision_in_quiet_hours_sends_the_rest_when_they_end(make_sandbox):
    from zoneinfo import ZoneInfo

    from fencun.campaigns.models import Rules

    box = make_sandbox(account_type="service", followers=80, retry_too_fast_seconds=0)
    account = seed_account(box)
    campaign = _ab_campaign(account, split=0.5)
    _drain(box)
    decided_at = timezone.now() + timedelta(minutes=121)
    local = decided_at.astimezone(ZoneInfo("Asia/Shanghai"))
    start, end = local - timedelta(minutes=30), local + timedelta(minutes=90)
    Rules.objects.filter(account=account).update(quiet_start=f"{start:%H:%M}", quiet_end=f"{end:%H:%M}")
    delivery.run_scheduler("sched", now=decided_at)
    rest = OutboxItem.objects.filter(campaign=campaign, variant__startswith="rest")
    assert rest and all(r.status == OS.PENDING for r in rest)
    expected = end.replace(second=0, microsecond=0)
    assert all(r.not_before == expected for r in rest)
    delivery.work("w", client_factory=_factory(box))
    assert all(r.status == OS.PENDING for r in rest.all()), "nothing goes out in the quiet hours"


def test_a_test_of_the_whole_audience_holds_nobody_and_still_names_its_winner(make_sandbox):
    box = make_sandbox(account_type="service", followers=60, retry_too_fast_seconds=0)
    account = seed_account(box)
    campaign = _ab_campaign(account, split=1.0)
    assert not OutboxItem.objects.filter(campaign=campaign, variant__startswith="rest").exists()
    _drain(box)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.ab_winner) == (S.DONE, "")
    _outcomes(account, campaign, "read", _recipients(campaign, "B"))
    delivery.run_scheduler("sched", now=timezone.now() + timedelta(minutes=121))
    campaign.refresh_from_db()
    assert (campaign.status, campaign.ab_winner) == (S.DONE, "B")
    assert len(_titles_by_openid(box)) == len(_recipients(campaign, "A")) + len(_recipients(campaign, "B"))


def _thumbs(box) -> list[dict]:
    with box.platform.lock:
        return [m for m in box.platform.materials.values() if m["type"] == "thumb"]


@pytest.mark.parametrize("cover", [None, b"\xff\xd8\xff\xe0" + b"merchant's cover" * 100])
def test_a_news_article_goes_out_with_the_merchants_cover_or_a_plain_jpeg(make_sandbox, cover):
    from fencun.channels.wechat.covers import plain_cover

    box = make_sandbox(account_type="service", followers=30, retry_too_fast_seconds=0)
    account = seed_account(box)
    campaign = _ab_campaign(account, title_variants=(), split=0, message_type=Campaign.MessageType.NEWS,
                            cover=cover)
    delivery.run_scheduler("sched")
    delivery.work("w", client_factory=_factory(box))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    (thumb,) = _thumbs(box)
    assert thumb["data"] == (cover or plain_cover()) and thumb["data"].startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize(("cover", "why"), [(b"\x89PNG\r\n\x1a\n" + b"0" * 100, "JPG"),
                                            (b"\xff\xd8\xff" + b"0" * (64 * 1024), "64 KB")])
def test_a_cover_wechat_would_refuse_is_refused_when_the_campaign_is_saved(make_sandbox, cover, why):
    box = make_sandbox(account_type="service", followers=2)
    account = seed_account(box)
    with pytest.raises(services.CampaignError, match=why):
        services.create_campaign(account, name="封面", category=Category.objects.get(account=account, key="sofa"),
                                 title="新品", body="到店", message_type="news", cover=cover)
    assert not Campaign.objects.exists()
