"""The decision: reasons add up, holdouts are stable and about the size asked, the dial works."""

from __future__ import annotations

import numpy as np
import pytest
from tests.engine.factories import NOW, campaign, make_state

from fencun.engine import reasons as R
from fencun.engine.planner import dial_effect, holdout_mask, plan
from fencun.engine.rules import MerchantRules


def test_every_follower_not_sent_has_exactly_one_reason_and_the_summary_adds_up():
    state = make_state(3000, 7)
    camps = [campaign("flash", "sofa", urgent=True), campaign("beds", "bed", segment="tag:vip")]
    p = plan(state, camps, NOW, account_type="service")
    for s in p.summaries:
        reasons = p.reasons(s.campaign_id)
        assert len(reasons) == state.n
        assert all(r in R.CODES for r in reasons)
        counted = {r: reasons.count(r) for r in set(reasons) if r != R.SENT}
        assert counted == s.held_back
        assert s.sent + sum(s.held_back.values()) == s.audience == state.n
    assert p.campaigns[0].id == "flash"  # urgent campaigns first in line


def test_unsubscribed_followers_are_held_back_for_consent_first():
    state = make_state(500, 8, unsubscribed=0.5)
    p = plan(state, [campaign("a")], NOW, policy="blast", account_type="service")
    codes = np.array(p.reasons("a"))
    assert (codes[~state.subscribed] == R.UNSUBSCRIBED).all()


def test_holdout_is_reproducible_about_five_percent_and_stable_under_replanning():
    state = make_state(20_000, 9, unsubscribed=0.0)
    mask = holdout_mask(state, "spring-sale", 0.05)
    assert 0.045 < mask.mean() < 0.055
    assert (mask == holdout_mask(state, "spring-sale", 0.05)).all()
    other = holdout_mask(state, "summer-sale", 0.05)
    assert (mask & other).mean() < 0.01  # an independent draw per campaign
    # Re-planning after new followers arrive keeps everyone's membership.
    rows = state.add_followers([f"onew{i:08d}" for i in range(500)])
    again = holdout_mask(state, "spring-sale", 0.05)
    assert (again[: rows[0]] == mask).all()
    # Every holdout in a plan is someone the hash puts in the holdout.
    p = plan(state, [campaign("spring-sale")], NOW, account_type="service")
    held = np.array(p.reasons("spring-sale")) == R.HOLDOUT
    assert held.any() and not (held & ~again).any()


def test_holdout_size_is_configurable():
    state = make_state(20_000, 10)
    assert 0.18 < holdout_mask(state, "c", 0.2).mean() < 0.22
    assert not holdout_mask(state, "c", 0.0).any()
    with pytest.raises(ValueError, match="holdout_fraction"):
        MerchantRules(holdout_fraction=1.0)


def test_the_dial_trades_reach_for_kept_followers():
    state = make_state(5000, 11, unsubscribed=0.0, push_density=0.3)
    camps = [campaign("a", "sofa"), campaign("b", "decor")]
    rows = dial_effect(state, camps, NOW, [0.0, 200.0, 2000.0, 20000.0], account_type="service")
    sent = [r["sent"] for r in rows]
    unfollows = [r["unfollows"] for r in rows]
    assert sent == sorted(sent, reverse=True) and sent[0] > sent[-1]
    assert unfollows == sorted(unfollows, reverse=True) and unfollows[0] > unfollows[-1]
    # Holding back for the follower's sake is stated as such.
    p = plan(
        state, camps, NOW, account_type="service", rules=MerchantRules(follower_value_yuan=20000.0)
    )
    assert any(
        R.HARM_EXCEEDS_VALUE in s.held_back or R.LOW_RELEVANCE in s.held_back for s in p.summaries
    )


def test_plans_are_reproducible_for_a_seed_and_explore_otherwise():
    state = make_state(4000, 12, unsubscribed=0.0, push_density=0.2)
    camps = [campaign("a", "sofa")]
    first = plan(state, camps, NOW, seed=5, account_type="service").codes
    assert (first == plan(state, camps, NOW, seed=5, account_type="service").codes).all()


def test_bad_campaigns_and_policies_are_refused():
    state = make_state(10, 13)
    with pytest.raises(ValueError, match="unknown category"):
        plan(state, [campaign("a", "chairs")], NOW)
    with pytest.raises(ValueError, match="unique"):
        plan(state, [campaign("a"), campaign("a")], NOW)
    with pytest.raises(ValueError, match="policy"):
        plan(state, [campaign("a")], NOW, policy="spam")
    with pytest.raises(ValueError, match="channel"):
        campaign("a", channel="template")


def test_the_ceiling_decides_on_the_truth_averaged_over_the_engines_own_cells():
    from fencun.engine.planner import draft

    state = make_state(3000, 14, unsubscribed=0.0, push_density=0.2)
    camps = [campaign("a", "sofa")]
    gain = np.random.default_rng(3).gamma(1.0, 20.0, state.n)  # each follower's true gain

    def truth(c, rows):
        return gain[rows], np.full(rows.size, 8.0)

    with pytest.raises(ValueError, match="truth"):
        draft(state, camps, NOW, policy="ceiling")
    fencun = draft(state, camps, NOW, seed=4)
    ceiling = draft(state, camps, NOW, seed=4, policy="ceiling", truth=truth)
    est, own = ceiling.estimates["a"], fencun.estimates["a"]
    open_ = np.flatnonzero(np.isin(ceiling.codes[0], [0, R.CODE_INDEX[R.CONTROL_GROUP], R.CODE_INDEX[R.HOLDOUT],
                                                      R.CODE_INDEX[R.LOW_RELEVANCE], R.CODE_INDEX[R.NO_LIFT],
                                                      R.CODE_INDEX[R.HARM_EXCEEDS_VALUE]]))
    assert open_.size > 100
    for cell in np.unique(est.cells[open_])[:20]:
        rows = open_[est.cells[open_] == cell]
        assert est.uplift[rows] == pytest.approx(np.full(rows.size, gain[rows].mean()), rel=1e-4)
    assert est.harm[open_] == pytest.approx(np.full(open_.size, 8.0))
    # The draw keeps the engine's own exploration offset around the new mean.
    offset = own.uplift_draw[open_] - own.uplift[open_]
    assert est.uplift_draw[open_] - est.uplift[open_] == pytest.approx(offset, abs=1e-3)


def test_a_follower_who_chose_no_personalisation_is_estimated_as_one_with_no_evidence():
    import numpy as np
    from tests.engine.factories import NOW, make_state

    from fencun.engine.estimates import estimate_campaign, plan_context
    from fencun.engine.rules import MerchantRules

    state = make_state(300, 7)
    ctx = plan_context(state, NOW, MerchantRules(), np.random.default_rng(1))
    before = estimate_campaign(state, ctx, 0, draw=False)
    shown = int(np.argmax(ctx.evidence[:, 0]))
    assert ctx.evidence[shown, 0] > 0
    state.set_impersonal([state.openids[shown]])
    ctx = plan_context(state, NOW, MerchantRules(), np.random.default_rng(1))
    after = estimate_campaign(state, ctx, 0, draw=False)
    assert not ctx.evidence[shown].any()
    assert after.relevance[shown] == 0 and after.relevance[shown] != before.relevance[shown]
    others = np.arange(state.n) != shown
    assert np.array_equal(after.relevance[others], before.relevance[others])
