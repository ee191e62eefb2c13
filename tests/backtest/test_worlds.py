"""The shipped worlds behave as documented: interests, distance, fatigue, hazard, arrivals,
organic orders, and events in the shapes DESIGN.md fixes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from tests.backtest.scenarios import shipped, small

from fencun.backtest import run_backtest
from fencun.engine.clock import local_midnight, to_epoch
from fencun.worlds import SHIPPED, anyway, brand, drift, furniture, legacy, response
from fencun.worlds.population import DOG, LOYAL, ORDINARY, ScenarioError

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


@pytest.mark.parametrize("module", [furniture, brand, response, anyway, drift, legacy])
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


@pytest.mark.parametrize("module", [furniture, brand, response, drift, legacy])
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


T0 = local_midnight(date(2025, 3, 3))
FIRST = date(2025, 3, 3)


def days_of(w, n: int, first_day_pushes: list[dict]) -> list[dict]:
    events: list[dict] = []
    for d in range(n):
        events += w.day(FIRST + timedelta(days=d), first_day_pushes if d == 0 else [])
    return events


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_world_keeps_the_contract_and_is_deterministic(name):
    module = __import__(f"fencun.worlds.{name}", fromlist=["world"])
    a, b = module.world(scenario(400)), module.world(scenario(400))
    events = a.start(3)
    assert events == b.start(3)
    later = days_of(a, 3, deliveries(a, range(400), "sofa"))
    assert later == days_of(b, 3, deliveries(b, range(400), "sofa"))
    for e in events + later:
        assert set(e) == {"kind", "openid", "at"} | FIELDS[e["kind"]]
        assert datetime.fromisoformat(e["at"]).utcoffset() == timedelta(hours=8)
    assert module.__doc__ and "fencun.worlds." + name in module.__doc__


@pytest.mark.parametrize("account", ["subscription-90d.json", "service-90d.json"])
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_world_runs_a_backtest_beside_its_oracle(name, account):
    out = run_backtest(
        small(account, followers=300, days=7),
        f"fencun.worlds.{name}:world",
        "fencun",
        days=7,
        seed=1,
    )
    assert out["sent"] > 0 and out["references"]["oracle"]["sent"] > 0
    assert out["violations"] == dict.fromkeys(out["violations"], 0)


def test_the_response_world_shows_interest_only_in_answers_to_pushes():
    w = response.world(scenario(3000))
    start = w.start(4)
    assert {e["kind"] for e in start} == {"subscribe"}  # no history, no location
    events = days_of(w, 10, deliveries(w, range(3000), "sofa"))
    kinds = {e["kind"] for e in events}
    assert not kinds & {"click", "text", "location"}
    assert kinds >= {"read", "link_click", "order"}
    # Reads tell fans from others.
    sofa = w.cat_ids.index("sofa")
    readers = {e["openid"] for e in events if e["kind"] == "read"}
    fans = {w.openids[i] for i in np.flatnonzero(w.likes[:3000, sofa] > 0)}
    assert len(readers & fans) / len(fans) > 3 * len(readers - fans) / (3000 - len(fans))
    assert ((w.likes > 0).sum(axis=1) == 3).any()


def test_the_anyway_world_has_past_buyers_whose_credited_orders_are_not_incremental():
    w = anyway.world(scenario(6000))
    start = w.start(5)
    past = [e for e in start if e["kind"] == "order"]
    assert past and all(to_epoch(e["at"]) < T0 for e in past)
    buyers = {w.index[e["openid"]] for e in past}
    kinds = w.kind[:6000]
    assert 0.15 < (kinds == LOYAL).mean() < 0.25 and 0.07 < (kinds == DOG).mean() < 0.13
    assert np.mean([i in buyers for i in np.flatnonzero(kinds == LOYAL)]) > 0.6
    # Sleeping dogs: followers of more than a year, past buyers.
    dogs = np.flatnonzero(kinds == DOG)
    assert (T0 - w.sub_at[dogs] > 365 * 86400).all()
    assert np.mean([i in buyers for i in dogs]) > 0.6
    loyal = np.flatnonzero(kinds == LOYAL)
    dv = delivery(w, "decor")
    truth = w.expected_many([w.openids[i] for i in loyal], dv)
    events = days_of(w, 7, [{**dv, "openid": w.openids[i]} for i in loyal])
    credited = sum(
        e["amount"]
        for e in events
        if e["kind"] == "order"
        and e["campaign"] == dv["campaign"]
        and w.index[e["openid"]] in set(loyal)
    )
    # Last-touch credits the push with what loyal buyers bought anyway.
    assert credited > 3 * max(truth["gain_yuan"].sum(), 0.0)
    ordinary = np.flatnonzero(kinds == ORDINARY)

    def gain(rows: np.ndarray) -> np.ndarray:
        return w.expected_many([w.openids[i] for i in rows], dv)["gain_yuan"]

    assert gain(loyal).mean() < 0.5 * gain(ordinary[w.likes[ordinary, 5] > 0]).mean()


def test_pushing_a_sleeping_dog_costs_more_than_it_brings():
    w = anyway.world(scenario(6000))
    w.start(6)
    dv = delivery(w, "decor")
    dogs = np.flatnonzero(w.kind == DOG)
    others = np.flatnonzero(w.kind == ORDINARY)
    dog, other = (w.expected_many([w.openids[i] for i in rows], dv) for rows in (dogs, others))
    assert (dog["gain_yuan"] - dog["harm_yuan"]).mean() < 0
    assert dog["p_unfollow"].mean() > 5 * other["p_unfollow"].mean()
    reads = [
        e
        for e in days_of(w, 2, deliveries(w, np.concatenate([dogs, others]), "decor"))
        if e["kind"] == "read"
    ]
    read_by = np.array([w.kind[w.index[e["openid"]]] for e in reads])
    assert (read_by == DOG).sum() / dogs.size < 0.4 * (read_by == ORDINARY).sum() / others.size


def test_interests_drift_in_the_drift_world():
    w = drift.world(scenario(4000))
    w.start(7)
    before = w.likes[:4000].copy()
    days_of(w, 30, [])
    after = w.likes[:4000]
    changed = ((before > 0) != (after > 0)).any(axis=1).mean()
    assert 0.3 < changed < 0.75  # a hazard of about 1/30 a day over 30 days
    np.testing.assert_allclose(np.sort(before, axis=1), np.sort(after, axis=1))
    assert furniture.PARAMS.drift_rate == 0 and brand.PARAMS.drift_rate == 0


def test_the_legacy_world_imports_two_years_of_orders_and_engages_little():
    w = legacy.world(scenario(3000))
    start = w.start(8)
    orders = [e for e in start if e["kind"] == "order"]
    ages = np.array([(T0 - to_epoch(e["at"])) / 86400 for e in orders])
    assert len(orders) > 3000 and ages.min() > 0 and 600 < ages.max() <= 730
    subscribed = {e["openid"]: to_epoch(e["at"]) for e in start if e["kind"] == "subscribe"}
    never = {e["openid"] for e in orders} - set(subscribed)
    assert len(never) > 1000  # customers who never followed
    before_follow = [e for e in orders if to_epoch(e["at"]) < subscribed.get(e["openid"], -1)]
    assert before_follow
    fresh = furniture.world(scenario(3000))
    fresh.start(8)
    reads = {}
    for name, world in (("legacy", w), ("furniture", fresh)):
        events = days_of(world, 2, deliveries(world, range(3000), "sofa"))
        reads[name] = sum(e["kind"] == "read" for e in events)
    assert reads["legacy"] < 0.5 * reads["furniture"]
    assert not never & set(w.index)  # the engine may know them; the world never delivers
