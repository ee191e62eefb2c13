"""Audiences for engine tests: small follower states with a history, built column-wise."""

from __future__ import annotations

import numpy as np

from fencun.engine.catalog import Category
from fencun.engine.clock import DAY, local_day_number, local_month_key, to_epoch
from fencun.engine.planner import Campaign, Product
from fencun.engine.state import PUSH_RING, FollowerState

CATEGORIES = [Category("sofa", "沙发"), Category("bed", "床架"), Category("decor", "软装")]
STORES = [(23.111, 114.416)]
NOW = to_epoch("2025-04-15T10:00:00+08:00")


def make_state(
    n: int,
    seed: int,
    *,
    now: float = NOW,
    unsubscribed: float = 0.1,
    push_density: float = 0.5,
    sent_today: bool = False,
) -> FollowerState:
    """``n`` followers with random pushes, interests, locations, windows and month counts."""
    rng = np.random.default_rng(seed)
    c = len(CATEGORIES)
    state = FollowerState(CATEGORIES, STORES, capacity=max(n, 16))
    pushes = rng.binomial(PUSH_RING, push_density, n)
    push_times = np.full((n, PUSH_RING), np.nan)
    slots = np.arange(PUSH_RING)[None, :] < pushes[:, None]
    ages = rng.uniform(0.05, 12, (n, PUSH_RING)) * DAY
    push_times[slots] = now - ages[slots]
    last_push = np.where(
        pushes > 0, np.nanmax(np.where(slots, push_times, -np.inf), axis=1), np.nan
    )
    has_loc = rng.random(n) < 0.5
    lat = np.where(has_loc, 23.1 + rng.normal(0, 0.2, n), np.nan)
    lng = np.where(has_loc, 114.4 + rng.normal(0, 0.2, n), np.nan)
    from fencun.engine.geo import nearest_store_km

    state.tag_names.append("vip")
    tag_bits = np.zeros((n, 2), dtype=np.uint64)
    tag_bits[:, 0] = (rng.random(n) < 0.3).astype(np.uint64)
    state.add_columns(
        [f"o{seed:06d}follower{i:08d}" for i in range(n)],
        {
            "subscribed": rng.random(n) >= unsubscribed,
            "subscribed_at": now - rng.uniform(1, 400, n) * DAY,
            "lat": lat,
            "lng": lng,
            "distance_km": nearest_store_km(lat, lng, STORES).astype(np.float32),
            "last_interaction_at": now - rng.uniform(0, 60, n) * DAY,
            "last_message_at": np.where(
                rng.random(n) < 0.5, now - rng.uniform(0, 96, n) * 3600, np.nan
            ),
            "cs_sent_since_message": rng.integers(0, 7, n).astype(np.int16),
            "push_times": push_times,
            "push_count": pushes.astype(np.int32),
            "last_push_at": last_push,
            "month_key": np.full(n, local_month_key(now), dtype=np.int32),
            "month_count": rng.integers(0, 6, n).astype(np.int16),
            "pressure": (pushes * 0.7).astype(np.float32),
            "pressure_at": np.full(n, now - DAY),
            "evidence": (rng.exponential(1.0, (n, c)) * (rng.random((n, c)) < 0.5)).astype(
                np.float32
            ),
            "evidence_at": np.full(n, now - DAY),
            "cat_last_push": np.where(
                rng.random((n, c)) < 0.4, now - rng.uniform(0, 8, (n, c)) * DAY, np.nan
            ),
            "tag_bits": tag_bits,
            # Half are WeCom customers too; some already got today's WeCom message.
            "wecom_contact": rng.random(n) < 0.5,
            "wecom_day": np.where(rng.random(n) < 0.2, local_day_number(now), -1).astype(np.int32),
        },
    )
    if sent_today:
        state.mass_sends_by_day[local_day_number(now)] = {"earlier"}
    state.clock = now
    return state


def campaign(cid: str, category: str = "sofa", **kw: object) -> Campaign:
    return Campaign(
        id=cid,
        category=category,
        products=(Product(f"{category}-1", 2999.0), Product(f"{category}-2", 999.0)),
        **kw,  # type: ignore[arg-type]
    )
