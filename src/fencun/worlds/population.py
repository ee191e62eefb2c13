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

Optional behaviours, off by default (the furniture and brand worlds use none of them):

* **Follower types**: *loyal buyers* (``loyal_share``) order often on their own and are
  barely moved by a push; for ``anyway_window_days`` after a push their own orders come
  tagged with the push's campaign, as last-touch attribution would credit them. *Sleeping
  dogs* (``dog_share``, drawn among followers of more than a year) rarely read; a push
  tires them more, cuts their own buying (it falls with fatigue) and raises their unfollow
  hazard.
* **Imported order history**: order events before the first day (``history_days`` back),
  at a yearly rate per type, mostly of liked categories; optionally before the follower
  subscribed, and from customers who never subscribe (``history_customers``).
* **Drifting interests** (``drift_rate`` per follower per day): one liked category is
  replaced by another, so old evidence goes stale.
* A **third liked category** (``third_interest``) and no **signal history** before the
  first day (``signal_history_days = 0``).

**Ground truth**: :meth:`PopulationWorld.expected_many` gives the world's true expected
incremental revenue and harm of a delivery now, for the backtest's oracle.

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
#: Follower types: ordinary, loyal buyer, sleeping dog.
ORDINARY, LOYAL, DOG = 0, 1, 2
#: The oracle's horizon, in fatigue half-lives: the added fatigue is under 2 % after it.
HORIZON_HALF_LIVES = 6.0
#: A follower's value counts at most this many days ahead.
VALUE_HORIZON_DAYS = 365.0
#: Relevant pushes a week assumed when the scenario has no campaign calendar.
TYPICAL_RELEVANT_PER_WEEK = 2.0


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
    # Optional behaviours (see the module docstring); the defaults switch them off.
    third_interest: float = 0.0  # share of two-category followers who like a third
    signal_history_days: float = 30.0  # days of menu clicks, texts... before the first day
    loyal_share: float = 0.0
    loyal_organic_mult: float = 1.0  # x organic_rate
    loyal_conversion_mult: float = 1.0  # x the push conversion
    anyway_window_days: int = 0  # a loyal buyer's own orders this long after a push are tagged
    dog_share: float = 0.0
    dog_read_mult: float = 1.0
    dog_conversion_mult: float = 1.0
    dog_fatigue_mult: float = 1.0  # x the fatigue a push adds
    dog_hazard_mult: float = 1.0  # x the fatigue part of the unfollow hazard
    organic_fatigue_share: float = 0.5  # share of organic buying that fatigue can dull
    loyal_organic_fatigue_share: float = 0.5
    dog_organic_fatigue_share: float = 0.5
    history_days: float = 0.0  # how far back imported orders go
    history_orders_per_year: float = 0.0  # per ordinary follower
    loyal_history_per_year: float = 0.0
    dog_history_per_year: float = 0.0
    history_liked_share: float = 0.8  # imported orders in a liked category (else any)
    history_before_subscribe: bool = False  # imported orders may predate the follow
    history_customers: float = 0.0  # customers who never subscribe, x starting followers
    history_customer_orders: float = 1.5  # their mean imported orders
    drift_rate: float = 0.0  # per follower per day: one liked category moves to another


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

    # One entry per follower, set by start() and grown as followers subscribe.
    lat: np.ndarray
    lng: np.ndarray
    dist: np.ndarray
    likes: np.ndarray
    alive: np.ndarray
    fatigue: np.ndarray
    shared_location: np.ndarray
    sub_at: np.ndarray
    kind: np.ndarray

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
        # What a follower's own order of a category is worth on average (a product at random).
        self.mean_price = np.array(
            [
                float(np.mean([pr for _, pr in self.products[c]])) if self.products[c] else t
                for c, t in zip(self.cat_ids, typical, strict=True)
            ]
        )
        self.large = self.typical_price >= params.large_item_yuan
        self.popularity = 1.0 / np.arange(1, k + 1) ** params.popularity_skew
        self.popularity /= self.popularity.sum()
        self.cat_rate, self.push_price = self._calendar(scenario)
        p = params
        # Per follower type (ordinary, loyal buyer, sleeping dog): multipliers of the model.
        self.kind_conversion = np.array([1.0, p.loyal_conversion_mult, p.dog_conversion_mult])
        self.kind_organic = np.array([1.0, p.loyal_organic_mult, 1.0])
        self.kind_read = np.array([1.0, 1.0, p.dog_read_mult])
        self.kind_fatigue = np.array([1.0, 1.0, p.dog_fatigue_mult])
        self.kind_hazard = np.array([1.0, 1.0, p.dog_hazard_mult])
        self.kind_organic_fatigue = np.array(
            [p.organic_fatigue_share, p.loyal_organic_fatigue_share, p.dog_organic_fatigue_share]
        )
        self.rng = np.random.default_rng(0)
        self.n = 0
        self.started = False

    def _calendar(self, scenario: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Campaigns a day of each category on the scenario's calendar, and what one push of
        each category sells to a rested follower of affinity 1 nearby, per unit of
        conversion (its products' mean price x the price response), yuan."""
        k = len(self.cat_ids)
        index = {c: i for i, c in enumerate(self.cat_ids)}
        counts, value = np.zeros(k), np.zeros(k)
        span = 1
        for camp in scenario.get("campaigns") or ():
            c = index[camp["category"]]
            prices = [float(x["price"]) for x in camp.get("products") or ()]
            price = float(np.mean(prices)) if prices else float(self.typical_price[c])
            counts[c] += 1
            value[c] += price * self._price_factor(c, price)
            try:
                span = max(span, int(camp.get("day", 0)) + int(camp.get("days", 1)))
            except (TypeError, ValueError):
                continue
        push_price = np.where(counts > 0, value / np.maximum(counts, 1), self.typical_price)
        if counts.sum() == 0:
            return np.full(k, TYPICAL_RELEVANT_PER_WEEK / 7.0), push_price
        return counts / span, push_price

    def _price_factor(self, c: int, price: float) -> float:
        ref = float(self.typical_price[c]) if c >= 0 else price
        return float((ref / max(price, 1.0)) ** self.p.price_elasticity)

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
        if p.third_interest > 0:
            three = ok & (rng.random(m) < p.third_interest)
            third = rng.choice(k, size=m, p=self.popularity)
            ok3 = three & (likes[np.arange(m), third] == 0)
            likes[np.flatnonzero(ok3), third[ok3]] = rng.beta(2, 3, int(ok3.sum()))
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
        self.sub_at = np.concatenate([self.sub_at, at])
        self.kind = np.concatenate([self.kind, self._kinds(at)])
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

    def _kinds(self, at: np.ndarray) -> np.ndarray:
        """Types of new followers subscribing at ``at``: sleeping dogs among those of more
        than a year (``dog_share`` of the starting population), loyal buyers among the rest."""
        p, m = self.p, at.size
        kind = np.zeros(m, dtype=np.int8)
        if p.loyal_share <= 0 and p.dog_share <= 0:
            return kind
        old = (self.t0 - at) > 365 * DAY
        u = self.rng.random(m)
        if p.dog_share > 0 and old.any():
            kind[old & (u < min(p.dog_share / float(old.mean()), 1.0))] = DOG
        ordinary = 1.0 - float((kind == DOG).mean())
        loyal = self.rng.random(m) < min(p.loyal_share / max(ordinary, 1e-9), 1.0)
        kind[(kind == ORDINARY) & loyal] = LOYAL
        return kind

    def _location(self, i: int, ts: float) -> dict[str, Any]:
        return {
            "kind": "location",
            "openid": self.openids[i],
            "at": iso(ts),
            "lat": round(float(self.lat[i]), 6),
            "lng": round(float(self.lng[i]), 6),
        }

    def start(self, seed: int) -> list[dict[str, Any]]:
        """The starting population: subscribe (and location) events over the past two years,
        a month of signals before the first day, and the imported order history if any."""
        self.seed = int(seed) % 10_000
        self.rng = np.random.default_rng([seed, sum(map(ord, self.p.name))])
        k = len(self.cat_ids)
        self.n = 0
        self.openids: list[str] = []
        self.index: dict[str, int] = {}
        self.lat = self.lng = self.dist = self.fatigue = self.sub_at = np.zeros(0)
        self.likes = np.zeros((0, k))
        self.alive = self.shared_location = np.zeros(0, dtype=np.bool_)
        self.kind = np.zeros(0, dtype=np.int8)
        self.touch: dict[int, tuple[float, str]] = {}  # loyal buyer -> (last push at, campaign)
        self.pending: list[
            tuple[int, int, str, str, float]
        ] = []  # (day, row, campaign, product, amount)
        self.first_day = _scenario_start(self.scenario)
        self.last_day_no = -1
        t0 = local_midnight(self.first_day)
        self.t0 = t0
        at = np.sort(t0 - self.rng.uniform(1, 730, self.n_start) * DAY)
        events = self._grow(self.n_start, at)
        self.started = True
        # A history of signals so interest can show before the first push.
        history = self.p.signal_history_days
        if history > 0:
            events.extend(self._signals(t0 - history * DAY, days=history))
        if self.p.history_days > 0:
            events.extend(self._imported_orders(t0))
        events.sort(key=lambda e: to_epoch(e["at"]))
        return events

    def _imported_orders(self, t0: float) -> list[dict[str, Any]]:
        """Orders before the first day (the merchant's imported history): per follower at its
        type's yearly rate over the ``history_days`` before ``t0`` (from its follow on,
        unless they may predate it), mostly of liked categories; and the orders of
        customers who never subscribe."""
        p, rng, k = self.p, self.rng, len(self.cat_ids)
        per_year = np.array(
            [p.history_orders_per_year, p.loyal_history_per_year, p.dog_history_per_year]
        )[self.kind]
        lo = np.full(self.n, t0 - p.history_days * DAY)
        if not p.history_before_subscribe:
            lo = np.maximum(lo, self.sub_at)
        counts = rng.poisson(per_year * np.maximum(t0 - lo, 0.0) / (365 * DAY))
        rows = np.repeat(np.arange(self.n), counts)
        ts = lo[rows] + rng.random(rows.size) * (t0 - lo[rows])
        w = self.likes[rows]
        cum = np.cumsum(w, axis=1)
        liked = (cum < rng.random(rows.size)[:, None] * cum[:, -1:]).sum(axis=1)
        liked = np.minimum(liked, k - 1)
        anyc = rng.choice(k, size=rows.size, p=self.popularity)
        cats = np.where(rng.random(rows.size) < p.history_liked_share, liked, anyc)
        owners = [self.openids[i] for i in rows.tolist()]
        m = int(round(p.history_customers * self.n_start))
        if m:
            n_orders = 1 + rng.poisson(max(p.history_customer_orders - 1.0, 0.0), m)
            who = np.repeat(np.arange(m), n_orders)
            owners += [f"o{p.prefix}{self.seed:04d}X{j:08d}" for j in who.tolist()]
            ts = np.concatenate([ts, t0 - rng.uniform(0, p.history_days, who.size) * DAY])
            cats = np.concatenate([cats, rng.choice(k, size=who.size, p=self.popularity)])
        events: list[dict[str, Any]] = []
        for openid, at, c in zip(owners, np.minimum(ts, t0 - 60.0), cats.tolist(), strict=True):
            pid, price = self._product(int(c))
            events.append(
                {
                    "kind": "order",
                    "openid": openid,
                    "at": iso(float(at)),
                    "amount": price,
                    "product": pid,
                    "campaign": None,
                }
            )
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
        kind = self.kind[alive]
        span = days * (16.5 * HOUR)
        menu = rng.random(alive.size) < 1 - np.exp(-p.menu_click_rate * days * (0.5 + aff))
        text = rng.random(alive.size) < 1 - np.exp(-p.text_rate * days * (0.5 + aff))
        loc = rng.random(alive.size) < 1 - np.exp(-p.location_rate * days)
        dist_f = np.where(self.large[pick], np.exp(-self.dist[alive] / p.distance_scale_km), 1.0)
        dull = self.kind_organic_fatigue[kind]
        organic = rng.random(alive.size) < 1 - np.exp(
            -p.organic_rate
            * self.kind_organic[kind]
            * days
            * aff
            * dist_f
            * ((1 - dull) + dull * rested)
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
        window = p.anyway_window_days * DAY
        for j, ts in zip(np.flatnonzero(organic), when(organic), strict=True):
            i, c = int(alive[j]), int(pick[j])
            pid, price = self._product(c)
            campaign = None
            touch = self.touch.get(i) if self.touch else None
            if touch is not None and 0 <= ts - touch[0] <= window:
                campaign = touch[1]  # last-touch credit for an order made anyway
            events.append(
                {
                    "kind": "order",
                    "openid": self.openids[i],
                    "at": iso(ts),
                    "amount": price,
                    "product": pid,
                    "campaign": campaign,
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
        self.last_day_no = day_no
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
            kind = self.kind[rows]
            rested = np.exp(-self.fatigue[rows] / p.attention_scale)
            pushed_at[rows] = np.fmin(np.nan_to_num(pushed_at[rows], nan=np.inf), sent_at)
            self.fatigue[rows] += (
                np.where(relevant, p.fatigue_relevant, p.fatigue_irrelevant)
                * self.kind_fatigue[kind]
            )
            read = (
                rng.random(rows.size)
                < np.where(relevant, p.read_relevant, p.read_irrelevant)
                * self.kind_read[kind]
                * rested
            )
            click = read & (
                rng.random(rows.size)
                < np.where(relevant, p.click_given_read_relevant, p.click_given_read_irrelevant)
            )
            if products:
                price = float(np.mean([pr for _, pr in products]))
            else:
                price = float(self.typical_price[c]) if c >= 0 else 500.0
            price_f = self._price_factor(c, price)
            dist_f = (
                np.exp(-self.dist[rows] / p.distance_scale_km)
                if c >= 0 and self.large[c]
                else np.ones(rows.size)
            )
            p_order = (
                np.where(relevant, p.conversion * aff * dist_f, p.conversion_irrelevant)
                * self.kind_conversion[kind]
                * rested
                * price_f
            )
            order = rng.random(rows.size) < np.minimum(p_order, 1.0)
            if p.anyway_window_days > 0:
                for i in rows[kind == LOYAL].tolist():
                    self.touch[i] = (sent_at, cid)
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
        hazard = (
            p.base_hazard
            + p.hazard_scale
            * self.kind_hazard[self.kind[alive]]
            * self.fatigue[alive] ** p.hazard_power
        )
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
        if p.drift_rate > 0:
            self._drift()
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

    def _drift(self) -> None:
        """Interests move: a living follower, with probability ``drift_rate`` a day, stops
        liking one of their categories (one at random) and likes another instead (drawn by
        popularity; a draw of one already liked changes nothing), with the same affinity."""
        rng, k = self.rng, len(self.cat_ids)
        alive = np.flatnonzero(self.alive)
        moving = alive[rng.random(alive.size) < -np.expm1(-self.p.drift_rate)]
        if moving.size == 0:
            return
        liked = self.likes[moving] > 0
        nth = np.floor(rng.random(moving.size) * liked.sum(axis=1))
        old = np.argmax(np.cumsum(liked, axis=1) > nth[:, None], axis=1)
        new = rng.choice(k, size=moving.size, p=self.popularity)
        ok = ~liked[np.arange(moving.size), new]
        rows, old, new = moving[ok], old[ok], new[ok]
        self.likes[rows, new] = self.likes[rows, old]
        self.likes[rows, old] = 0.0

    # ----- ground truth, for the oracle, tests and reports (never shown to the engine) ---
    def expected(self, openid: str, delivery: Mapping[str, Any]) -> dict[str, float]:
        """:meth:`expected_many` for one follower."""
        out = self.expected_many([openid], delivery)
        return {key: float(values[0]) for key, values in out.items()}

    def expected_many(
        self, openids: Sequence[str], delivery: Mapping[str, Any]
    ) -> dict[str, np.ndarray]:
        """The true expected incremental effect of sending ``delivery`` (a delivery dict; its
        ``openid`` is ignored) to each of ``openids`` at ``delivery["at"]``, given what the
        world knows of them then (likes, distance, fatigue, type). Arrays of yuan:

        * ``gain_yuan``: P(order | this push) x the order's mean amount (a delayed order
          counts if the follower is still there), minus the follower's own orders the
          added fatigue dulls over the following weeks; the orders they make anyway are
          not counted;
        * ``p_unfollow``: the probability of unfollowing within ``HORIZON_HALF_LIVES``
          fatigue half-lives with the push's fatigue, minus without it;
        * ``harm_yuan``: ``p_unfollow`` x the follower's value (their own and push revenue
          a day, at the calendar's rate of relevant pushes, over their expected remaining
          days, at most a year) plus the attention cost: what the added fatigue takes
          from the relevant pushes of the calendar in the following weeks.

        The baseline fatigue decays from today's, plus the load of the calendar's relevant
        pushes from tomorrow on. A follower unknown or gone: zeros."""
        m = len(openids)
        out = {key: np.zeros(m) for key in ("gain_yuan", "harm_yuan", "p_unfollow")}
        if not self.started or m == 0:
            return out
        idx = np.fromiter((self.index.get(str(o), -1) for o in openids), dtype=np.int64, count=m)
        known = idx >= 0
        known[known] = self.alive[idx[known]]
        pos = np.flatnonzero(known)
        if pos.size:
            gain, harm, p_unfollow = self._truth(idx[pos], delivery)
            out["gain_yuan"][pos] = gain
            out["harm_yuan"][pos] = harm
            out["p_unfollow"][pos] = p_unfollow
        return out

    def _truth(
        self, rows: np.ndarray, delivery: Mapping[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.p
        lam = 0.5 ** (1.0 / p.fatigue_half_life_days)
        at = to_epoch(delivery["at"])
        day_no = (datetime.fromtimestamp(at, SHANGHAI).date() - self.first_day).days
        # The fatigue the push meets: today's, decayed over the days not yet simulated.
        f0 = self.fatigue[rows] * lam ** max(day_no - self.last_day_no, 0)
        kind = self.kind[rows]
        category = str(delivery.get("category"))
        c = self.cat_ids.index(category) if category in self.cat_ids else -1
        prices = [float(x["price"]) for x in delivery.get("products") or ()]
        if prices:
            price = float(np.mean(prices))
        else:
            price = float(self.typical_price[c]) if c >= 0 else 500.0
        aff = self.likes[rows, c] if c >= 0 else np.zeros(rows.size)
        relevant = aff > 0
        near = np.exp(-self.dist[rows] / p.distance_scale_km)
        dist_f = near if c >= 0 and self.large[c] else np.ones(rows.size)
        conv_mult = self.kind_conversion[kind]
        p_order = np.minimum(
            np.where(relevant, p.conversion * aff * dist_f, p.conversion_irrelevant)
            * conv_mult
            * np.exp(-f0 / p.attention_scale)
            * self._price_factor(c, price),
            1.0,
        )
        fat_mult = self.kind_fatigue[kind]
        delta = np.where(relevant, p.fatigue_relevant, p.fatigue_irrelevant) * fat_mult

        # The follower's calendar: relevant pushes a day, and what they sell when rested.
        likes = self.likes[rows]
        liked = likes > 0
        dist_all = np.where(self.large[None, :], near[:, None], 1.0)
        rate = liked * self.cat_rate[None, :]
        relevant_a_day = rate.sum(axis=1)
        push_value_day = (rate * p.conversion * likes * dist_all * self.push_price[None, :]).sum(
            axis=1
        ) * conv_mult
        pick = likes / np.maximum(likes.sum(axis=1, keepdims=True), 1e-12)
        organic_day = (
            p.organic_rate
            * self.kind_organic[kind]
            * (pick * likes * dist_all * self.mean_price[None, :]).sum(axis=1)
        )
        dull_share = self.kind_organic_fatigue[kind]

        horizon = max(int(np.ceil(HORIZON_HALF_LIVES * p.fatigue_half_life_days)) + 1, 7)
        decay = lam ** np.arange(horizon)
        load = (relevant_a_day * p.fatigue_relevant * fat_mult)[:, None] * (
            (1.0 - decay[None, :]) / (1.0 - lam)
        )
        base = f0[:, None] * decay[None, :] + load
        pushed = base + delta[:, None] * decay[None, :]
        dulled = np.exp(-base / p.attention_scale) - np.exp(-pushed / p.attention_scale)
        scale = (p.hazard_scale * self.kind_hazard[kind])[:, None]
        h0 = p.base_hazard + scale * base**p.hazard_power
        h1 = p.base_hazard + scale * pushed**p.hazard_power
        p_unfollow = np.clip(np.exp(-h0.sum(axis=1)) - np.exp(-h1.sum(axis=1)), 0.0, 1.0)
        # A delayed order (1-6 days later, evenly) lands only if the follower is still there.
        still_there = np.exp(-np.cumsum(h1[:, :6], axis=1)).mean(axis=1)
        orders = p_order * price * ((1.0 - p.delayed_share) + p.delayed_share * still_there)
        gain = orders - organic_day * dull_share * dulled.sum(axis=1)
        attention = push_value_day * dulled[:, 1:].sum(axis=1)

        typical = relevant_a_day * p.fatigue_relevant * fat_mult / (1.0 - lam)
        rested = np.exp(-typical / p.attention_scale)
        value_day = (
            organic_day * ((1.0 - dull_share) + dull_share * rested) + push_value_day * rested
        )
        hazard = p.base_hazard + scale[:, 0] * typical**p.hazard_power
        days_left = -np.expm1(-hazard * VALUE_HORIZON_DAYS) / hazard
        harm = p_unfollow * value_day * days_left + attention
        return gain, harm, p_unfollow

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
