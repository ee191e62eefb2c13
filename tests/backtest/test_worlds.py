"""The shipped worlds behave as documented: interests, distance, fatigue, hazard, arrivals,
organic orders, and events in the shapes DESIGN.md fixes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from tests.backtest.scenarios import shipped

from fencun.worlds import brand, furniture
from fencun.worlds.population import ScenarioError

FIELDS = {
    "subscribe": {"scene"},
    "unsubscribe": set(),
    "location": {"lat", "lng"},
    "text": {"content"},
    "click": {"key"},
    "read": {"campaign"},
    "link_click": {"campaign", "product"},
    "order": {"amount", "product", "campaign"},
}


def scenario(followers: int) -> dict:
    s = shipped("subscription-90d.json")
    s["followers"] = followers
    return s


def deliveries(w, rows, category: str, at: str = "2025-03-03T10:00:00+08:00") -> list[dict]:
    camp = next(c for c in w.scenario["campaigns"] if c["category"] == category)
    return [
        {
            "openid": w.openids[i],
            "campaign": camp["id"],
            "at": at,
            "title": camp["title"],
            "category": category,
            "products": camp["products"],
        }
        for i in rows
    ]


@pytest.mark.parametrize("module", [furniture, brand])
def test_events_have_the_contract_shapes(module):
    w = module.world(scenario(500))
    events = w.start(1)
    first = date(2025, 3, 3)
    events += w.day(first, deliveries(w, range(500), "sofa"))
    for d in range(1, 6):
        events += w.day(first + timedelta(days=d), [])
    kinds = {e["kind"] for e in events}
    assert kinds >= {"subscribe", "location", "text", "click", "read", "link_click", "order"}
    for e in events:
        assert set(e) == {"kind", "openid", "at"} | FIELDS[e["kind"]]
        assert datetime.fromisoformat(e["at"]).utcoffset() == timedelta(hours=8)
    assert any(e["kind"] == "order" and e["campaign"] is None for e in events)  # organic


def test_furniture_world_starts_twenty_thousand_followers():
    w = furniture.world(scenario(20_000))
    events = w.start(0)
    assert sum(e["kind"] == "subscribe" for e in events) == 20_000
    assert len(set(w.openids)) == 20_000


def test_followers_like_one_or_two_categories_and_new_ones_arrive():
    w = furniture.world(scenario(3000))
    w.start(2)
    liked = (w.likes > 0).sum(axis=1)
    assert set(np.unique(liked)) == {1, 2}
    new = w.day(date(2025, 3, 3), [])
    assert sum(e["kind"] == "subscribe" for e in new) > 0 and w.n > 3000


def test_irrelevant_pushes_tire_more_and_fatigue_decays():
    w = furniture.world(scenario(2000))
    w.start(3)
    sofa = w.cat_ids.index("sofa")
    fans = np.flatnonzero(w.likes[:, sofa] > 0)[:200]
    others = np.flatnonzero(w.likes[:, sofa] == 0)[:200]
    w.day(date(2025, 3, 3), deliveries(w, np.concatenate([fans, others]), "sofa"))
    assert w.fatigue[others].mean() > 2 * w.fatigue[fans].mean() > 0
    before = w.fatigue[fans].mean()
    w.day(date(2025, 3, 4), [])
    assert 0 < w.fatigue[fans].mean() < before


@pytest.mark.parametrize("module", [furniture, brand])
def test_unfollow_hazard_grows_faster_than_linearly_with_fatigue(module):
    p = module.PARAMS
    h = [p.base_hazard + p.hazard_scale * f**p.hazard_power for f in (0.0, 5.0, 10.0)]
    assert p.hazard_power > 1 and h[2] - h[1] > h[1] - h[0]


def test_distance_matters_for_large_items_in_the_furniture_world():
    w = furniture.world(scenario(4000))
    w.start(4)
    assert w.large[w.cat_ids.index("sofa")] and not w.large[w.cat_ids.index("decor")]
    sofa = w.cat_ids.index("sofa")
    fans = np.flatnonzero(w.likes[:, sofa] > 0)
    near, far = fans[w.dist[fans] < 10], fans[w.dist[fans] > 60]
    orders = {"near": 0, "far": 0}
    for rep in range(6):
        day = date(2025, 3, 3) + timedelta(days=rep * 20)
        w.fatigue[:] = 0.0
        out = w.day(
            day,
            deliveries(w, np.concatenate([near[:300], far[:300]]), "sofa", f"{day}T10:00:00+08:00"),
        )
        for e in out:
            if e["kind"] == "order" and e["campaign"]:
                orders["near" if w.dist[w.index[e["openid"]]] < 10 else "far"] += 1
    assert orders["near"] > 2 * orders["far"]


def test_worlds_are_deterministic_for_a_seed_and_refuse_bad_scenarios():
    a, b = furniture.world(scenario(300)), furniture.world(scenario(300))
    assert a.start(9) == b.start(9)
    assert a.day(date(2025, 3, 3), []) == b.day(date(2025, 3, 3), [])
    with pytest.raises(ScenarioError, match="followers"):
        furniture.world({**scenario(1), "followers": 0})
    with pytest.raises(ScenarioError, match="categories"):
        brand.world({**scenario(10), "categories": []})


def delivery(w, category: str, at: str = "2025-03-03T10:00:00+08:00") -> dict:
    camp = next(c for c in w.scenario["campaigns"] if c["category"] == category)
    return {
        "campaign": camp["id"],
        "at": at,
        "title": camp["title"],
        "category": category,
        "products": camp["products"],
    }


def campaign_revenue(w, days: int, deliveries_first_day: list[dict]) -> dict[str, float]:
    """Revenue of campaign-tagged orders per campaign over ``days`` from the first day."""
    out: dict[str, float] = {}
    for d in range(days):
        day = date(2025, 3, 3) + timedelta(days=d)
        for e in w.day(day, deliveries_first_day if d == 0 else []):
            if e["kind"] == "order" and e["campaign"]:
                out[e["campaign"]] = out.get(e["campaign"], 0.0) + e["amount"]
    return out


@pytest.mark.parametrize("module", [furniture, brand])
def test_expected_gain_is_what_relevant_pushes_sell(module):
    w = module.world(scenario(20_000))
    w.start(11)
    # Each follower is pushed the campaign of their favourite category.
    favourite = np.argmax(w.likes, axis=1)
    gain, worst, pushes = 0.0, 0.0, []
    for c, cat in enumerate(w.cat_ids):
        dv = delivery(w, cat)
        rows = np.flatnonzero(favourite == c)
        gain += float(w.expected_many([w.openids[i] for i in rows], dv)["gain_yuan"].sum())
        worst = max(worst, max(p["price"] for p in dv["products"]))
        pushes += [{**dv, "openid": w.openids[i]} for i in rows]
    observed = sum(campaign_revenue(w, 8, pushes).values())
    # Orders are rare: the revenue is about Poisson, var <= sum(p x amount) x max amount.
    sigma = (gain * worst) ** 0.5
    assert abs(observed - gain) < 4 * sigma + 0.05 * gain


@pytest.mark.parametrize("module", [furniture, brand])
def test_irrelevant_pushes_gain_next_to_nothing_and_cost_more(module):
    w = module.world(scenario(5000))
    w.start(12)
    sofa = w.cat_ids.index("sofa")
    fans = [w.openids[i] for i in np.flatnonzero(w.likes[:, sofa] > 0)]
    others = [w.openids[i] for i in np.flatnonzero(w.likes[:, sofa] == 0)]
    relevant = w.expected_many(fans, delivery(w, "sofa"))
    irrelevant = w.expected_many(others, delivery(w, "sofa"))
    assert relevant["gain_yuan"].mean() > 10 * abs(irrelevant["gain_yuan"].mean())
    assert irrelevant["p_unfollow"].mean() > relevant["p_unfollow"].mean() > 0
    assert (irrelevant["harm_yuan"] > 0).all()


@pytest.mark.parametrize(("module", "fatigue"), [(furniture, 12.0), (brand, 8.0)])
def test_expected_unfollows_are_those_the_added_fatigue_causes(module, fatigue):
    w = module.world(scenario(20_000))
    w.start(2)
    w.cat_rate[:] = 0.0  # no calendar after this push: nothing else adds fatigue
    w.fatigue[:] = fatigue
    dv = delivery(w, "decor")
    treated = np.random.default_rng(0).random(w.n) < 0.5
    rows = np.flatnonzero(treated)
    expected = w.expected_many([w.openids[i] for i in rows], dv)["p_unfollow"].sum()
    n0, gone = w.n, set()
    for d in range(60):
        day = date(2025, 3, 3) + timedelta(days=d)
        pushes = [{**dv, "openid": w.openids[i]} for i in rows] if d == 0 else []
        gone |= {e["openid"] for e in w.day(day, pushes) if e["kind"] == "unsubscribe"}
    idx = np.array([w.index[o] for o in gone if w.index[o] < n0])
    in_treated, in_control = int(treated[idx].sum()), int((~treated)[idx].sum())
    share = treated.sum() / (~treated).sum()
    extra = in_treated - in_control * share
    assert abs(extra - expected) < 4 * (in_treated + in_control * share**2) ** 0.5


def test_expected_is_zero_for_strangers_and_former_followers():
    w = furniture.world(scenario(300))
    w.start(1)
    w.alive[0] = False
    out = w.expected_many([w.openids[0], "o-nobody", w.openids[1]], delivery(w, "sofa"))
    assert [out[k][0] for k in ("gain_yuan", "harm_yuan", "p_unfollow")] == [0, 0, 0]
    assert [out[k][1] for k in ("gain_yuan", "harm_yuan", "p_unfollow")] == [0, 0, 0]
    assert out["harm_yuan"][2] > 0
    one = w.expected(w.openids[1], delivery(w, "sofa"))
    assert one == {k: float(v[2]) for k, v in out.items()}


def test_a_tired_follower_is_worth_pushing_less():
    w = furniture.world(scenario(2000))
    w.start(5)
    sofa = w.cat_ids.index("sofa")
    fans = [w.openids[i] for i in np.flatnonzero(w.likes[:, sofa] > 0)[:100]]
    rested = w.expected_many(fans, delivery(w, "sofa"))
    w.fatigue[:] = 10.0
    tired = w.expected_many(fans, delivery(w, "sofa"))
    assert (tired["gain_yuan"] < rested["gain_yuan"]).all()
    assert (tired["p_unfollow"] > rested["p_unfollow"]).all()
