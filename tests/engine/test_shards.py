"""Planning an account in shards by follower id: the whole account's plan, shard by shard."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from tests.engine.factories import NOW, campaign, make_state

from fencun.engine import reasons as R
from fencun.engine.estimates import AccountSums, account_sums, context_basis, plan_context
from fencun.engine.planner import (
    below_openid_list_minimum,
    choose_mass_campaign,
    draft,
    plan,
)
from fencun.engine.rules import MerchantRules
from fencun.engine.shards import (
    ShardPlanner,
    account_view,
    join,
    merge_stats,
    plan_shards,
    shard_of,
)
from fencun.engine.state import FollowerState, openid_hash


def _shard(n: int, seed: int, liked: str) -> FollowerState:
    """A shard whose followers all care for ``liked``, with its own share of contrasts."""
    state = make_state(n, seed, unsubscribed=0.05, push_density=0.1)
    state._evidence[: state.n] = 0.0
    state._evidence[: state.n, state.category_index[liked]] = 5.0
    rng = np.random.default_rng(seed)
    s = state.stats
    s.up_n += rng.integers(10, 200, s.up_n.shape)
    s.up_o += s.up_n * rng.uniform(0.001, 0.03, s.up_n.shape)
    s.up_y += s.up_o * 2000.0
    s.up_y2 += s.up_o * 2000.0**2
    s.unf_sent += rng.integers(500, 5000, s.unf_sent.shape)
    s.unf_after += s.unf_sent * rng.uniform(0.001, 0.02, s.unf_sent.shape)
    s.follower_days, s.base_unfollows, s.revenue = n * 90.0, n * 0.02, n * 30.0
    return state


def _shards() -> list[FollowerState]:
    return [_shard(400, 1, "bed"), _shard(1500, 2, "decor"), _shard(1500, 3, "decor")]


CAMPAIGNS = [campaign("beds", "bed"), campaign("decor", "decor"), campaign("sofas", "sofa")]


def _planners(shards: list[FollowerState], account_type: str, explore: bool) -> list[ShardPlanner]:
    return [
        ShardPlanner(s, CAMPAIGNS, NOW, account_type=account_type, seed=[4, i], explore=explore)
        for i, s in enumerate(shards)
    ]


@pytest.mark.parametrize("account_type", ["subscription", "service"])
def test_a_sharded_plan_on_posterior_means_is_the_whole_accounts_plan(account_type):
    shards = _shards()
    whole = plan(join(shards), CAMPAIGNS, NOW, account_type=account_type, explore=False)
    planners = _planners(shards, account_type, explore=False)
    account = plan_shards(planners, CAMPAIGNS, account_type)
    # Every follower has the same reason for every campaign, shard by shard.
    codes = np.concatenate([p.plan.codes for p in planners if p.plan is not None], axis=1)
    assert codes.shape == whole.codes.shape
    assert (codes == whole.codes).all()
    # And the account's summaries are the sums of the shards'.
    assert [asdict(s) for s in account.summaries] == [asdict(s) for s in whole.summaries]
    assert sum(s.sent for s in whole.summaries) > 0


def test_a_subscription_accounts_one_mass_send_is_chosen_on_the_sum_over_shards():
    shards = _shards()
    planners = _planners(shards, "subscription", explore=False)
    account = plan_shards(planners, CAMPAIGNS, "subscription")
    whole = draft(join(shards), CAMPAIGNS, NOW, explore=False)
    assert account.mass_campaign == choose_mass_campaign(CAMPAIGNS, whole.totals(), "subscription")
    assert account.totals == pytest.approx(whole.totals(), rel=1e-9)
    # The first shard, alone, would have sent another campaign: the account's choice wins.
    stats = merge_stats([s.stats for s in shards])
    sums = sum((account_sums(account_view(s, stats), NOW) for s in shards), AccountSums())
    alone = draft(account_view(shards[0], stats), CAMPAIGNS, NOW, explore=False, account=sums)
    own_choice = choose_mass_campaign(CAMPAIGNS, alone.totals(), "subscription")
    assert own_choice is not None and own_choice != account.mass_campaign
    first = planners[0].plan
    assert first is not None
    # Its candidates for its own favourite lost to the account's choice; nothing else is sent.
    assert R.LOST_TO_OTHER_CAMPAIGN in first.reasons(own_choice)
    assert first.recipients(own_choice).size == 0
    assert account.mass_campaign is not None and first.recipients(account.mass_campaign).size > 0
    for c in CAMPAIGNS:
        if c.id != account.mass_campaign:
            assert first.recipients(c.id).size == 0


def test_with_draws_each_shard_draws_its_own_and_the_choice_holds():
    shards = _shards()
    planners = _planners(shards, "subscription", explore=True)
    account = plan_shards(planners, CAMPAIGNS, "subscription")
    again = _planners(shards, "subscription", explore=True)
    plan_shards(again, CAMPAIGNS, "subscription")
    for a, b in zip(planners, again, strict=True):
        assert a.plan is not None and b.plan is not None
        assert (a.plan.codes == b.plan.codes).all()  # reproducible for the shard's seed
    whole = draft(join(shards), CAMPAIGNS, NOW, explore=True)
    assert account.mass_campaign == choose_mass_campaign(CAMPAIGNS, whole.totals(), "subscription")


def test_an_openid_list_send_needs_its_minimum_in_the_whole_account():
    one = [campaign("a")]
    assert below_openid_list_minimum(one, {"a": 1}, "service") == ["a"]
    assert below_openid_list_minimum(one, {"a": 2}, "service") == []  # one in each of two shards
    assert below_openid_list_minimum(one, {"a": 0}, "service") == []
    assert below_openid_list_minimum(one, {"a": 1}, "subscription") == []  # sends by tag


def test_a_followers_shard_depends_on_their_openid_alone_and_doubling_splits_shards():
    hashes = np.array([openid_hash(f"o-follower-{i}") for i in range(2000)], dtype=np.uint64)
    four, eight = shard_of(hashes, 4), shard_of(hashes, 8)
    assert set(four.tolist()) == {0, 1, 2, 3}
    assert (eight % 4 == four).all()
    assert (shard_of(hashes[::-1], 4) == four[::-1]).all()
    counts = np.bincount(four)
    assert counts.min() > 400  # about a quarter each
    with pytest.raises(ValueError):
        shard_of(hashes, 0)


def test_the_accounts_statistics_are_the_sum_of_its_shards_and_a_view_leaves_them_apart():
    shards = _shards()
    stats = merge_stats([s.stats for s in shards])
    assert np.array_equal(stats.up_n, sum(s.stats.up_n for s in shards))
    assert stats.follower_days == sum(s.stats.follower_days for s in shards)
    before = shards[0].stats.up_n.copy()
    view = account_view(shards[0], stats)
    assert view.stats is stats and view.n == shards[0].n
    assert np.shares_memory(view.evidence, shards[0].evidence)
    assert np.array_equal(shards[0].stats.up_n, before)


def test_joined_shards_hold_every_follower_and_the_sums_add_up():
    shards = _shards()
    whole = join(shards)
    assert whole.openids == [o for s in shards for o in s.openids]
    assert np.array_equal(whole.evidence, np.concatenate([s.evidence for s in shards]))
    stats = merge_stats([s.stats for s in shards])
    parts = sum((account_sums(account_view(s, stats), NOW) for s in shards), AccountSums())
    total = account_sums(whole, NOW)
    assert parts.rows == total.rows
    assert parts.engagement == pytest.approx(total.engagement, rel=1e-12)


def test_shards_that_disagree_on_what_the_account_holds_are_not_joined():
    a, b = make_state(20, 1), make_state(20, 2, sent_today=True)
    with pytest.raises(ValueError, match="mass_sends_by_day"):
        join([a, b])


def test_the_steps_of_a_shard_run_in_order():
    planner = ShardPlanner(_shard(50, 5, "bed"), CAMPAIGNS, NOW, explore=False)
    with pytest.raises(ValueError, match="sums"):
        planner.draft(AccountSums())
    with pytest.raises(ValueError, match="draft"):
        planner.assign(None)
    with pytest.raises(ValueError, match="only 'fencun'"):
        draft(planner.state, CAMPAIGNS, NOW, policy="blast", account=AccountSums())
    # A shard's context basis is of one time: a plan at another is refused, not mixed.
    basis = context_basis(planner.state, NOW)
    with pytest.raises(ValueError, match="another time"):
        plan_context(planner.state, NOW + 3600, MerchantRules(), np.random.default_rng(0), basis=basis)
