"""Interests that drift: ``fencun.worlds.drift:world``.

Young renters in Huizhou and Shenzhen furnishing one room after another: each follower likes one
category at a time (rarely two), and every day about one in thirty moves on to another
(a daily hazard of 1/30), so that over 90 days most followers' interests change and old
evidence goes stale. They click the menu and ask often, so there is plenty of evidence,
but it ages. Categories are about equally popular. Fatigue passes quickly (4-day
half-life), an irrelevant push tires only 1.5x a relevant one, and the unfollow hazard
grows gently with fatigue (power 1.6) but from a higher level.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fencun.worlds.population import Centre, PopulationWorld, WorldParams

PARAMS = WorldParams(
    name="drift",
    prefix="Drft",
    followers=25_000,
    centres=(
        Centre(23.100, 114.410, 8.0, 0.4),  # Huizhou
        Centre(22.790, 114.460, 6.0, 0.2),  # Huiyang
        Centre(22.720, 114.250, 10.0, 0.25),  # Shenzhen Longgang
        Centre(22.543, 114.058, 8.0, 0.15),  # Shenzhen Futian
    ),
    scenes=(
        ("ADD_SCENE_SEARCH", 0.3),
        ("ADD_SCENE_QR_CODE", 0.3),
        ("ADD_SCENE_CHANNELS", 0.2),
        ("ADD_SCENE_REPRINT", 0.2),
    ),
    second_interest=0.15,
    popularity_skew=0.2,
    large_item_yuan=1000.0,
    distance_scale_km=40.0,
    conversion=0.025,
    conversion_irrelevant=0.0005,
    delayed_share=0.3,
    read_relevant=0.4,
    read_irrelevant=0.2,
    click_given_read_relevant=0.3,
    click_given_read_irrelevant=0.08,
    fatigue_relevant=1.0,
    fatigue_irrelevant=1.5,
    fatigue_half_life_days=4.0,
    attention_scale=2.5,
    base_hazard=0.0003,
    hazard_scale=4e-5,
    hazard_power=1.6,
    organic_rate=0.0007,
    menu_click_rate=0.02,
    text_rate=0.006,
    location_on_subscribe=0.4,
    location_rate=0.004,
    daily_new_fraction=0.003,
    price_elasticity=0.7,
    drift_rate=1.0 / 30.0,
)


def world(scenario: Mapping[str, Any]) -> PopulationWorld:
    """The renters' population, whose interests drift, for ``scenario``."""
    return PopulationWorld(PARAMS, scenario)
