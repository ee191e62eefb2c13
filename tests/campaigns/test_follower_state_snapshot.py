"""The follower-state snapshot: a plan folds only what arrived since the last one, and
what it reads equals a rebuild from the whole log (see ``campaigns/followerstate.py``)."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone

from fencun.audience.models import Follower, FollowerStateSnapshot, Store
from fencun.audience.services import NewEvent, record_events
from fencun.audience.snapshots import SNAPSHOT_DIR
from fencun.campaigns import followerstate, planning
from fencun.campaigns.models import OutboxItem, Rules
from fencun.campaigns.services import create_campaign, lint_campaign
from fencun.catalog.models import Category, Product
from fencun.engine.state import differences

pytestmark = pytest.mark.django_db
FOLLOWERS = 60
START = timezone.now() - timedelta(days=30)


@pytest.fixture(autouse=True)
def _save_every_change(monkeypatch):
    # Every increment is saved, and on PostgreSQL every event counts as settled: the
    # tests are about the folding, not the thresholds.
    monkeypatch.setattr(followerstate, "SAVE_EVENTS_MIN", 1)
    monkeypatch.setattr(followerstate, "SETTLE_SECONDS", 0.0)


@pytest.fixture
def shop(make_account):
    account = make_account(account_type="service")
    Rules.objects.create(
        account=account,
        quiet_start="00:00",
        quiet_end="00:00",
        min_gap_hours=0,
        weekly_cap=5,
        category_cooldown_days=0,
        holdout_fraction=0.1,
        control_fraction=0.1,
    )
    sofa = Category.objects.create(account=account, key="sofa", name="沙发", keywords=["布艺"])
    Category.objects.create(account=account, key="bed", name="床", keywords=["床垫"])
    Product.objects.create(account=account, category=sofa, sku="S1", name="布艺沙发", price=2999)
    Store.objects.create(account=account, name="惠州店", lat=23.11, lng=114.41)
    return account


def _events(day: int, rng: random.Random, n: int = 120) -> list[NewEvent]:
    """A day of varied events, each follower subscribed before it does anything else."""
    out = []
    for k in range(n):
        openid = f"o-snap-{rng.randrange(FOLLOWERS):03d}"
        at = START + timedelta(days=day, minutes=5 * k + rng.randrange(5))
        kind = rng.choice(
            ["subscribe", "text", "click", "location", "read", "order", "unsubscribe", "text"]
        )
        payload: dict = {
            "subscribe": {"scene": "ADD_SCENE_QR_CODE"},
            "text": {"content": rng.choice(["布艺沙发多少钱", "床垫有货吗", "你好"])},
            "click": {"key": rng.choice(["sofa", "bed", "menu"])},
            "location": {"lat": 23.1 + rng.random() / 5, "lng": 114.4 + rng.random() / 5},
            "read": {"campaign": "c999"},
            "order": {"amount": rng.choice([99.0, 2999.0]), "product": rng.choice(["S1", "X9"])},
            "unsubscribe": {},
        }[kind]
        out.append(NewEvent(kind, openid, at, payload, "test", f"{day}-{k}"))
    return out


def _record(account, events: list[NewEvent]) -> None:
    record_events(account, events)


def _campaign(account, title: str = "沙发上新"):
    sofa = Category.objects.get(account=account, key="sofa")
    campaign = create_campaign(
        account,
        name=title,
        category=sofa,
        title=title,
        body="新款布艺沙发到店。",
        products=list(Product.objects.filter(account=account)),
    )
    lint_campaign(campaign, acknowledge_warnings=True)
    return campaign


def _send(account, campaign, at) -> None:
    """Plan, approve and send ``campaign`` at ``at`` (what the delivery worker records)."""
    planning.dry_run(campaign, at)
    planning.approve(campaign, by="店长")
    OutboxItem.objects.filter(campaign=campaign).update(status=OutboxItem.Status.SENT, sent_at=at)


def _assert_same_as_rebuild(account) -> None:
    incremental = followerstate.current_state(account)
    rebuilt, _ = followerstate.rebuild(account, save=False)
    found = differences(incremental, rebuilt)
    assert found == [], "; ".join(found)


def test_a_snapshot_and_its_increments_equal_a_rebuild_from_the_log(shop):
    rng = random.Random(7)
    _record(shop, _events(0, rng))
    followerstate.current_state(shop)  # the first plan rebuilds and saves
    first = FollowerStateSnapshot.objects.get(account=shop)
    campaign = _campaign(shop)
    _record(shop, _events(1, rng))
    _send(shop, campaign, START + timedelta(days=2))
    _record(shop, _events(3, rng))
    _assert_same_as_rebuild(shop)
    latest = FollowerStateSnapshot.objects.get(account=shop)
    assert latest.events_through > first.events_through
    assert not (Path(settings.DATA_DIR) / SNAPSHOT_DIR / first.path).exists()  # replaced, not kept
    # Orders of the campaign's product after the send, read from the snapshot.
    _record(
        shop,
        [
            NewEvent(
                "order",
                "o-snap-001",
                START + timedelta(days=4),
                {"amount": 2999.0, "product": "S1"},
                "test",
                "late-order",
            )
        ],
    )
    _assert_same_as_rebuild(shop)


def test_a_plan_reads_the_snapshot_and_folds_only_what_is_new(shop, monkeypatch):
    rng = random.Random(8)
    _record(shop, _events(0, rng))
    followerstate.current_state(shop)
    read: list[tuple[int, int]] = []
    since = followerstate.snapshots.events_since

    def counting(account, after, through):
        read.append((after, through))
        return since(account, after, through)

    monkeypatch.setattr(followerstate.snapshots, "events_since", counting)
    monkeypatch.setattr(followerstate, "rebuild", lambda *a, **k: pytest.fail("rebuilt"))
    _record(shop, _events(1, rng, n=10))
    state = planning.build_state(shop)
    first = FollowerStateSnapshot.objects.get(account=shop).events_through
    assert read[0][0] < first and read[0][1] == first
    assert sum(1 for o in state.openids if o.startswith("o-snap")) <= FOLLOWERS


def test_a_late_event_older_than_the_snapshot_is_folded_in_arrival_order(shop):
    rng = random.Random(9)
    _record(shop, _events(0, rng))
    _record(shop, _events(5, rng))
    followerstate.current_state(shop)
    # Dated day 2, arriving after day 5 was folded.
    late = [
        NewEvent(
            "text",
            "o-snap-002",
            START + timedelta(days=2),
            {"content": "布艺沙发"},
            "test",
            "late-1",
        ),
        NewEvent(
            "order",
            "o-snap-003",
            START + timedelta(days=2),
            {"amount": 99.0, "product": "S1"},
            "test",
            "late-2",
        ),
        NewEvent(
            "location",
            "o-snap-004",
            START + timedelta(days=2),
            {"lat": 23.2, "lng": 114.5},
            "test",
            "late-3",
        ),
    ]
    _record(shop, late)
    incremental = followerstate.current_state(shop)
    rebuilt, _ = followerstate.rebuild(shop, save=False)
    order = np.array([rebuilt.index[o] for o in incremental.openids])
    exact = (
        "subscribed",
        "orders",
        "revenue",
        "last_interaction_at",
        "last_message_at",
        "unanswered",
    )
    for name in exact:
        assert np.array_equal(
            getattr(incremental, name), getattr(rebuilt, name)[order], equal_nan=True
        ), name
    # Interest added undecayed: off by the decay of a few days at a two-year half-life.
    now = timezone.now().timestamp()
    assert np.allclose(
        incremental.evidence_at(now), rebuilt.evidence_at(now)[order], rtol=1e-4, atol=1e-6
    )
    # The last location wins by arrival: the late one is where the follower was last seen
    # according to the log's order of arrival (the projection in the Follower row agrees).
    i = incremental.index["o-snap-004"]
    assert (incremental.lat[i], incremental.lng[i]) == pytest.approx((23.2, 114.5), abs=0.01)


def test_a_new_category_or_store_rebuilds_the_snapshot(shop):
    rng = random.Random(10)
    _record(shop, _events(0, rng))
    followerstate.current_state(shop)
    before = FollowerStateSnapshot.objects.get(account=shop).config
    Category.objects.create(account=shop, key="decor", name="软装", keywords=["你好"])
    state = followerstate.current_state(shop)
    assert [c.id for c in state.categories] == ["sofa", "bed", "decor"]
    # Past texts saying 你好 count for the new category, as a rebuild counts them.
    assert state.evidence[:, 2].sum() > 0
    _assert_same_as_rebuild(shop)
    after_category = FollowerStateSnapshot.objects.get(account=shop).config
    assert after_category != before
    Store.objects.create(account=shop, name="东莞店", lat=23.02, lng=113.75)
    state = followerstate.current_state(shop)
    assert len(state.stores) == 2
    _assert_same_as_rebuild(shop)
    assert FollowerStateSnapshot.objects.get(account=shop).config != after_category


def test_a_new_campaign_extends_the_snapshot_and_a_changed_one_rebuilds_it(shop, monkeypatch):
    rng = random.Random(11)
    _record(shop, _events(0, rng))
    followerstate.current_state(shop)
    campaign = _campaign(shop)
    calls = []
    rebuild = followerstate.rebuild
    monkeypatch.setattr(
        followerstate, "rebuild", lambda *a, **k: calls.append(1) or rebuild(*a, **k)
    )
    state = followerstate.current_state(shop)
    assert campaign.engine_id in state.campaign_category and not calls
    _assert_same_as_rebuild(shop)
    bed = Category.objects.get(account=shop, key="bed")
    campaign.category = bed
    campaign.save()
    state = followerstate.current_state(shop)
    assert calls and state.campaign_category[campaign.engine_id] == 1


def test_a_missing_snapshot_file_is_rebuilt_from_the_log(shop):
    _record(shop, _events(0, random.Random(12)))
    followerstate.current_state(shop)
    row = FollowerStateSnapshot.objects.get(account=shop)
    (Path(settings.DATA_DIR) / SNAPSHOT_DIR / row.path).unlink()
    _assert_same_as_rebuild(shop)


def test_followers_known_only_from_the_user_list_are_laid_on_not_saved(shop):
    _record(shop, _events(0, random.Random(13)))
    Follower.objects.create(
        account=shop,
        openid="o-synced",
        subscribed=True,
        tags=["vip"],
        subscribed_at=START,
        subscribe_scene="ADD_SCENE_SEARCH",
    )
    state = planning.build_state(shop)
    i = state.index["o-synced"]
    assert state.subscribed[i] and state.tag_mask("vip")[i]
    assert "o-synced" not in followerstate.current_state(shop).index


def test_a_new_product_named_by_past_orders_rebuilds_the_snapshot(shop):
    _record(shop, _events(0, random.Random(14), n=200))  # orders of X9, not yet in the catalog
    state = followerstate.current_state(shop)
    assert "X9" in state.unplaced_products
    bed = Category.objects.get(account=shop, key="bed")
    Product.objects.create(account=shop, category=bed, sku="X9", name="床垫", price=1999)
    state = followerstate.current_state(shop)
    assert state.product_category["X9"] == 1 and "X9" not in state.unplaced_products
    _assert_same_as_rebuild(shop)
