"""A local Huizhou furniture store's followers: ``fencun.worlds.furniture:world``.

Most followers live in Huizhou, some in Shenzhen and Dongguan; large items (sofas, beds,
wardrobes) sell mainly to those within a short drive of a store. Followers subscribe in
the shop (QR codes) and share their location often. Fatigue lingers (10-day half-life),
an irrelevant push tires 2.5x as much as a relevant one, and the unfollow hazard grows
with fatigue to the power 2.2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fencun.worlds.population import Centre, PopulationWorld, WorldParams

PARAMS = WorldParams(
    name="furniture",
    prefix="Furn",
    followers=25_000,
    centres=(
        Centre(23.111, 114.416, 8.0, 0.55),  # Huicheng
        Centre(22.790, 114.460, 6.0, 0.12),  # Huiyang
        Centre(22.720, 114.250, 10.0, 0.15),  # Shenzhen Longgang
        Centre(23.020, 113.750, 12.0, 0.10),  # Dongguan
        Centre(23.130, 113.260, 30.0, 0.08),  # Guangzhou and beyond
    ),
    scenes=(
        ("ADD_SCENE_QR_CODE", 0.45),
        ("ADD_SCENE_SEARCH", 0.2),
        ("ADD_SCENE_PROFILE_CARD", 0.15),
        ("ADD_SCENE_OTHERS", 0.1),
        ("ADD_SCENE_REPRINT", 0.1),
    ),
    second_interest=0.35,
    popularity_skew=0.6,
    large_item_yuan=1000.0,
    distance_scale_km=20.0,
    conversion=0.03,
    conversion_irrelevant=0.0004,
    delayed_share=0.5,
    read_relevant=0.45,
    read_irrelevant=0.12,
    click_given_read_relevant=0.3,
    click_given_read_irrelevant=0.04,
    fatigue_relevant=1.0,
    fatigue_irrelevant=2.5,
    fatigue_half_life_days=10.0,
    attention_scale=4.0,
    base_hazard=0.0002,
    hazard_scale=8e-6,
    hazard_power=2.2,
    organic_rate=0.0006,
    menu_click_rate=0.01,
    text_rate=0.003,
    location_on_subscribe=0.35,
    location_rate=0.003,
    daily_new_fraction=0.002,
    price_elasticity=0.5,
)


def world(scenario: Mapping[str, Any]) -> PopulationWorld:
    """The furniture store's population for ``scenario`` (its stores, categories, products)."""
    return PopulationWorld(PARAMS, scenario)
