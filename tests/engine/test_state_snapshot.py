"""The state's serialisation and its folds in pieces: what a snapshot relies on."""

from __future__ import annotations

import random

import numpy as np
from tests.engine.factories import CATEGORIES, NOW, STORES, make_state

from fencun.engine.clock import DAY, iso
from fencun.engine.state import FollowerState, differences

CAMPAIGNS = [
    ("c1", "sofa", [{"id": "S1", "price": 2999.0}]),
    ("c2", "bed", [{"id": "B1", "price": 1999.0}]),
]


def _log(seed: int, days: int = 20, per_day: int = 40) -> tuple[list[dict], list[dict]]:
    """Events and deliveries over ``days`` days, in time order."""
    rng = random.Random(seed)
    events, deliveries = [], []
    start = NOW - days * DAY
    for day in range(days):
        for k in range(per_day):
            at = start + day * DAY + k * 600 + rng.randrange(300)
            openid = f"o{rng.randrange(30):02d}"
            kind = rng.choice(
                ["subscribe", "text", "click", "read", "order", "location", "unsubscribe"]
            )
            ev: dict = {"kind": kind, "openid": openid, "at": iso(at)}
            ev.update(
                {
                    "subscribe": {"scene": "qrscene_7"},
                    "text": {"content": rng.choice(["沙发", "床架", "hi"])},
                    "click": {"key": "sofa"},
                    "read": {"campaign": "c1"},
                    "order": {
                        "amount": 99.0,
                        "product": rng.choice(["S1", "B1", "Z"]),
                        "campaign": "c1",
                    },
                    "location": {"lat": 23.1, "lng": 114.4},
                    "unsubscribe": {},
                }[kind]
            )
            events.append(ev)
        if day % 5 == 2:
            cid, category, _ = CAMPAIGNS[day % 2]
            at = iso(start + day * DAY + 3 * 3600)
            for n in range(0, 30, 2):
                deliveries.append(
                    {"openid": f"o{n:02d}", "campaign": cid, "at": at, "category": category}
                )
            deliveries.append(
                {"openid": "o01", "campaign": cid, "at": at, "category": category, "control": True}
            )
    return events, deliveries


def _fresh() -> FollowerState:
    state = FollowerState(CATEGORIES, STORES)
    for cid, category, products in CAMPAIGNS:
        state.register_campaign(cid, category, products)
    return state


def test_a_state_survives_its_arrays_whole():
    state = make_state(300, seed=3)
    state.set_tags(state.openids[4], ["vip", "new"])
    events, deliveries = _log(1)
    state.register_campaign("c1", "sofa", CAMPAIGNS[0][2])
    state.fold(events, deliveries)
    copy = FollowerState.from_arrays(state.to_arrays())
    assert differences(state, copy) == []
    assert copy.clock == state.clock and copy.stats.orders == state.stats.orders
    # It grows like the original.
    copy.row("o-new")
    assert copy.n == state.n + 1


def test_a_log_folded_in_pieces_equals_it_folded_at_once():
    events, deliveries = _log(2)
    whole = _fresh()
    whole.fold(events, deliveries)
    pieces = _fresh()
    cuts = [0, 100, 333, 334, 600, len(events)]
    for a, b in zip(cuts, cuts[1:], strict=False):
        lo = events[a]["at"]
        hi = events[b - 1]["at"]
        part = [d for d in deliveries if (a == 0 or d["at"] > lo) and d["at"] <= hi]
        pieces = FollowerState.from_arrays(pieces.to_arrays())
        pieces.fold(events[a:b], part)
    assert differences(pieces, whole, interval_rtol=1e-9) == []


def test_follower_days_count_from_the_first_push():
    events, deliveries = _log(3)
    state = _fresh()
    state.fold(events, deliveries)
    first = min(d["at"] for d in deliveries)
    assert iso(state.observed_from) == first
    alone = _fresh()
    alone.fold(events)
    assert np.isnan(alone.clock) and alone.stats.follower_days == 0.0
