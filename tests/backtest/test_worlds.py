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
