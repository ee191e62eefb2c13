"""Followers who only answer: ``fencun.worlds.response:world``.

An online furniture shop whose followers never touch the menu, never write, never share
a location, and arrive with no history of signals before the first day: a follower's
interests show only in how they answer pushes (reads, link clicks, orders) and in the
orders they place on their own. They like broader sets (often two or three categories),
live all over China and buy online, so distance does not matter. Reads say a lot (a
relevant push is read four times as often as another), fatigue fades in a week, and an
irrelevant push tires three times as much as a relevant one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fencun.worlds.population import Centre, PopulationWorld, WorldParams

PARAMS = WorldParams(
    name="response",
    prefix="Resp",
    followers=25_000,
    centres=(
        Centre(31.230, 121.470, 30.0, 0.2),  # Shanghai
        Centre(30.572, 104.066, 30.0, 0.2),  # Chengdu
        Centre(34.341, 108.940, 30.0, 0.15),  # Xi'an
        Centre(29.563, 106.551, 30.0, 0.15),  # Chongqing
        Centre(36.651, 117.120, 30.0, 0.15),  # Jinan
        Centre(28.228, 112.939, 30.0, 0.15),  # Changsha
    ),
    scenes=(
        ("ADD_SCENE_WECHAT_ADVERTISEMENT", 0.45),
        ("ADD_SCENE_SEARCH", 0.3),
        ("ADD_SCENE_REPRINT", 0.25),
    ),
    second_interest=0.7,
    third_interest=0.4,
    popularity_skew=0.9,
    large_item_yuan=1000.0,
    distance_scale_km=3000.0,
    conversion=0.02,
    conversion_irrelevant=0.0002,
    delayed_share=0.2,
    read_relevant=0.5,
    read_irrelevant=0.12,
    click_given_read_relevant=0.35,
    click_given_read_irrelevant=0.03,
    fatigue_relevant=1.0,
    fatigue_irrelevant=3.0,
    fatigue_half_life_days=7.0,
    attention_scale=3.5,
    base_hazard=0.00025,
    hazard_scale=2e-5,
    hazard_power=2.5,
    organic_rate=0.0004,
    menu_click_rate=0.0,
    text_rate=0.0,
    location_on_subscribe=0.0,
    location_rate=0.0,
    daily_new_fraction=0.003,
    price_elasticity=0.8,
    signal_history_days=0.0,
)


def world(scenario: Mapping[str, Any]) -> PopulationWorld:
    """The online shop's silent population for ``scenario``."""
    return PopulationWorld(PARAMS, scenario)
