"""The dry run and what the engine learns from a sent campaign: the dial table is the plan
at other values, the plan's randomized controls are stored and replayed once it is sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fencun.audience.models import Follower
from fencun.audience.snapshots import Horizon
from fencun.campaigns import followerstate, planning
from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot, Rules
from fencun.campaigns.services import create_campaign, lint_campaign
from fencun.catalog.models import Category, Product
from fencun.engine import planner
from fencun.engine import reasons as R

pytestmark = pytest.mark.django_db
FOLLOWERS = 400


@pytest.fixture
def shop(make_account):
    account = make_account(account_type="service")
    Rules.objects.create(account=account, quiet_start="00:00", quiet_end="00:00", min_gap_hours=0,
                         weekly_cap=5, category_cooldown_days=0, holdout_fraction=0.1, control_fraction=0.1)
    since = timezone.now() - timedelta(days=90)
    Follower.objects.bulk_create([
        Follower(account=account, openid=f"o-plan-{n:04d}", subscribed=True, subscribed_at=since)
        for n in range(FOLLOWERS)
    ])
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    Product.objects.create(account=account, category=sofa, sku="S1", name="布艺沙发", price=2999)
    return account


def _planned(account, name="沙发上新"):
    sofa = Category.objects.get(account=account, key="sofa")
    campaign = create_campaign(account, name=name, category=sofa, title=name, body="新款布艺沙发到店。",
                               products=list(Product.objects.filter(account=account)))
    lint_campaign(campaign, acknowledge_warnings=True)
    return campaign, planning.dry_run(campaign)


def _current(snapshot):
    (row,) = [d for d in snapshot.dial_effect if d["current"]]
    return row


def _same_as_plan(row, snapshot):
    assert 0 < snapshot.reach < FOLLOWERS  # a decision, not all or nothing
    assert row["sent"] == snapshot.reach
    for key in ("orders", "revenue", "unfollows"):
        assert row[key] == pytest.approx(snapshot.predicted[key], abs=0.011), key


def test_the_dial_row_at_the_learned_value_is_the_plan(shop):
    _, snapshot = _planned(shop)
    row = _current(snapshot)
    assert row["follower_value_yuan"] == snapshot.follower_value_yuan
    _same_as_plan(row, snapshot)
    assert {d["follower_value_yuan"] for d in snapshot.dial_effect} >= set(planning.DIAL_VALUES_YUAN)


@pytest.mark.parametrize("value", [50.0, 77.0])
def test_the_dial_row_at_the_rules_value_is_the_plan(shop, value):
    Rules.objects.filter(account=shop).update(follower_value_yuan=value)
    _, snapshot = _planned(shop)
    row = _current(snapshot)
    assert row["follower_value_yuan"] == value
    _same_as_plan(row, snapshot)
    values = [d["follower_value_yuan"] for d in snapshot.dial_effect]
    assert values == sorted(set(values))  # one row per value, in order


def test_a_repeated_dry_run_for_the_same_time_plans_the_same(shop):
    campaign, first = _planned(shop)
    again = planning.dry_run(campaign, first.planned_for)
    assert again.recipients == first.recipients and again.controls == first.controls


def test_the_snapshot_keeps_the_campaigns_randomized_controls(shop):
    campaign, snapshot = _planned(shop)
    state = planning.build_state(shop)
    members = {state.openids[i] for i in planner.control_mask(state, 0.1).nonzero()[0]}
    assert snapshot.held_back.get(R.CONTROL_GROUP, 0) > 0
    assert set(snapshot.holdout) <= set(snapshot.controls)
    # Controls: the holdout, and the control-group members the decision would have sent
    # (compared with the recipients it chose), who are never recipients.
    from_group = set(snapshot.controls) - set(snapshot.holdout)
    assert from_group and from_group <= members
    assert not set(snapshot.controls) & set(snapshot.recipients)
    assert len(from_group) <= snapshot.held_back.get(R.CONTROL_GROUP, 0)


def _send(campaign, at):
    """What the delivery worker records: every outbox row sent at ``at``."""
    OutboxItem.objects.filter(campaign=campaign).update(status=OutboxItem.Status.SENT, sent_at=at)


def test_approval_marks_the_plan_the_outbox_was_written_from(shop):
    campaign, older = _planned(shop)
    newer = planning.dry_run(campaign)
    planning.approve(campaign, by="店长", snapshot=older)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.approved_at is not None and newer.approved_at is None
    outbox = [o for ids in OutboxItem.objects.filter(campaign=campaign).values_list("openids", flat=True)
              for o in ids]
    assert sorted(outbox) == sorted(older.recipients)


def test_a_sent_campaign_replays_its_controls_at_its_first_send(shop):
    campaign, snapshot = _planned(shop)
    planning.approve(campaign, by="店长")
    assert snapshot.reach >= 2 and snapshot.controls
    first = timezone.now() - timedelta(hours=3)
    _send(campaign, first)
    # A later row of the same campaign (the rest of an A/B test, say) does not move them.
    OutboxItem.objects.create(campaign=campaign, key="late", openids=[], clientmsgid="late-1",
                              status=OutboxItem.Status.SENT, sent_at=first + timedelta(hours=2))
    deliveries = _deliveries(shop)
    controls = [d for d in deliveries if d.get("control")]
    sent = [d for d in deliveries if not d.get("control")]
    assert sorted(d["openid"] for d in controls) == sorted(snapshot.controls)
    assert {(d["campaign"], d["at"], d["category"], d["channel"]) for d in controls} == {
        (campaign.engine_id, first.timestamp(), "sofa", "mass")
    }
    assert sorted(d["openid"] for d in sent) == sorted(snapshot.recipients)
    # The state counts the controls as kept back, not as recipients of the campaign.
    state = planning.build_state(shop)
    received = state.received_mask(campaign.engine_id)
    assert all(received[state.index[o]] for o in snapshot.recipients)
    assert not any(received[state.index[o]] for o in snapshot.controls)


def test_a_plan_made_before_controls_were_stored_replays_its_holdout(shop):
    campaign, snapshot = _planned(shop)
    planning.approve(campaign, by="店长")
    PlanSnapshot.objects.filter(pk=snapshot.pk).update(controls=[])
    _send(campaign, timezone.now() - timedelta(hours=1))
    controls = [d["openid"] for d in _deliveries(shop) if d.get("control")]
    assert sorted(controls) == sorted(snapshot.holdout)


def test_campaigns_not_sent_replay_no_controls(shop):
    campaign, _ = _planned(shop)
    planning.approve(campaign, by="店长")
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.APPROVED
    assert _deliveries(shop) == []


def _deliveries(account):
    """Every delivery of the account, as a rebuild folds them."""
    return followerstate._new_deliveries(account, Horizon(), timezone.now())
