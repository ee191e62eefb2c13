"""Estimates are learned from observed events only: uplift from randomized contrasts,
exploration that fades with evidence, a follower value imported history cannot inflate,
and a state that planning never changes."""

from __future__ import annotations

import numpy as np
from tests.engine.factories import CATEGORIES, NOW, campaign, make_state

from fencun.engine import reasons as R
from fencun.engine.clock import DAY, iso
from fencun.engine.estimates import daily_hazard, lasting_unfollow_curve, uplift
from fencun.engine.planner import dial_effect, plan
from fencun.engine.rules import MerchantRules
from fencun.engine.state import CELL_SHAPE, FollowerState

T0 = NOW - 30 * DAY
PRICE = 2000.0
PRODUCTS = [{"id": "sofa-1", "price": PRICE}]


def _followers(n: int, prefix: str = "o", at: float = T0) -> tuple[FollowerState, list[str]]:
    openids = [f"{prefix}{i:07d}" for i in range(n)]
    state = FollowerState(CATEGORIES)
    state.observe(
        [{"kind": "subscribe", "openid": o, "at": iso(at), "scene": "qrcode"} for o in openids],
        now=at + 3600,
    )
    return state, openids


def _experiment(
    state: FollowerState,
    openids: list[str],
    rng: np.random.Generator,
    *,
    p_treated: np.ndarray | float,
    p_control: np.ndarray | float,
    at: float,
    cid: str = "a",
) -> None:
    """Half the followers pushed ``cid`` at ``at``, half kept back as controls; each buys a
    sofa within the week with the given probability."""
    state.register_campaign(cid, "sofa", PRODUCTS)
    n = len(openids)
    treated = rng.random(n) < 0.5
    p = np.where(treated, p_treated, p_control)
    state.record_deliveries(
        {"openid": o, "campaign": cid, "at": at, "category": "sofa", "control": not t}
        for o, t in zip(openids, treated, strict=True)
    )
    buys = rng.random(n) < p
    state.observe(
        [
            {"kind": "order", "openid": o, "at": iso(at + 2 * DAY), "amount": PRICE,
             "product": "sofa-1", "campaign": cid if t else None}
            for o, t, b in zip(openids, treated, buys, strict=True) if b
        ],
        now=at + 8 * DAY,
    )


def _root_cell() -> int:
    """The cell of a follower with no evidence, no pushes unanswered, no orders, no
    location, interacting recently: where the synthetic followers start."""
    return int(np.ravel_multi_index((0,) * len(CELL_SHAPE), CELL_SHAPE))


def test_the_uplift_of_a_randomized_push_is_recovered_within_its_interval():
    rng = np.random.default_rng(1)
    state, openids = _followers(40_000)
    _experiment(state, openids, rng, p_treated=0.03, p_control=0.01, at=T0 + DAY)
    est = uplift(state, "orders")
    cell = _root_cell()
    mean, sd = est.mean[0, cell], np.sqrt(est.var[0, cell])
    assert abs(mean - 0.02) < 2.6 * sd and sd < 0.004
    revenue = uplift(state, "revenue")
    assert abs(revenue.mean[0, cell] - 0.02 * PRICE) < 2.6 * np.sqrt(revenue.var[0, cell])
    # What happens without the push is learned too: the control arm's rate.
    assert abs(est.control[0, cell] - 0.01) < 0.003


def test_buyers_who_buy_anyway_earn_no_credit_and_sleeping_dogs_are_learned():
    rng = np.random.default_rng(2)
    state, openids = _followers(40_000)
    # The same orders with or without the push: last-touch credit, zero uplift.
    _experiment(state, openids, rng, p_treated=0.04, p_control=0.04, at=T0 + DAY)
    cell = _root_cell()
    est = uplift(state, "orders")
    assert abs(est.mean[0, cell]) < 2.6 * np.sqrt(est.var[0, cell])
    # A push that makes them buy less shows as a negative uplift, and is not sent.
    rng = np.random.default_rng(3)
    dogs, dog_ids = _followers(40_000, prefix="d")
    _experiment(dogs, dog_ids, rng, p_treated=0.01, p_control=0.04, at=T0 + DAY)
    est = uplift(dogs, "orders")
    assert est.mean[0, cell] + 2.6 * np.sqrt(est.var[0, cell]) < 0
    at = T0 + 10 * DAY
    p = plan(dogs, [campaign("b", "sofa")], at, rules=MerchantRules(exploration=0.0))
    learned = dogs.uplift_cells(0, at) == cell  # the untouched controls, still in that cell
    reasons = np.array(p.reasons("b"))
    assert learned.sum() > 10_000 and not (reasons[learned] == R.SENT).any()
    assert (reasons[learned] == R.LOW_RELEVANCE).mean() > 0.8


def _cell(**dims: int) -> int:
    """The flat uplift cell with the given dimensions (the rest 0)."""
    names = ("relevance", "elsewhere", "unanswered", "history", "distance", "recency")
    return int(np.ravel_multi_index(tuple(dims.get(k, 0) for k in names), CELL_SHAPE))


def test_a_cell_pushed_often_and_seldom_held_back_does_not_borrow_a_baseline():
    """Buyers who buy anyway, nearly all pushed: their few controls must not be replaced by
    the lower baseline of other followers, which would credit the push with their buying."""
    rng = np.random.default_rng(6)
    state, openids = _followers(40_000)
    loyal, rest = openids[:4000], openids[4000:]
    # The loyal ones bought beds twice before: orders ever 2+, interest shown elsewhere.
    state.register_campaign("hist", "bed", [{"id": "bed-1", "price": 1500.0}])
    state.observe(
        [{"kind": "order", "openid": o, "at": iso(T0 + k * 3600), "amount": 1500.0,
          "product": "bed-1", "campaign": None} for o in loyal for k in (1, 2)],
        now=T0 + DAY,
    )
    state.register_campaign("a", "sofa", PRODUCTS)
    at = T0 + DAY + 3600
    treated_loyal = rng.random(len(loyal)) < 0.995  # about 20 controls among 4,000
    treated_rest = rng.random(len(rest)) < 0.5
    state.record_deliveries(
        [{"openid": o, "campaign": "a", "at": at, "category": "sofa", "control": not t}
         for o, t in zip(loyal, treated_loyal, strict=True)]
        + [{"openid": o, "campaign": "a", "at": at, "category": "sofa", "control": not t}
           for o, t in zip(rest, treated_rest, strict=True)]
    )
    # The loyal buy sofas at 10 % pushed or not; the rest at 1 %, 2 % when pushed.
    p = np.concatenate([np.full(len(loyal), 0.10), np.where(treated_rest, 0.02, 0.01)])
    buys = rng.random(len(openids)) < p
    state.observe(
        [{"kind": "order", "openid": o, "at": iso(at + 2 * DAY), "amount": PRICE,
          "product": "sofa-1", "campaign": None} for o, b in zip(openids, buys, strict=True) if b],
        now=at + 8 * DAY,
    )
    est = uplift(state, "orders")
    loyal_cell = _cell(elsewhere=1, history=2)
    assert state.stats.up_n[0, 0, loyal_cell] > 3900
    # Their push adds nothing: far below the 9 points a borrowed 1 % baseline would credit.
    assert est.mean[0, loyal_cell] < 0.03
    assert abs(est.mean[0, _cell()] - 0.01) < 2.6 * np.sqrt(est.var[0, _cell()])


def test_interest_shown_elsewhere_is_told_apart_from_knowing_nothing():
    """Followers who showed interest only in beds do not buy sofas when pushed; followers
    the engine knows nothing about do. Their uplifts are learned apart, and the second are
    sent."""
    rng = np.random.default_rng(7)
    state, openids = _followers(30_000)
    bed_people = set(openids[:15_000])
    state.register_campaign("b0", "bed", [{"id": "bed-1", "price": 1500.0}])
    state.observe(
        [{"kind": "click", "openid": o, "at": iso(T0 + 3600), "key": "bed"} for o in bed_people],
        now=T0 + DAY,
    )
    for k, cid in enumerate(("s1", "s2", "s3")):
        at = T0 + (1 + 8 * k) * DAY + 3600
        state.register_campaign(cid, "sofa", PRODUCTS)
        treated = rng.random(len(openids)) < 0.5
        state.record_deliveries(
            {"openid": o, "campaign": cid, "at": at, "category": "sofa", "control": not t}
            for o, t in zip(openids, treated, strict=True)
        )
        p = np.where([o in bed_people for o in openids], 0.002, np.where(treated, 0.03, 0.002))
        buys = rng.random(len(openids)) < p
        state.observe(
            [{"kind": "order", "openid": o, "at": iso(at + 2 * DAY), "amount": PRICE,
              "product": "sofa-1", "campaign": None}
             for o, b in zip(openids, buys, strict=True) if b],
            now=at + 8 * DAY,
        )
    at = T0 + 26 * DAY
    p = plan(state, [campaign("c", "sofa")], at, rules=MerchantRules(exploration=0.0))
    reasons = np.array(p.reasons("c"))
    bed = np.array([o in bed_people for o in p.openids])
    subscribed = reasons != R.UNSUBSCRIBED
    est = p.estimates["c"]
    fresh = est.relevance == 0  # no pushes answered by an order
    assert est.uplift[bed & fresh].mean() < 0.1 * est.uplift[~bed & fresh].mean()
    assert abs(est.uplift[~bed & fresh].mean() - 0.028 * PRICE) < 0.3 * 0.028 * PRICE
    assert (reasons[~bed & subscribed] == R.SENT).mean() > 0.5


def test_cold_start_explores_and_exploration_shrinks_as_evidence_grows():
    state, openids = _followers(20_000)
    camps = [campaign("a", "sofa")]
    first = plan(state, camps, T0 + 2 * DAY, seed=1).summaries[0]
    # A new account tries the campaign on most of its followers, not a handful.
    assert first.sent > 0.5 * first.audience
    # Evidence that the push costs orders: the engine stops, but for a bounded share of
    # followers it still tries (at most ``exploration_share`` of them).
    rng = np.random.default_rng(4)
    _experiment(state, openids, rng, p_treated=0.0005, p_control=0.003, at=T0 + 3 * DAY, cid="x")
    later = plan(state, [campaign("b", "sofa")], T0 + 12 * DAY, seed=1).summaries[0]
    assert later.sent <= MerchantRules().exploration_share * later.audience
    assert later.sent < first.sent / 4


def test_the_dial_is_monotone_and_its_table_is_the_plan():
    state = make_state(6000, 21, unsubscribed=0.0, push_density=0.3)
    camps = [campaign("a", "sofa")]
    values = [10.0, 200.0, 2000.0, 20000.0, 200000.0]
    rows = dial_effect(state, camps, NOW, values, account_type="service", seed=3)
    sent = [r["sent"] for r in rows]
    assert sent == sorted(sent, reverse=True) and sent[0] > sent[-1]
    for v, row in zip(values, rows, strict=True):
        p = plan(state, camps, NOW, account_type="service", seed=3,
                 rules=MerchantRules(follower_value_yuan=v))
        assert row["sent"] == p.summaries[0].sent


def _imported(state: FollowerState, openids: list[str], rng: np.random.Generator) -> None:
    """Two years of orders from before the follower log began, and orders of customers
    who never followed."""
    events = []
    for o in openids[: len(openids) // 3]:
        for _ in range(3):
            at = T0 - rng.uniform(30, 730) * DAY
            events.append({"kind": "order", "openid": o, "at": iso(at), "amount": 5000.0,
                           "product": "sofa-1", "campaign": None})
    for i in range(2000):
        events.append({"kind": "order", "openid": f"shop{i:06d}", "at": iso(T0 - 100 * DAY),
                       "amount": 5000.0, "product": "sofa-1", "campaign": None})
    events.sort(key=lambda e: e["at"])
    state.observe(events, now=T0 + 3600)


def test_imported_order_history_does_not_move_the_follower_value_or_the_plan():
    rng = np.random.default_rng(5)
    plain, openids = _followers(6000)
    history = FollowerState(CATEGORIES)
    history.register_campaign("seed", "sofa", PRODUCTS)
    plain.register_campaign("seed", "sofa", PRODUCTS)
    _imported(history, openids, rng)
    history.observe(
        [{"kind": "subscribe", "openid": o, "at": iso(T0), "scene": "qrcode"} for o in openids],
        now=T0 + 3600,
    )
    # The same 30 days of everyday orders in both.
    days = []
    for o in openids[:60]:
        days.append({"kind": "order", "openid": o, "at": iso(T0 + rng.uniform(1, 29) * DAY),
                     "amount": 800.0, "product": "sofa-1", "campaign": None})
    days.sort(key=lambda e: e["at"])
    for s in (plain, history):
        s.observe(days, now=NOW)
    camps = [campaign("a", "sofa")]
    a = plan(plain, camps, NOW, seed=2)
    b = plan(history, camps, NOW, seed=2)
    assert b.follower_value_yuan == a.follower_value_yuan
    # Nobody who never followed is planned for.
    assert b.summaries[0].audience - b.summaries[0].held_back.get(R.UNSUBSCRIBED, 0) == len(openids)
    assert abs(a.summaries[0].sent - b.summaries[0].sent) < 0.1 * len(openids)


def test_the_unfollow_hazard_is_learned_by_pressure():
    state = make_state(3000, 31, unsubscribed=0.0, push_density=0.0)
    flat = daily_hazard(state)
    assert np.allclose(flat, flat[0])
    assert np.allclose(lasting_unfollow_curve(state), 0.0)
    # Followers under pressure unfollow more: the hazard and the lasting harm rise with it.
    state.stats.haz_days[:] = 50_000.0
    state.stats.haz_unf[:] = 50_000.0 * np.array([0.0002, 0.0004, 0.001, 0.002, 0.004, 0.008, 0.015])
    hazard = daily_hazard(state)
    assert (np.diff(hazard) >= 0).all() and hazard[-1] > 10 * hazard[0]
    curve = lasting_unfollow_curve(state)
    assert curve[-1] > curve[0] > 0


def test_planning_does_not_change_the_state():
    state = make_state(2000, 41)
    before = {k: getattr(state.stats, k).copy() for k in ("up_n", "up_y", "att_n", "unf_sent")}
    plan(state, [campaign("a", "sofa"), campaign("b", "bed")], NOW, seed=1)
    for k, v in before.items():
        assert np.array_equal(getattr(state.stats, k), v)
