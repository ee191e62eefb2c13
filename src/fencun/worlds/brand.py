"""A national brand's followers: ``fencun.worlds.brand:world``.

Followers live in the big cities across China and buy online, so distance barely
matters; they come from ads, search and shares, rarely share a location, like broader
sets of categories and respond to price (elasticity 1). They recover faster (5-day
half-life) and tolerate a few pushes, but their unfollow hazard rises steeply past that
(fatigue to the power 3). More of them arrive every day. This world was not used to tune
the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fencun.worlds.population import Centre, PopulationWorld, WorldParams

PARAMS = WorldParams(
    name="brand",
    prefix="Brnd",
    followers=25_000,
    centres=(
        Centre(31.230, 121.470, 25.0, 0.22),  # Shanghai
        Centre(39.904, 116.407, 25.0, 0.2),  # Beijing
        Centre(23.129, 113.264, 25.0, 0.15),  # Guangzhou
        Centre(22.543, 114.058, 20.0, 0.13),  # Shenzhen
        Centre(30.572, 104.066, 25.0, 0.1),  # Chengdu
        Centre(30.593, 114.305, 25.0, 0.1),  # Wuhan
        Centre(30.274, 120.155, 20.0, 0.1),  # Hangzhou
    ),
    scenes=(
        ("ADD_SCENE_WECHAT_ADVERTISEMENT", 0.35),
        ("ADD_SCENE_SEARCH", 0.25),
        ("ADD_SCENE_REPRINT", 0.2),
        ("ADD_SCENE_CHANNELS", 0.1),
        ("ADD_SCENE_QR_CODE", 0.1),
    ),
    second_interest=0.55,
    popularity_skew=0.3,
    large_item_yuan=1000.0,
    distance_scale_km=900.0,
    conversion=0.015,
    conversion_irrelevant=0.0006,
    delayed_share=0.3,
    read_relevant=0.35,
    read_irrelevant=0.15,
    click_given_read_relevant=0.25,
    click_given_read_irrelevant=0.06,
    fatigue_relevant=1.0,
    fatigue_irrelevant=2.0,
    fatigue_half_life_days=5.0,
    attention_scale=3.0,
    base_hazard=0.0003,
    hazard_scale=1.2e-5,
    hazard_power=3.0,
    organic_rate=0.0008,
    menu_click_rate=0.006,
    text_rate=0.002,
    location_on_subscribe=0.08,
    location_rate=0.001,
    daily_new_fraction=0.004,
    price_elasticity=1.0,
)


def world(scenario: Mapping[str, Any]) -> PopulationWorld:
    """The national brand's population for ``scenario``."""
    return PopulationWorld(PARAMS, scenario)
