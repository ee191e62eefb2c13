"""Hard rules hold for every audience Hypothesis can think of, whatever the decision says."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.engine.factories import CATEGORIES, NOW, campaign, make_state

from fencun.engine import reasons as R
from fencun.engine.clock import DAY, HOUR, local_day_number
from fencun.engine.limits import load_platform_limits
from fencun.engine.planner import plan
from fencun.engine.rules import MerchantRules
from fencun.engine.segments import evaluate_segment

SEGMENTS = [
    None,
    "tag:vip",
    "distance<15km or not has:location",
    "interest:sofa>=0.2",
    "pushes_7d<=1",
]

rules_st = st.builds(
    MerchantRules,
    quiet_start=st.sampled_from(["22:00", "21:30", "00:00", "12:00"]),
    quiet_end=st.sampled_from(["08:00", "07:00", "09:30", "14:00"]),
    weekly_cap=st.integers(0, 5),
    category_cooldown_days=st.floats(0, 7),
    min_gap_hours=st.floats(0, 48),
    holdout_fraction=st.sampled_from([0.0, 0.05, 0.3]),
    follower_value_yuan=st.one_of(st.none(), st.floats(0, 5000)),
)


@st.composite
def audiences(draw):
    n = draw(st.integers(1, 80))
    now = NOW + draw(st.integers(-12 * 60, 12 * 60)) * 60.0  # any time of day
    state = make_state(
        n,
        draw(st.integers(0, 2**20)),
        now=now,
        unsubscribed=draw(st.sampled_from([0.0, 0.2, 1.0])),
        push_density=draw(st.floats(0, 1)),
        sent_today=draw(st.booleans()),
    )
    k = draw(st.integers(1, 3))
    campaigns = [
        campaign(
            f"c{j}",
            draw(st.sampled_from([c.id for c in CATEGORIES])),
            urgent=draw(st.booleans()),
            segment=draw(st.sampled_from(SEGMENTS)),
            channel=draw(st.sampled_from(["mass", "mass", "customer_service", "wecom"])),
        )
        for j in range(k)
    ]
    return state, now, campaigns


def check_plan(p, state, now, rules, account_type):
    limits = load_platform_limits(account_type)
    sent = p.codes == 0  # (k, n)
    mass = np.array([c.channel == "mass" for c in p.campaigns])
    # Reasons: every row has exactly one code, and the summaries add up to the audience.
    assert p.codes.shape == (len(p.campaigns), state.n)
    assert int(p.codes.max(initial=0)) < len(R.CODES)
    for j, s in enumerate(p.summaries):
        assert s.audience == state.n == s.sent + sum(s.held_back.values())
        assert s.sent == int(sent[j].sum())
    # Consent: unsubscribed followers never; on WeCom, only the merchant's contacts.
    wecom = np.array([c.channel == "wecom" for c in p.campaigns])
    assert not (sent[~wecom] & ~state.subscribed[None, :]).any()
    assert not (sent[wecom] & ~state.wecom_contact[None, :]).any()
    # WeCom: one mass message per customer per day, whoever sent the earlier one.
    today = state.wecom_day == local_day_number(now)
    assert not (sent[wecom].any(axis=0) & today).any() and sent[wecom].sum(axis=0).max(initial=0) <= 1
    # Platform limits by account type.
    if limits.mass_sends_per_day_account is not None:
        used = state.mass_sends_on_day(now)
        assert int(sent[mass].any(axis=1).sum()) <= max(0, limits.mass_sends_per_day_account - used)
    if limits.mass_sends_per_month_per_follower is not None:
        month = state.month_count_at(now) + sent[mass].sum(axis=0)
        assert not (
            sent[mass].any(axis=0) & (month > limits.mass_sends_per_month_per_follower)
        ).any()
    if limits.openid_list_send:
        for j in np.flatnonzero(mass):
            assert int(sent[j].sum()) == 0 or int(sent[j].sum()) >= limits.openid_list_min
    # Customer-service messages only inside the 48 h window, and within the per-message quota.
    for j in np.flatnonzero(~mass & ~wecom):
        rows = np.flatnonzero(sent[j])
        age = now - state.last_message_at[rows]
        assert (age <= limits.customer_service_window_hours * HOUR).all() and (age >= 0).all()
        assert (state.cs_sent_since_message[rows] < limits.customer_service_per_message).all()
    # Segments.
    for j, c in enumerate(p.campaigns):
        if c.segment:
            assert not (sent[j] & ~evaluate_segment(c.segment, state, now)).any()
    per_follower = sent.sum(axis=0)
    if p.policy in ("fencun", "capped"):
        week = state.pushes_within(now, 7 * DAY) + per_follower
        assert not ((per_follower > 0) & (week > rules.weekly_cap)).any()
    if p.policy == "fencun":
        assert per_follower.max(initial=0) <= rules.max_campaigns_per_plan
        if rules.in_quiet_hours(now):
            assert not sent.any()
        rows = np.flatnonzero(per_follower)
        with np.errstate(invalid="ignore"):
            assert not (now - state.last_push_at[rows] < rules.min_gap_hours * HOUR).any()
        for j, c in enumerate(p.campaigns):
            cat = state.category_index[c.category]
            recent = now - state.cat_last_push[np.flatnonzero(sent[j]), cat]
            with np.errstate(invalid="ignore"):
                assert not (recent < rules.category_cooldown_days * DAY).any()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    audiences(),
    rules_st,
    st.sampled_from(["subscription", "service"]),
    st.sampled_from(["fencun", "blast", "capped"]),
    st.integers(0, 1000),
)
def test_hard_rules_are_never_broken(audience, rules, account_type, policy, seed):
    state, now, campaigns = audience
    p = plan(
        state, campaigns, now, account_type=account_type, rules=rules, policy=policy, seed=seed
    )
    check_plan(p, state, now, rules, account_type)


def test_quiet_hours_hold_everyone_back_with_that_reason():
    state = make_state(50, 1, now=NOW - 11 * HOUR, unsubscribed=0.0)  # 23:00 local
    p = plan(state, [campaign("late")], NOW - 11 * HOUR)
    reasons = set(p.reasons("late"))
    assert R.QUIET_HOURS in reasons and R.SENT not in reasons


def test_subscription_account_sends_one_campaign_a_day():
    state = make_state(200, 2, unsubscribed=0.0, push_density=0.0)
    rules = MerchantRules(category_cooldown_days=0, follower_value_yuan=0.0)
    p = plan(state, [campaign("a", "sofa"), campaign("b", "bed")], NOW, rules=rules)
    assert sum(1 for s in p.summaries if s.sent) == 1
    state.mass_sends_by_day[int((NOW + 8 * HOUR) // DAY)] = {"earlier"}
    again = plan(state, [campaign("a", "sofa")], NOW, rules=rules)
    assert again.summaries[0].sent == 0
    assert again.summaries[0].held_back == {R.PLATFORM_LIMIT: 200}


def test_service_account_stops_at_four_mass_messages_a_month():
    state = make_state(100, 3, unsubscribed=0.0, push_density=0.0)
    state._month_count[:100] = 4
    p = plan(state, [campaign("x")], NOW, account_type="service", policy="blast")
    assert p.summaries[0].sent == 0
    assert p.summaries[0].held_back == {R.PLATFORM_LIMIT: 100}


def test_customer_service_messages_only_inside_the_window():
    state = make_state(100, 4, unsubscribed=0.0)
    p = plan(state, [campaign("cs", channel="customer_service")], NOW, policy="blast")
    inside = (NOW - state.last_message_at) <= 48 * HOUR
    sent = p.codes[0] == 0
    assert sent.any() and not (sent & ~inside).any()
    assert (p.codes[0][~inside & state.subscribed] == R.CODE_INDEX[R.OUTSIDE_WINDOW]).all()


def test_pushes_on_another_channel_spend_the_same_attention_budget():
    """A WeCom mass message to the same person counts for the weekly cap and the minimum
    gap, but not for this account's platform limit."""
    rules = MerchantRules(min_gap_hours=20, weekly_cap=3, category_cooldown_days=0, follower_value_yuan=0.0)
    state = make_state(60, 7, unsubscribed=0.0, push_density=0.0)
    before = plan(state, [campaign("a")], NOW, rules=rules)
    assert R.MIN_GAP not in before.reasons("a")
    elsewhere = state.openids[:10]
    state.record_deliveries([{"openid": o, "at": NOW - 5 * HOUR, "channel": "wecom"} for o in elsewhere])
    assert state.mass_sends_on_day(NOW) == 0  # WeCom's message is not this account's mass send
    p = plan(state, [campaign("a")], NOW, rules=rules)
    assert {o: p.reason("a", o) for o in elsewhere} == {o: R.MIN_GAP for o in elsewhere}
    assert p.reasons("a").count(R.MIN_GAP) == 10  # nobody else
    # Three more, spread over the week, and the weekly cap holds them back too.
    for days in (2, 3, 4):
        state.record_deliveries([{"openid": o, "at": NOW - days * DAY, "channel": "wecom"} for o in elsewhere])
    p = plan(state, [campaign("a")], NOW + DAY, rules=rules)
    assert {p.reason("a", o) for o in elsewhere} == {R.WEEKLY_CAP}


def test_wecom_campaigns_reach_contacts_only_once_a_day_and_share_the_budget():
    """Consent on WeCom is being a contact (a follower or not); WeCom's daily cap holds;
    an Official Account send counts on the same person's budget and vice versa."""
    rules = MerchantRules(min_gap_hours=20, weekly_cap=3, category_cooldown_days=0, follower_value_yuan=0.0)
    state = make_state(40, 9, unsubscribed=0.0, push_density=0.0)
    state._wecom_day[:] = -1  # nobody has had today's WeCom message yet
    outsider = "wecom:wm-not-a-follower"
    state.set_wecom_contacts([*state.openids[:20], outsider])
    p = plan(state, [campaign("w", channel="wecom")], NOW, rules=rules, policy="capped")
    assert p.reason("w", outsider) == R.SENT  # not a follower, but a customer
    assert {p.reason("w", o) for o in state.openids[20:40]} == {R.NOT_A_CONTACT}
    mass = plan(state, [campaign("m")], NOW, rules=rules, policy="capped")
    assert mass.reason("m", outsider) == R.UNSUBSCRIBED  # never reached by the account
    month_before = state.month_count_at(NOW).copy()
    state.register_campaign("w", "sofa")
    state.record_plan_deliveries(p.recipients("w"), "w", NOW - 2 * HOUR, channel="wecom")
    assert np.array_equal(state.month_count_at(NOW), month_before)  # not the account's quota
    again = plan(state, [campaign("w2", channel="wecom")], NOW, rules=rules, policy="blast")
    assert {again.reason("w2", o) for o in [*state.openids[:20], outsider]} == {R.PLATFORM_LIMIT}
    after = plan(state, [campaign("m2")], NOW, rules=rules)
    assert {after.reason("m2", o) for o in state.openids[:20]} == {R.MIN_GAP}
