"""Rollups equal a direct recount of the event log; the report and the overview read them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import sized

from fencun.audience.models import Event
from fencun.audience.services import NewEvent, record_events
from fencun.engine.clock import SHANGHAI
from fencun.insights import rollups, services
from fencun.insights.models import CampaignArm, CampaignMember, DailyCount, Watermark

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
KINDS = ["subscribe", "unsubscribe", "text", "delivery", "holdout", "read", "link_click", "order"]

event_st = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 5),  # follower
    st.integers(1, 3),  # campaign
    st.integers(0, 14 * 24),  # hours after T0
    st.integers(0, 500),  # amount
)


def _store(account, specs, start=0):
    new = []
    for i, (kind, f, c, h, amount) in enumerate(specs, start=start):
        payload: dict = {}
        if kind in ("delivery", "holdout", "read", "link_click", "order"):
            payload["campaign"] = c
        if kind == "order":
            payload["amount"] = float(amount)
        if kind == "delivery":
            payload["variant"] = "AB"[f % 2]
        new.append(NewEvent(kind, f"o{f}", T0 + timedelta(hours=h), payload, "test", f"k{i}"))
    record_events(account, new)


def _recount(account):
    """The figures straight from the event log, the slow way."""
    daily = Counter()
    amounts = Counter()
    for e in Event.objects.filter(account=account):
        day = e.occurred_at.astimezone(SHANGHAI).date()
        daily[(day, e.kind)] += 1
        if e.kind == "order":
            amounts[day] += e.payload.get("amount", 0)
    members: dict[tuple[int, str], tuple[str, datetime]] = {}
    for e in Event.objects.filter(account=account, kind__in=["delivery", "holdout"]).order_by("id"):
        key = (e.payload["campaign"], e.openid)
        if key not in members:
            arm = "holdout" if e.kind == "holdout" else e.payload["variant"]
            members[key] = (arm, e.occurred_at)
    arms = Counter()
    window = timedelta(days=7)
    log = list(Event.objects.filter(account=account).order_by("id"))
    for (c, openid), (arm, sent_at) in members.items():
        arms[(c, arm, "members")] += 1
        mine = [e for e in log if e.openid == openid]
        # outcomes count for a member only when they come after it joined (in log order)
        joined = next(e.id for e in mine if e.kind in ("delivery", "holdout") and e.payload["campaign"] == c)
        later = [e for e in mine if e.id > joined]
        outcome = [e for e in later if e.payload.get("campaign") == c]
        arms[(c, arm, "read")] += any(e.kind == "read" for e in outcome)
        arms[(c, arm, "clicked")] += any(e.kind == "link_click" for e in outcome)
        orders = [e for e in outcome if e.kind == "order"]
        arms[(c, arm, "converters")] += bool(orders)
        arms[(c, arm, "revenue")] += sum(e.payload["amount"] for e in orders)
        unsubs = [e for e in later if e.kind == "unsubscribe"]
        arms[(c, arm, "unfollowed")] += any(sent_at <= e.occurred_at <= sent_at + window for e in unsubs)
    return daily, amounts, arms


def _rolled(account):
    daily = Counter()
    amounts = Counter()
    for r in DailyCount.objects.filter(account=account, campaign_id=0):
        daily[(r.day, r.kind)] += r.count
        if r.kind == "order":
            amounts[r.day] += r.amount
    arms = Counter()
    for a in CampaignArm.objects.filter(account=account):
        for name in ("members", "read", "clicked", "converters", "revenue", "unfollowed"):
            arms[(a.campaign_id, a.arm, name)] += getattr(a, name)
    return daily, amounts, arms


def _clean(counter):
    return {k: v for k, v in counter.items() if v}


@pytest.mark.django_db
@settings(max_examples=sized(20, 10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(event_st, max_size=40), split=st.integers(0, 40), batch=st.integers(1, 7))
def test_rollups_equal_a_direct_recount(make_account, specs, split, batch):
    Event.objects.all().delete()
    for model in (DailyCount, CampaignArm, CampaignMember, Watermark):
        model.objects.all().delete()
    from fencun.accounts.models import Account

    account = Account.objects.first() or make_account()
    # Some events, a run in small batches, more events, another run, then a run with nothing new.
    _store(account, specs[:split])
    rollups.run(batch_size=batch, lag=0)
    _store(account, specs[split:], start=split)
    rollups.run(batch_size=batch, lag=0)
    assert rollups.run(lag=0) == 0
    daily, amounts, arms = _recount(account)
    r_daily, r_amounts, r_arms = _rolled(account)
    assert _clean(r_daily) == _clean(daily)
    assert _clean(r_amounts) == pytest.approx(_clean(amounts))
    assert _clean(r_arms) == pytest.approx(_clean(arms))


@pytest.mark.django_db
def test_a_second_run_counts_nothing_twice(make_account):
    account = make_account()
    _store(account, [("subscribe", 1, 0, 1, 0), ("order", 1, 1, 2, 30)])
    assert rollups.run(lag=0) == 2
    assert rollups.run(lag=0) == 0
    assert DailyCount.objects.get(campaign_id=0, kind="order").count == 1


@pytest.mark.django_db
def test_campaign_report_and_receipts(make_account):
    account = make_account()
    services.record_deliveries(account, 3, [f"o{i}" for i in range(10)], T0, variant="A", msg_id="1000")
    services.record_deliveries(account, 3, [f"o{i}" for i in range(10, 20)], T0, variant="B", msg_id="1000")
    services.record_deliveries(account, 3, [f"h{i}" for i in range(10)], T0, holdout=True)
    from fencun.audience.services import record_event

    record_event(account, kind="masssendjobfinish", openid="gh", occurred_at=T0 + timedelta(minutes=5),
                 payload={"msg_id": "1000", "status": "send success", "raw": {"SentCount": "19"}},
                 source="wechat", dedup_key="r1")
    for i, kind in enumerate(["read", "read", "link_click", "order"]):
        payload = {"campaign": 3, "amount": 100.0} if kind == "order" else {"campaign": 3}
        record_event(account, kind=kind, openid=f"o{i}", occurred_at=T0 + timedelta(hours=1), payload=payload,
                     source="test", dedup_key=f"x{i}")
    record_event(account, kind="unsubscribe", openid="o11", occurred_at=T0 + timedelta(days=2), payload={},
                 source="test", dedup_key="u1")
    record_event(account, kind="unsubscribe", openid="o12", occurred_at=T0 + timedelta(days=9), payload={},
                 source="test", dedup_key="u2")
    rollups.run(lag=0)
    report = services.campaign_report(3)
    assert (report.sent, report.delivered, report.holdout) == (20, 19, 10)
    assert (report.read, report.clicked, report.ordered, report.revenue) == (2, 1, 1, 100.0)
    assert report.unfollowed == 1  # the one after 9 days is outside the window
    assert [v.arm for v in report.variants] == ["A", "B"]
    assert report.lift is not None
    assert report.lift.conversion == pytest.approx(1 / 20)
    assert report.lift.conversion_ci[0] < 0 < report.lift.conversion_ci[1]  # 1 order in 20 proves nothing
    assert report.as_dict()["campaign_id"] == 3


@pytest.mark.django_db
def test_overview_reads_the_rollups(make_account):
    from django.utils import timezone

    account = make_account()
    now = timezone.now()
    _store(account, [])
    record_events(account, [
        NewEvent("subscribe", f"o{i}", now - timedelta(days=2), {}, "test", f"s{i}") for i in range(5)
    ] + [NewEvent("unsubscribe", "o0", now - timedelta(days=1), {}, "test", "u0")])
    services.record_deliveries(account, 1, ["o1", "o2"], now - timedelta(hours=3))
    services.record_deliveries(account, 1, ["o3"], now - timedelta(hours=3), holdout=True)
    record_events(account, [NewEvent("order", "o1", now - timedelta(hours=1), {"campaign": 1, "amount": 50.0},
                                     "test", "ord")])
    services.record_hold_backs(account, 1, now, {"cap": 3, "quiet_hours": 1})
    services.record_hold_backs(account, 1, now, {"cap": 2, "quiet_hours": 1})  # a re-plan replaces
    rollups.run(lag=0)
    assert services.campaign_report(1).held_back == {"cap": 2, "quiet_hours": 1}
    view = services.overview(account, days=30)
    assert view.followers == 4
    assert (view.subscribes, view.unsubscribes, view.net_growth) == (5, 1, 4)
    assert (view.sent, view.held_back, view.orders) == (2, 1 + 3, 1)
    assert view.revenue == view.revenue_attributed == 50.0
    assert view.revenue_incremental == pytest.approx(50.0)  # 2 × (25 − 0)
    assert view.pressure == {"0": 2, "1": 2, "2": 0, "3": 0, "4+": 0}
    # The last 30 full days and today: a month that ended yesterday is whole in it.
    assert len(view.days) == 31 and view.days[-1].day == timezone.localtime(now, SHANGHAI).date()
    assert view.days[0].day == view.days[-1].day - timedelta(days=30)


@pytest.mark.django_db
def test_the_report_says_what_the_push_cost_and_what_holding_back_saved(make_account):
    from django.utils import timezone

    from fencun.campaigns.models import PlanSnapshot
    from fencun.campaigns.services import create_campaign
    from fencun.catalog.models import Category

    account = make_account()
    category = Category.objects.create(account=account, key="sofa", name="沙发")
    campaign = create_campaign(account, name="沙发上新", category=category)
    sent = [f"s{i}" for i in range(200)]
    services.record_deliveries(account, campaign.pk, sent, T0)
    services.record_deliveries(account, campaign.pk, [f"h{i}" for i in range(200)], T0, holdout=True)
    # 20 of those sent unfollow within the window, 2 of the holdout: about 18 lost to the push.
    record_events(account, [
        NewEvent("unsubscribe", o, T0 + timedelta(hours=5), {}, "test", f"u-{o}")
        for o in [*sent[:20], "h0", "h1"]
    ])
    assert services.campaign_report(campaign).restraint is None  # nothing approved yet
    PlanSnapshot.objects.create(
        campaign=campaign, planned_for=T0, reach=200, audience=1000, approved_at=timezone.now(),
        predicted={"reach": 200, "revenue": 900.0, "unfollows": 3.2},
        send_to_all={"reach": 1000, "revenue": 700.0, "unfollows": 15.7},
    )
    PlanSnapshot.objects.create(  # a later dry run, never approved, does not count
        campaign=campaign, planned_for=T0, reach=10, audience=1000,
        predicted={"reach": 10, "revenue": 1.0, "unfollows": 0.1},
        send_to_all={"reach": 1000, "revenue": 700.0, "unfollows": 15.7},
    )
    rollups.run(lag=0)
    report = services.campaign_report(campaign)
    lift = report.lift
    assert lift is not None
    assert lift.unfollow_rate == pytest.approx(18 / 200)
    assert lift.unfollows_caused == pytest.approx(18.0)
    low, high = lift.unfollows_caused_ci
    assert 0 < low < 18 < high
    assert lift.incremental_revenue_ci == (0.0, 0.0)  # nobody bought in either arm
    assert report.restraint == services.Restraint(left_out=800, unfollows_spared=12.5, revenue_given_up=-200.0)
    assert report.as_dict()["restraint"]["left_out"] == 800
