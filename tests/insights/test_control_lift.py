"""The long-run lift: the control group (the engine's own members) against everyone else,
over the period, with 95 % intervals; stored by the rollup task for the overview."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from fencun.audience.models import Event, Follower
from fencun.audience.services import NewEvent, record_events
from fencun.campaigns.models import Rules
from fencun.campaigns.planning import build_state
from fencun.engine import planner
from fencun.insights import control_lift, rollups, stats
from fencun.insights.orders import import_orders

pytestmark = pytest.mark.django_db
FOLLOWERS = 300
FRACTION = 0.2
Z = stats.Z95


def _subscribe(account, openids, at):
    record_events(account, [NewEvent("subscribe", o, at, {}, "test", f"sub:{o}") for o in openids])


def _unsubscribe(account, openids, at):
    record_events(account, [NewEvent("unsubscribe", o, at, {}, "test", f"unsub:{o}") for o in openids])


@pytest.fixture
def shop(make_account):
    """300 followers for 200 days; the control group at 20 %. Control members buy less:
    every fourth one orders 100 yuan; of everyone else every second one orders 150 yuan
    and every fifth once more 300 yuan. Three control members and 20 others unfollow."""
    account = make_account()
    Rules.objects.create(account=account, control_fraction=FRACTION)
    now = timezone.now()
    openids = [f"o-lift-{n:04d}" for n in range(FOLLOWERS)]
    _subscribe(account, openids, now - timedelta(days=200))
    state = build_state(account)
    members = {state.openids[i] for i in np.flatnonzero(planner.control_mask(state, FRACTION))}
    control = [o for o in openids if o in members]
    others = [o for o in openids if o not in members]
    rows, n = [], 0

    def order(openid, amount, days_ago):
        nonlocal n
        n += 1
        rows.append({"order_id": f"L{n}", "amount": str(amount), "openid": openid,
                     "ordered_at": (now - timedelta(days=days_ago)).isoformat()})

    for i, o in enumerate(control):
        if i % 4 == 0:
            order(o, 100, days_ago=30)
    for i, o in enumerate(others):
        if i % 2 == 0:
            order(o, 150, days_ago=20)
        if i % 5 == 0:
            order(o, 300, days_ago=40)
    order(control[1], 5000, days_ago=120)  # before the period: not counted
    import_orders(account, rows)
    _unsubscribe(account, control[:3] + others[:20], now - timedelta(days=10))
    # Joined and left before the period: not one of its followers.
    _subscribe(account, ["o-lift-gone"], now - timedelta(days=300))
    _unsubscribe(account, ["o-lift-gone"], now - timedelta(days=150))
    return account, control, others


def _expected(account, control, others):
    """Per-follower orders and revenue of each group, straight from the stored orders."""
    revenue = {o: 0.0 for o in control + others}
    count = {o: 0 for o in control + others}
    since = timezone.now() - timedelta(days=90)
    for e in Event.objects.filter(account=account, kind="order", occurred_at__gte=since):
        revenue[e.openid] += e.payload["amount"]
        count[e.openid] += 1
    return ({g: np.array([revenue[o] for o in group]) for g, group in (("c", control), ("o", others))},
            {g: np.array([count[o] for o in group], dtype=float) for g, group in (("c", control), ("o", others))})


def _welch(a, b):
    d = a.mean() - b.mean()
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return d, d - Z * se, d + Z * se


def test_membership_is_the_engines(shop):
    account, control, others = shop
    openids = control + others
    mask = control_lift.control_members(openids, FRACTION)
    assert {o for o, m in zip(openids, mask, strict=True) if m} == set(control)
    assert 0.1 < len(control) / FOLLOWERS < 0.3


def test_the_figures_and_their_intervals(shop):
    account, control, others = shop
    lift = control_lift.control_lift(account)
    assert lift.days == 90 and lift.control_fraction == FRACTION
    assert (lift.control.followers, lift.others.followers) == (len(control), len(others))
    revenue, orders = _expected(account, control, others)
    assert lift.control.revenue == pytest.approx(revenue["c"].sum())
    assert lift.others.revenue == pytest.approx(revenue["o"].sum())
    assert lift.control.orders == orders["c"].sum() and lift.others.orders == orders["o"].sum()
    assert lift.control.revenue_per_follower == pytest.approx(revenue["c"].mean())
    assert lift.others.orders_per_follower == pytest.approx(orders["o"].mean())
    assert (lift.control.unfollowed, lift.others.unfollowed) == (3, 20)
    assert lift.control.unfollow_rate == pytest.approx(3 / len(control))

    d = lift.revenue_per_follower
    assert (d.estimate, d.low, d.high) == pytest.approx(_welch(revenue["o"], revenue["c"]))
    assert d.low > 0  # marketing's followers clearly bought more here
    d = lift.orders_per_follower
    assert (d.estimate, d.low, d.high) == pytest.approx(_welch(orders["o"], orders["c"]))
    u = stats.newcombe_difference(20, len(others), 3, len(control))
    assert (lift.unfollow_rate.estimate, lift.unfollow_rate.low, lift.unfollow_rate.high) == pytest.approx(
        (u.estimate, u.low, u.high))
    assert lift.unfollow_rate.low < lift.unfollow_rate.estimate < lift.unfollow_rate.high
    k = len(others)
    assert lift.incremental_revenue.estimate == pytest.approx(k * lift.revenue_per_follower.estimate)
    assert lift.incremental_revenue.low == pytest.approx(k * lift.revenue_per_follower.low)


def test_a_shorter_period_counts_only_its_orders(shop):
    account, control, others = shop
    lift = control_lift.control_lift(account, days=25)  # only the 150-yuan orders 20 days ago
    assert lift.control.orders == 0
    assert lift.others.revenue == pytest.approx(150 * len(others[::2]))


def test_without_a_control_group_there_is_no_difference(shop):
    account, _, _ = shop
    Rules.objects.filter(account=account).update(control_fraction=0.0)
    lift = control_lift.control_lift(account)
    assert lift.control.followers == 0 and lift.others.followers == FOLLOWERS
    assert lift.revenue_per_follower is None and lift.unfollow_rate is None


def test_the_report_reads_only(shop):
    account, _, _ = shop
    Rules.objects.filter(account=account).delete()
    counts = Follower.objects.count(), Rules.objects.count()
    lift = control_lift.control_lift(account)
    assert lift.control_fraction == 0.05  # the engine's default, and no rules row was made
    assert (Follower.objects.count(), Rules.objects.count()) == counts


@pytest.mark.parametrize("days", [0, 731])
def test_a_period_out_of_range_is_refused(shop, days):
    with pytest.raises(ValueError, match="days"):
        control_lift.control_lift(shop[0], days=days)


def test_the_rollup_stores_it_for_the_overview_and_refreshes_it_when_stale(shop):
    account, control, others = shop
    assert control_lift.stored(account) is None
    rollups.run(lag=0)
    stored, at = control_lift.stored(account)
    assert stored == control_lift.ControlLift.from_dict(control_lift.control_lift(account, now=stored.end).as_dict())
    assert control_lift.refresh(account.pk) is None  # fresh: not recomputed
    later = at + control_lift.REFRESH_EVERY
    assert control_lift.refresh(account.pk, later) is not None
    assert control_lift.stored(account)[1] == later
