"""A vectorised follower population that answers pushes with events: the shared body of
the shipped worlds. A world knows each follower's hidden truth (liked categories, home,
fatigue); the engine never sees it, only the events a world emits.

Model, per follower and per simulated day (all numpy, no per-follower Python loop):

* **Interests**: one or two liked categories (popularity skewed), each with an affinity
  in (0, 1]; everything else is of no interest.
* **Distance**: a home drawn around the population's centres; large items (a category
  whose typical price is at least ``large_item_yuan``) convert less the further the
  nearest store is (``exp(-km / distance_scale_km)``); small items do not care.
* **Fatigue**: every push adds ``fatigue_relevant`` (a liked category) or
  ``fatigue_irrelevant`` (more: irrelevant pushes tire more), and fatigue decays with a
  half-life of ``fatigue_half_life_days``. Fatigue dulls attention: reads and orders are
  multiplied by ``exp(-fatigue / attention_scale)``.
* **Unfollowing**: a daily hazard ``base_hazard + hazard_scale * fatigue ** hazard_power``
  with ``hazard_power > 1``: it grows faster than linearly with fatigue. An unfollow on a
  day with a push comes within hours of that push.
* **Orders**: from a push of a liked category (``conversion``, x affinity x distance x
  attention), rarely from an irrelevant one (``conversion_irrelevant``), a part of them a
  few days later; organic orders (``organic_rate`` per day, liked categories) with no
  campaign.
* **Signals** through which interest shows: reads and link clicks of pushes, menu clicks
  whose key names a liked category, texts asking about it, locations (on subscribing and
  now and then).
* **New followers** arrive every day (``daily_new_fraction`` of the starting population,
  Poisson), subscribing through the scenes the population uses.

Randomness comes from one generator seeded by ``start(seed)``: a world is deterministic
for a seed and the deliveries it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from fencun.engine.clock import DAY, HOUR, SHANGHAI, iso, local_midnight, to_epoch

EARTH_KM = 6371.0088


@dataclass(frozen=True)
class Centre:
    """Where followers live: a centre (GCJ-02), its spread (km, normal) and its share."""

    lat: float
    lng: float
    spread_km: float
    weight: float


@dataclass(frozen=True)
class WorldParams:
    """The behaviour of one population. Rates are per follower per day unless stated."""

    name: str
    prefix: str  # openid prefix (letters), so two worlds never share openids
    followers: int  # starting population when the scenario does not say
    centres: tuple[Centre, ...]
    scenes: tuple[tuple[str, float], ...]  # subscribe scene -> share
    second_interest: float  # share of followers who like two categories
    popularity_skew: float  # category popularity ~ 1 / rank ** skew
    large_item_yuan: float
    distance_scale_km: float
    conversion: float  # P(order | push of a liked category, affinity 1, near, rested)
    conversion_irrelevant: float
    delayed_share: float  # share of push orders that come 1-6 days later
    read_relevant: float
    read_irrelevant: float
    click_given_read_relevant: float
    click_given_read_irrelevant: float
    fatigue_relevant: float
    fatigue_irrelevant: float
    fatigue_half_life_days: float
    attention_scale: float
    base_hazard: float
    hazard_scale: float
    hazard_power: float
    organic_rate: float
    menu_click_rate: float
    text_rate: float
    location_on_subscribe: float
    location_rate: float
    daily_new_fraction: float
    price_elasticity: float  # conversion x (typical price / price) ** elasticity


def haversine_km(lat1: np.ndarray, lng1: np.ndarray, lat2: float, lng2: float) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlng = p2 - p1, np.radians(lng2 - lng1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlng / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


class ScenarioError(ValueError):
    """A scenario a world cannot be built from."""


def _scenario_catalog(
    scenario: Mapping[str, Any],
) -> tuple[list[str], list[str], dict[str, list[tuple[str, float]]], dict[str, int]]:
    """Category ids, display names, products per category and product -> category."""
    cats = scenario.get("categories")
    if not isinstance(cats, list) or not cats:
        raise ScenarioError("scenario needs a non-empty 'categories' list")
    ids: list[str] = []
    names: list[str] = []
    for item in cats:
        if isinstance(item, str):
            ids.append(item)
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            ids.append(item["id"])
            names.append(str(item.get("name") or item["id"]))
        else:
            raise ScenarioError(f"bad category {item!r}")
    index = {c: i for i, c in enumerate(ids)}
    products: dict[str, list[tuple[str, float]]] = {c: [] for c in ids}
    product_cat: dict[str, int] = {}
    for camp in scenario.get("campaigns") or ():
        cat = camp.get("category")
        if cat not in index:
            raise ScenarioError(f"campaign {camp.get('id')!r}: unknown category {cat!r}")
        for p in camp.get("products") or ():
            pid, price = str(p["id"]), float(p["price"])
            if pid not in product_cat:
                product_cat[pid] = index[cat]
                products[cat].append((pid, price))
    return ids, names, products, product_cat


class PopulationWorld:
    """A world for ``fencun backtest``: ``start(seed)`` then ``day(date, deliveries)`` per day."""

    def __init__(self, params: WorldParams, scenario: Mapping[str, Any]) -> None:
        self.p = params
        self.scenario = scenario
        self.cat_ids, self.cat_names, self.products, self.product_cat = _scenario_catalog(scenario)
        stores = scenario.get("stores") or []
        try:
            self.stores = [(float(s["lat"]), float(s["lng"])) for s in stores]
        except (KeyError, TypeError, ValueError) as exc:
            raise ScenarioError(f"bad store in scenario: {exc}") from exc
        n = scenario.get("followers", params.followers)
        if not isinstance(n, int) or n < 1:
            raise ScenarioError(f"'followers' must be a positive integer, not {n!r}")
        self.n_start = n
        k = len(self.cat_ids)
        # Typical price per category: the median of its products, or a default.
        typical = []
        for c in self.cat_ids:
            prices = [price for _, price in self.products[c]]
            typical.append(float(np.median(prices)) if prices else 500.0)
        self.typical_price = np.array(typical)
        self.large = self.typical_price >= params.large_item_yuan
        self.popularity = 1.0 / np.arange(1, k + 1) ** params.popularity_skew
        self.popularity /= self.popularity.sum()
        self.rng = np.random.default_rng(0)
        self.n = 0
        self.started = False

    # ----- population ------------------------------------------------------------------
    def _grow(self, m: int, at: np.ndarray) -> list[dict[str, Any]]:
        """Add ``m`` followers subscribing at epoch times ``at``; their subscribe events."""
        p, rng, k = self.p, self.rng, len(self.cat_ids)
        w = np.array([c.weight for c in p.centres])
        which = rng.choice(len(p.centres), size=m, p=w / w.sum())
        clat = np.array([c.lat for c in p.centres])[which]
        clng = np.array([c.lng for c in p.centres])[which]
        spread = np.array([c.spread_km for c in p.centres])[which]
        lat = clat + rng.normal(0, 1, m) * spread / 111.0
        lng = clng + rng.normal(0, 1, m) * spread / (111.0 * np.cos(np.radians(clat)))
        if self.stores:
            dist = np.min(
                np.stack([haversine_km(lat, lng, s[0], s[1]) for s in self.stores]), axis=0
            )
        else:
            dist = np.full(m, 1e4)
        first = rng.choice(k, size=m, p=self.popularity)
        likes = np.zeros((m, k), dtype=np.float64)
        likes[np.arange(m), first] = rng.beta(4, 2, m)
        two = rng.random(m) < p.second_interest
        second = rng.choice(k, size=m, p=self.popularity)
        ok = two & (second != first)
        likes[np.flatnonzero(ok), second[ok]] = rng.beta(2, 3, int(ok.sum()))
        start = self.n
        ids = [f"o{p.prefix}{self.seed:04d}{i:09d}" for i in range(start, start + m)]
        self.openids.extend(ids)
        self.index.update({o: start + j for j, o in enumerate(ids)})
        self.lat = np.concatenate([self.lat, lat])
        self.lng = np.concatenate([self.lng, lng])
        self.dist = np.concatenate([self.dist, dist])
        self.likes = np.concatenate([self.likes, likes])
        self.alive = np.concatenate([self.alive, np.ones(m, dtype=np.bool_)])
        self.fatigue = np.concatenate([self.fatigue, np.zeros(m)])
        self.shared_location = np.concatenate(
            [self.shared_location, rng.random(m) < p.location_on_subscribe]
        )
        self.n += m
        scene_names = [s for s, _ in p.scenes]
        scene_w = np.array([w for _, w in p.scenes])
        scenes = rng.choice(len(scene_names), size=m, p=scene_w / scene_w.sum())
        events: list[dict[str, Any]] = []
        for j in range(m):
            i = start + j
            events.append(
                {
                    "kind": "subscribe",
                    "openid": ids[j],
                    "at": iso(at[j]),
                    "scene": scene_names[scenes[j]],
                }
            )
            if self.shared_location[i]:
                events.append(self._location(i, at[j] + 5.0))
        return events

    def _location(self, i: int, ts: float) -> dict[str, Any]:
        return {
            "kind": "location",
            "openid": self.openids[i],
            "at": iso(ts),
            "lat": round(float(self.lat[i]), 6),
            "lng": round(float(self.lng[i]), 6),
        }

    def start(self, seed: int) -> list[dict[str, Any]]:
        """The starting population: subscribe (and location) events over the past two years."""
        self.seed = int(seed) % 10_000
        self.rng = np.random.default_rng([seed, sum(map(ord, self.p.name))])
        k = len(self.cat_ids)
        self.n = 0
        self.openids: list[str] = []
        self.index: dict[str, int] = {}
        self.lat = self.lng = self.dist = self.fatigue = np.zeros(0)
        self.likes = np.zeros((0, k))
        self.alive = self.shared_location = np.zeros(0, dtype=np.bool_)
        self.pending: list[
            tuple[int, int, str, str, float]
        ] = []  # (day, row, campaign, product, amount)
        self.first_day = _scenario_start(self.scenario)
        t0 = local_midnight(self.first_day)
        at = np.sort(t0 - self.rng.uniform(1, 730, self.n_start) * DAY)
        events = self._grow(self.n_start, at)
        self.started = True
        # A history of signals so interest can show before the first push.
        events.extend(self._signals(t0 - 30 * DAY, days=30.0))
        events.sort(key=lambda e: to_epoch(e["at"]))
        return events

    # ----- one day ---------------------------------------------------------------------
    def _times(self, m: int, day0: float, lo_h: float = 7.0, hi_h: float = 23.5) -> np.ndarray:
        return day0 + self.rng.uniform(lo_h * HOUR, hi_h * HOUR, m)

    def _signals(self, day0: float, days: float = 1.0) -> list[dict[str, Any]]:
        """Menu clicks, texts, locations and organic orders of living followers over ``days``."""
        p, rng = self.p, self.rng
        alive = np.flatnonzero(self.alive)
        events: list[dict[str, Any]] = []
        if alive.size == 0:
            return events
        liked = self.likes[alive] > 0
        # Pick one liked category per follower for today's signal (weighted by affinity).
        w = self.likes[alive]
        cum = np.cumsum(w, axis=1)
        pick = (cum < rng.random(alive.size)[:, None] * cum[:, -1:]).sum(axis=1)
        pick = np.minimum(pick, len(self.cat_ids) - 1)
        aff = self.likes[alive, pick]
        rested = np.exp(-self.fatigue[alive] / p.attention_scale)
        span = days * (16.5 * HOUR)
        menu = rng.random(alive.size) < 1 - np.exp(-p.menu_click_rate * days * (0.5 + aff))
        text = rng.random(alive.size) < 1 - np.exp(-p.text_rate * days * (0.5 + aff))
        loc = rng.random(alive.size) < 1 - np.exp(-p.location_rate * days)
        dist_f = np.where(self.large[pick], np.exp(-self.dist[alive] / p.distance_scale_km), 1.0)
        organic = rng.random(alive.size) < 1 - np.exp(
            -p.organic_rate * days * aff * dist_f * (0.5 + 0.5 * rested)
        )
        organic &= liked.any(axis=1)

        def when(mask: np.ndarray) -> np.ndarray:
            return day0 + 7 * HOUR + rng.uniform(0, span, int(mask.sum()))

        for j, ts in zip(np.flatnonzero(menu), when(menu), strict=True):
            i, c = int(alive[j]), int(pick[j])
            events.append(
                {
                    "kind": "click",
                    "openid": self.openids[i],
                    "at": iso(ts),
                    "key": f"MENU_{self.cat_ids[c]}",
                }
            )
        for j, ts in zip(np.flatnonzero(text), when(text), strict=True):
            i, c = int(alive[j]), int(pick[j])
            events.append(
                {
                    "kind": "text",
                    "openid": self.openids[i],
                    "at": iso(ts),
                    "content": f"{self.cat_names[c]}有活动吗？",
                }
            )
        for j, ts in zip(np.flatnonzero(loc), when(loc), strict=True):
            i = int(alive[j])
            self.shared_location[i] = True
            events.append(self._location(i, ts))
        for j, ts in zip(np.flatnonzero(organic), when(organic), strict=True):
            i, c = int(alive[j]), int(pick[j])
            pid, price = self._product(c)
            events.append(
                {
                    "kind": "order",
                    "openid": self.openids[i],
                    "at": iso(ts),
                    "amount": price,
                    "product": pid,
                    "campaign": None,
                }
            )
        return events

    def _product(self, c: int) -> tuple[str, float]:
        items = self.products[self.cat_ids[c]]
        if not items:
            return f"{self.cat_ids[c]}-store", float(self.typical_price[c])
        pid, price = items[int(self.rng.integers(len(items)))]
        return pid, price

    def day(
        self, when: date | str, deliveries: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Events of local day ``when`` given the pushes delivered that day, sorted by time."""
        if not self.started:
            raise RuntimeError("call start(seed) before day()")
        d = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        p, rng = self.p, self.rng
        day0 = local_midnight(d)
        day_no = (d - self.first_day).days
        events: list[dict[str, Any]] = []
        # Fatigue decays over the day that passed.
        self.fatigue *= 0.5 ** (1.0 / p.fatigue_half_life_days)
        pushed_at = np.full(self.n, np.nan)
        # Group deliveries by campaign: one vectorised response per campaign.
        groups: dict[str, tuple[list[int], Mapping[str, Any]]] = {}
        for dv in deliveries:
            i = self.index.get(str(dv["openid"]), -1)
            if i < 0 or not self.alive[i]:
                continue  # unknown or gone: the platform would not deliver
            groups.setdefault(str(dv["campaign"]), ([], dv))[0].append(i)
        for cid, (rows_list, dv) in groups.items():
            rows = np.unique(np.asarray(rows_list, dtype=np.int64))
            sent_at = to_epoch(dv["at"])
            c = self.cat_ids.index(str(dv["category"])) if dv["category"] in self.cat_ids else -1
            products = [(str(x["id"]), float(x["price"])) for x in dv.get("products") or ()]
            aff = self.likes[rows, c] if c >= 0 else np.zeros(rows.size)
            relevant = aff > 0
            rested = np.exp(-self.fatigue[rows] / p.attention_scale)
            pushed_at[rows] = np.fmin(np.nan_to_num(pushed_at[rows], nan=np.inf), sent_at)
            self.fatigue[rows] += np.where(relevant, p.fatigue_relevant, p.fatigue_irrelevant)
            read = (
                rng.random(rows.size)
                < np.where(relevant, p.read_relevant, p.read_irrelevant) * rested
            )
            click = read & (
                rng.random(rows.size)
                < np.where(relevant, p.click_given_read_relevant, p.click_given_read_irrelevant)
            )
            if products:
                price = float(np.mean([pr for _, pr in products]))
            else:
                price = float(self.typical_price[c]) if c >= 0 else 500.0
            ref = float(self.typical_price[c]) if c >= 0 else price
            price_f = (ref / max(price, 1.0)) ** p.price_elasticity
            dist_f = (
                np.exp(-self.dist[rows] / p.distance_scale_km)
                if c >= 0 and self.large[c]
                else np.ones(rows.size)
            )
            p_order = (
                np.where(relevant, p.conversion * aff * dist_f, p.conversion_irrelevant)
                * rested
                * price_f
            )
            order = rng.random(rows.size) < np.minimum(p_order, 1.0)
            read_at = sent_at + rng.exponential(3 * HOUR, rows.size)
            for j in np.flatnonzero(read):
                i = int(rows[j])
                events.append(
                    {
                        "kind": "read",
                        "openid": self.openids[i],
                        "at": iso(read_at[j]),
                        "campaign": cid,
                    }
                )
            for j in np.flatnonzero(click):
                i = int(rows[j])
                pid = products[int(rng.integers(len(products)))][0] if products else None
                events.append(
                    {
                        "kind": "link_click",
                        "openid": self.openids[i],
                        "at": iso(read_at[j] + 60.0),
                        "campaign": cid,
                        "product": pid,
                    }
                )
            later = rng.random(rows.size) < p.delayed_share
            delay = rng.integers(1, 7, rows.size)
            for j in np.flatnonzero(order):
                i = int(rows[j])
                if products:
                    pid, amount = products[int(rng.integers(len(products)))]
                else:
                    pid, amount = (f"{dv['category']}-store", price)
                if later[j]:
                    self.pending.append((day_no + int(delay[j]), i, cid, pid, amount))
                else:
                    events.append(
                        {
                            "kind": "order",
                            "openid": self.openids[i],
                            "at": iso(read_at[j] + HOUR),
                            "amount": amount,
                            "product": pid,
                            "campaign": cid,
                        }
                    )
        # Orders decided on earlier days that land today (if still following).
        due = [x for x in self.pending if x[0] == day_no]
        self.pending = [x for x in self.pending if x[0] > day_no]
        for _, i, cid, pid, amount in due:
            if self.alive[i]:
                ts = float(self._times(1, day0, 9.0, 22.0)[0])
                events.append(
                    {
                        "kind": "order",
                        "openid": self.openids[i],
                        "at": iso(ts),
                        "amount": amount,
                        "product": pid,
                        "campaign": cid,
                    }
                )
        events.extend(self._signals(day0))
        # Unfollows: a hazard superlinear in fatigue.
        alive = np.flatnonzero(self.alive)
        hazard = p.base_hazard + p.hazard_scale * self.fatigue[alive] ** p.hazard_power
        gone = alive[rng.random(alive.size) < -np.expm1(-hazard)]
        for i in gone.tolist():
            if np.isnan(pushed_at[i]):
                ts = float(self._times(1, day0, 0.5, 23.9)[0])
            else:
                ts = float(pushed_at[i] + rng.exponential(4 * HOUR))
            events.append({"kind": "unsubscribe", "openid": self.openids[i], "at": iso(ts)})
        self.alive[gone] = False
        # New followers.
        m = int(rng.poisson(p.daily_new_fraction * self.n_start))
        if m:
            events.extend(self._grow(m, np.sort(self._times(m, day0))))
        # A follower who unfollowed emits nothing after the unfollow.
        cut = {self.openids[i]: None for i in gone.tolist()}
        if cut:
            unf_at = {e["openid"]: to_epoch(e["at"]) for e in events if e["kind"] == "unsubscribe"}
            events = [
                e
                for e in events
                if e["openid"] not in unf_at
                or e["kind"] == "unsubscribe"
                or to_epoch(e["at"]) < unf_at[e["openid"]]
            ]
        events.sort(key=lambda e: to_epoch(e["at"]))
        return events

    # ----- ground truth, for tests and reports (never shown to the engine) ------------
    def followers_alive(self) -> int:
        return int(self.alive.sum())

    def likes_category(self, openid: str, category: str) -> bool:
        return bool(self.likes[self.index[openid], self.cat_ids.index(category)] > 0)


def _scenario_start(scenario: Mapping[str, Any]) -> date:
    start = scenario.get("start", "2025-03-03")
    try:
        return (
            datetime.fromisoformat(str(start)).astimezone(SHANGHAI).date()
            if "T" in str(start)
            else date.fromisoformat(str(start))
        )
    except ValueError as exc:
        raise ScenarioError(f"'start' must be a date like 2025-03-03, not {start!r}") from exc
