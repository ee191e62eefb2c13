"""The campaign lifecycle: allowed moves, bad input refused with nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fencun.campaigns import delivery, planning, services
from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot, Rules
from fencun.campaigns.seeding import ready_campaign, seed_account
from fencun.engine.segments import SegmentError

S = Campaign.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def account(make_sandbox):
    box = make_sandbox(account_type="service", followers=30)
    return seed_account(box)


def _category(account):
    from fencun.catalog.models import Category

    return Category.objects.get(account=account, key="sofa")


def test_rules_default_to_quiet_nights_and_a_small_holdout(make_sandbox):
    from fencun.accounts.models import Account

    account = Account.objects.create(app_id="wxrules", token="t")
    rules = services.rules_for(account)
    engine = rules.as_engine_rules()
    assert (engine.quiet_start, engine.quiet_end, engine.holdout_fraction) == ("22:00", "08:00", 0.05)
    assert Rules.objects.filter(account=account).count() == 1


def test_bad_segment_points_at_the_token_and_creates_nothing(account):
    with pytest.raises(SegmentError) as err:
        services.create_campaign(
            account, name="坏筛选", category=_category(account), segment="tag:vip and ))"
        )
    assert (err.value.column, err.value.token) == (13, ")")
    assert Campaign.objects.count() == 0


def test_changing_to_a_bad_segment_keeps_the_old_one(account):
    campaign = services.create_campaign(account, name="a", category=_category(account))
    with pytest.raises(SegmentError):
        services.update_segment(campaign, "recency <")
    campaign.refresh_from_db()
    assert campaign.segment == "" and campaign.status == S.DRAFT


def test_lint_errors_keep_the_campaign_a_draft(account):
    campaign = services.create_campaign(
        account, name="a", category=_category(account), title="全网最低价 国家级顶级沙发", body="x"
    )
    findings = services.lint_campaign(campaign)
    assert any(f.severity == "error" for f in findings)
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT


def test_a_draft_cannot_be_approved_or_planned(account):
    campaign = services.create_campaign(account, name="a", category=_category(account))
    with pytest.raises(services.CampaignError):
        planning.dry_run(campaign)
    with pytest.raises(services.CampaignError):
        planning.approve(campaign, by="店长")
    assert OutboxItem.objects.count() == 0 and PlanSnapshot.objects.count() == 0


def test_dry_run_shows_reach_hold_backs_and_send_to_all(account):
    campaign = services.create_campaign(account, name="a", category=_category(account), body="你好")
    services.lint_campaign(campaign, acknowledge_warnings=True)
    snap = planning.dry_run(campaign)
    assert snap.audience == 30
    assert snap.reach + sum(snap.held_back.values()) == snap.audience
    assert snap.send_to_all["reach"] >= snap.reach
    # The dial's values, and the one the plan was made at if it is not among them.
    assert {d["follower_value_yuan"] for d in snap.dial_effect} >= set(planning.DIAL_VALUES_YUAN)
    assert len(snap.dial_effect) <= len(planning.DIAL_VALUES_YUAN) + 1
    campaign.refresh_from_db()
    assert campaign.status == S.PLANNED


def test_approval_writes_every_planned_recipient_to_the_outbox_once(account):
    campaign = ready_campaign(account)
    snap = campaign.plans.latest()
    assert campaign.status == S.SCHEDULED and campaign.approved_by == "店长"
    assert sorted(services.recipients_of(campaign, sent_only=False)) == sorted(snap.recipients)
    keys = list(OutboxItem.objects.values_list("clientmsgid", flat=True))
    assert len(keys) == len(set(keys))


def test_approving_twice_is_refused_and_adds_no_rows(account):
    campaign = ready_campaign(account)
    rows = OutboxItem.objects.count()
    with pytest.raises(services.CampaignError):
        planning.approve(campaign, by="someone")
    assert OutboxItem.objects.count() == rows


def test_a_stale_schedule_is_paused_with_a_reason_not_sent(account):
    campaign = ready_campaign(account, scheduled_for=timezone.now() - timedelta(hours=5))
    assert delivery.run_scheduler("s1") == []
    campaign.refresh_from_db()
    assert campaign.status == S.PAUSED and "请确认" in campaign.pause_reason
    assert delivery.claim("w1") is None


def test_urgent_campaigns_are_claimed_first(account):
    calm = ready_campaign(account, name="calm")
    urgent = ready_campaign(account, name="urgent", urgent=True)
    assert sorted(delivery.run_scheduler("s1")) == sorted([calm.pk, urgent.pk])
    item = delivery.claim("w1")
    assert item is not None and item.campaign_id == urgent.pk


def test_only_one_scheduler_holds_the_lease(account):
    assert delivery.acquire_scheduler("a")
    assert not delivery.acquire_scheduler("b")
    assert delivery.acquire_scheduler("a")  # renewal
    delivery.release_scheduler("a")
    assert delivery.acquire_scheduler("b")


def test_a_claimed_row_is_not_claimed_again_until_its_lease_expires(account):
    ready_campaign(account)
    delivery.run_scheduler("s")
    first = delivery.claim("w1", lease_seconds=60)
    assert first is not None
    while (other := delivery.claim("w2", lease_seconds=60)) is not None:
        assert other.pk != first.pk
    assert delivery.reclaim_expired() == 0
    assert delivery.reclaim_expired(timezone.now() + timedelta(seconds=61)) >= 1
    again = OutboxItem.objects.get(pk=first.pk)
    assert again.status == OutboxItem.Status.PENDING and again.clientmsgid == first.clientmsgid


def test_resume_is_refused_unless_paused(account):
    campaign = ready_campaign(account)
    with pytest.raises(services.CampaignError):
        services.resume(campaign)


def test_cancel_fails_pending_rows_and_sends_nothing(account):
    campaign = ready_campaign(account)
    services.cancel(campaign)
    assert not OutboxItem.objects.filter(campaign=campaign, status="pending").exists()
    assert delivery.claim("w") is None


def test_the_shared_rate_gate_allows_the_limit_per_minute_then_says_how_long_to_wait(db):
    from fencun.campaigns import ratelimit

    at = 60_000.0 + 15  # 15 s into a minute
    assert [ratelimit.take("wx1", "mass", 3, now=at) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert ratelimit.take("wx1", "mass", 3, now=at) == pytest.approx(45.0)
    assert ratelimit.take("wx2", "mass", 3, now=at) == 0.0  # per account
    assert ratelimit.take("wx1", "mass", 3, now=at + 60) == 0.0  # next minute


def test_the_scheduler_pass_forgets_rate_windows_older_than_an_hour(db):
    import time

    from fencun.campaigns import ratelimit
    from fencun.campaigns.models import ApiRateWindow

    now = time.time()
    for minutes_ago in (0, 59, 61, 24 * 60):
        assert ratelimit.take("wx1", "mass", 60, now=now - minutes_ago * 60) == 0.0
    delivery.run_scheduler("sched")
    minutes = set(ApiRateWindow.objects.values_list("minute", flat=True))
    assert minutes == {int(now // 60), int(now // 60) - 59}
    # The current minute's count survives the pass: the limit still holds.
    assert ApiRateWindow.objects.get(minute=int(now // 60)).calls == 1
    # A process that does not hold the scheduler's lease leaves the table alone.
    ratelimit.take("wx1", "mass", 60, now=now - 3 * 3600)
    delivery.run_scheduler("someone-else")
    assert ApiRateWindow.objects.count() == 3


def test_a_refused_move_is_told_in_the_merchants_language(account):
    from django.utils import translation

    campaign = services.create_campaign(account, name="a", category=_category(account))
    with pytest.raises(services.CampaignError) as refused:
        services.transition(campaign, S.DONE)
    assert str(refused.value) == "处于「草稿」状态的活动不能变为「已完成」。"
    with translation.override("en"), pytest.raises(services.CampaignError) as refused:
        services.transition(campaign, S.DONE)
    assert str(refused.value) == "A campaign in the state Draft cannot become Done."
    services.cancel(campaign)
    with translation.override("en"), pytest.raises(services.CampaignError) as refused:
        services.update_segment(campaign, "")
    assert str(refused.value) == "The audience of a campaign in the state Cancelled can no longer change."
    campaign.refresh_from_db()
    assert campaign.status == S.CANCELLED
