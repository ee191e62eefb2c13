"""A follower's own word on marketing: 退订 or TD holds back every marketing push, on every
channel and under every policy, until the follower replies 订阅."""

from __future__ import annotations

import itertools

import pytest
from tests.engine.factories import CATEGORIES, NOW, STORES, campaign

from fencun.engine import reasons as R
from fencun.engine.clock import iso
from fencun.engine.consent import consent_change
from fencun.engine.planner import plan
from fencun.engine.state import FollowerState


@pytest.mark.parametrize(
    "text, change",
    [("退订", False), (" TD ", False), ("td", False), ("订阅", True),
     ("这个沙发还能退订吗", None), ("TD5", None), ("", None), (None, None)],
)
def test_only_the_keyword_alone_is_a_word_on_marketing(text, change):
    assert consent_change(text) is change


def _state(words: list[tuple[str, float]]) -> FollowerState:
    state = FollowerState(CATEGORIES, STORES)
    events = [{"kind": "subscribe", "openid": o, "at": iso(NOW - 9 * 86400)} for o in ("o_out", "o_in")]
    events += [{"kind": "text", "openid": "o_out", "at": iso(at), "content": w} for w, at in words]
    state.observe(events, NOW)
    return state


@pytest.mark.parametrize("policy", ["fencun", "blast", "capped", "simple"])
def test_a_follower_who_replied_td_is_held_back_with_that_reason(policy):
    state = _state([("TD", NOW - 3600)])
    p = plan(state, [campaign("sofa_sale"), campaign("cs", channel="customer_service")], NOW, policy=policy)
    for cid in ("sofa_sale", "cs"):
        assert p.reason(cid, "o_out") == R.OPTED_OUT
        assert p.reason(cid, "o_in") != R.OPTED_OUT


def test_the_latest_word_wins_in_whatever_order_the_events_arrive():
    words = [("退订", NOW - 7200), ("订阅", NOW - 3600)]
    for order in itertools.permutations(words):
        assert not _state(list(order)).opted_out.any()
    later_refusal = [("订阅", NOW - 7200), ("退订", NOW - 3600)]
    for order in itertools.permutations(later_refusal):
        assert _state(list(order)).opted_out.tolist() == [True, False]


def test_a_question_that_mentions_unsubscribing_is_evidence_not_a_refusal():
    state = _state([("这个沙发还能退订吗", NOW - 60)])
    assert not state.opted_out.any()
