"""Estimates are learned from observed events only, converge on a known truth, and the
state a plan reads is never changed by planning."""

from __future__ import annotations

import numpy as np
from tests.engine.factories import CATEGORIES, NOW, campaign, make_state

from fencun.engine.clock import DAY, iso
from fencun.engine.estimates import (
    PRIOR_CONVERSION,
    conversion_cells,
    daily_hazard,
    lasting_unfollow_curve,
)
from fencun.engine.planner import plan
from fencun.engine.state import FollowerState

T0 = NOW - 30 * DAY


def _population(groups: dict[str, int]) -> tuple[FollowerState, list[dict]]:
    """Followers who show no, some or strong interest in sofas, through events only."""
    events: list[dict] = []
    for group, n in groups.items():
        for i in range(n):
            openid = f"o{group}{i:07d}"
            events.append({"kind": "subscribe", "openid": openid, "at": iso(T0), "scene": "qrcode"})
            if group == "some":
                for h in (1, 2):
                    events.append(
                        {
                            "kind": "click",
                            "openid": openid,
                            "at": iso(T0 + h * 3600),
                            "key": "MENU_sofa",
                        }
                    )
            if group == "strong":
                for h in (1, 2, 3):
                    events.append(
                        {
                            "kind": "text",
                            "openid": openid,
                            "at": iso(T0 + h * 3600),
                            "content": "沙发多少钱",
                        }
                    )
    state = FollowerState(CATEGORIES)
    state.observe(events, now=T0 + DAY)
    return state, events


def test_a_new_state_plans_on_priors_and_moves_only_with_events():
    state, _ = _population({"none": 200})
    alpha, beta = conversion_cells(state, 0)
    assert np.allclose((alpha / (alpha + beta))[:, 0], PRIOR_CONVERSION)
    before = plan(state, [campaign("a")], T0 + 2 * DAY, explore=False).estimates["a"].p_order.copy()
    # Deliveries alone (no outcome) lower the estimate; orders attributed to them raise it.
    state.register_campaign("a", "sofa", [{"id": "sofa-1", "price": 2999.0}])
    state.record_deliveries(
        {"openid": o, "campaign": "a", "at": iso(T0 + 2 * DAY), "category": "sofa"}
        for o in state.openids
    )
    after_push = plan(state, [campaign("b")], T0 + 3 * DAY, explore=False).estimates["b"].p_order
    assert after_push.mean() < before.mean()
    state.observe(
        [
            {
                "kind": "order",
                "openid": o,
                "at": iso(T0 + 2.5 * DAY),
                "amount": 2999.0,
                "product": "sofa-1",
                "campaign": "a",
            }
            for o in state.openids[:40]
        ]
    )
    after_orders = plan(state, [campaign("c")], T0 + 3 * DAY, explore=False).estimates["c"].p_order
    assert after_orders[100:].mean() > after_push[100:].mean()


def test_estimated_conversion_converges_on_the_true_rates():
    truth = {"none": 0.002, "some": 0.01, "strong": 0.05}
    state, _ = _population(dict.fromkeys(truth, 8000))
    at = T0 + 2 * DAY
    state.register_campaign("launch", "sofa", [{"id": "sofa-1", "price": 2999.0}])
    state.record_plan_deliveries(np.arange(state.n), "launch", at)
    rng = np.random.default_rng(3)
    orders = []
    for group, rate in truth.items():
        members = [o for o in state.openids if o.startswith(f"o{group}")]
        for o in np.array(members)[rng.random(len(members)) < rate]:
            orders.append(
                {
                    "kind": "order",
                    "openid": str(o),
                    "at": iso(at + DAY),
                    "amount": 2999.0,
                    "product": "sofa-1",
                    "campaign": "launch",
                }
            )
    state.observe(orders, now=at + 7 * DAY)
    alpha, beta = conversion_cells(state, 0)
    mean = (alpha / (alpha + beta))[:, 0]  # unknown-distance column, by relevance bucket
    assert abs(mean[0] - truth["none"]) / truth["none"] < 0.5
    assert abs(mean[2] - truth["some"]) / truth["some"] < 0.3
    assert abs(mean[3] - truth["strong"]) / truth["strong"] < 0.2


def test_the_unfollow_hazard_is_learned_by_pressure():
    state = make_state(2000, 31, unsubscribed=0.0, push_density=0.0)
    flat = lasting_unfollow_curve(state)
    assert np.allclose(flat, 0.0)  # no data: a push is assumed to add nothing lasting
    # Half the followers are pressed hard; they unfollow, the rested do not.
    pressed = np.arange(1000)
    state._pressure[pressed] = 8.0
    state._pressure_at[: state.n] = NOW
    state.clock = state.exposure_at = NOW
    state.advance(NOW + 5 * DAY)
    state.observe(
        [
            {"kind": "unsubscribe", "openid": state.openids[i], "at": iso(NOW + 5 * DAY + 60)}
            for i in range(150)
        ]
    )
    h = daily_hazard(state)
    assert h[-1] > 5 * h[0]
    curve = lasting_unfollow_curve(state)
    assert curve.max() > 0.0


def test_planning_does_not_change_the_state():
    state = make_state(500, 32)
    snapshot = {
        name: getattr(state, name).copy()
        for name in ("pressure", "push_times", "evidence", "last_push_at")
    }
    stats = state.stats.conv_sent.copy()
    plan(state, [campaign("a"), campaign("b", "bed")], NOW, account_type="service", seed=1)
    for name, before in snapshot.items():
        assert np.array_equal(getattr(state, name), before, equal_nan=True)
    assert np.array_equal(state.stats.conv_sent, stats)
