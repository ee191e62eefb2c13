"""One attention budget per person: a WeCom mass message to someone who also follows the
Official Account (joined by unionid) holds back the next push by the minimum gap."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from fencun.audience.models import Follower
from fencun.audience.services import record_event
from fencun.campaigns import planning
from fencun.campaigns.models import Rules
from fencun.campaigns.services import create_campaign, lint_campaign
from fencun.catalog.models import Category
from fencun.channels.models import ExternalContact, WecomCorp, WecomDispatch
from fencun.engine import reasons as R


@pytest.fixture
def shop(db, make_account):
    account = make_account()
    Rules.objects.create(account=account, quiet_start="00:00", quiet_end="00:00", min_gap_hours=24,
                         weekly_cap=5, category_cooldown_days=0, holdout_fraction=0.0)
    for n in range(3):
        record_event(account, kind="subscribe", openid=f"o-b-{n}", occurred_at=timezone.now() - timedelta(days=60),
                     payload={}, source="test", dedup_key=f"b{n}")
    Follower.objects.filter(openid="o-b-0").update(unionid="u-zero")
    Follower.objects.filter(openid="o-b-1").update(unionid="u-one")
    corp = WecomCorp.objects.create(account=account, corp_id="ww-budget", token="t", aes_key="k" * 43)
    ExternalContact.objects.create(corp=corp, external_userid="wm-zero", unionid="u-zero")
    ExternalContact.objects.create(corp=corp, external_userid="wm-stranger", unionid="u-not-a-follower")
    return account, corp


def _dispatch(corp, ext, hours_ago, kind=WecomDispatch.Kind.MASS, task="t1"):
    d = WecomDispatch.objects.create(corp=corp, kind=kind, task_id=task, external_userid=ext,
                                     day=timezone.localdate())
    WecomDispatch.objects.filter(pk=d.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))


def test_a_wecom_message_to_the_same_person_holds_back_the_next_push(shop):
    account, corp = shop
    _dispatch(corp, "wm-zero", hours_ago=3)
    _dispatch(corp, "wm-stranger", hours_ago=3, task="t2")  # not a follower: no effect
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    campaign = create_campaign(account, name="沙发", category=sofa, title="沙发上新", body="新款沙发到店。")
    lint_campaign(campaign, acknowledge_warnings=True)
    planning.dry_run(campaign, policy="fencun")
    plan = campaign.plans.latest("created_at")
    assert plan.held_back.get(R.MIN_GAP) == 1
    state = planning.build_state(account)
    gaps = {o: timezone.now().timestamp() - state.last_push_at[state.index[o]] for o in ("o-b-0", "o-b-1")}
    assert 2.9 * 3600 < gaps["o-b-0"] < 3.1 * 3600
    assert math.isnan(gaps["o-b-1"])  # never pushed anywhere


def test_moments_and_old_messages_do_not_count(shop):
    account, corp = shop
    _dispatch(corp, "", hours_ago=1, kind=WecomDispatch.Kind.MOMENT, task="m1")
    _dispatch(corp, "wm-zero", hours_ago=24 * 40, task="old")
    state = planning.build_state(account)
    assert math.isnan(state.last_push_at[state.index["o-b-0"]])
