"""An old account with a long memory: ``fencun.worlds.legacy:world``.

A Huizhou furniture maker's account with two years of orders imported from its shop
system: order events dated up to 730 days before the first day, many of them from
before the buyer followed the account, and as many customers again who never followed
(their orders are in the history, they cannot be reached). Most of a buyer's past orders
are of the categories they like. Engagement is sparse: pushes are rarely read, the menu
and texts are almost unused, few share a location. Those who do answer buy readily
(3.5 % conversion). Fatigue lingers longest (15-day half-life), the base hazard is low
(an old, settled audience) and few new followers arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fencun.worlds.population import Centre, PopulationWorld, WorldParams

PARAMS = WorldParams(
    name="legacy",
    prefix="Lgcy",
    followers=25_000,
    centres=(
        Centre(23.111, 114.416, 10.0, 0.5),  # Huicheng
        Centre(22.790, 114.460, 8.0, 0.2),  # Huiyang
        Centre(23.020, 113.750, 12.0, 0.15),  # Dongguan
        Centre(22.720, 114.250, 12.0, 0.15),  # Shenzhen Longgang
    ),
    scenes=(
        ("ADD_SCENE_QR_CODE", 0.5),
        ("ADD_SCENE_OTHERS", 0.3),
        ("ADD_SCENE_SEARCH", 0.2),
    ),
    second_interest=0.4,
    popularity_skew=0.7,
    large_item_yuan=1000.0,
    distance_scale_km=30.0,
    conversion=0.035,
    conversion_irrelevant=0.0003,
    delayed_share=0.6,
    read_relevant=0.15,
    read_irrelevant=0.04,
    click_given_read_relevant=0.2,
    click_given_read_irrelevant=0.03,
    fatigue_relevant=1.0,
    fatigue_irrelevant=2.5,
    fatigue_half_life_days=15.0,
    attention_scale=6.0,
    base_hazard=0.0001,
    hazard_scale=5e-6,
    hazard_power=2.4,
    organic_rate=0.0009,
    menu_click_rate=0.001,
    text_rate=0.0005,
    location_on_subscribe=0.1,
    location_rate=0.0005,
    daily_new_fraction=0.001,
    price_elasticity=0.4,
    history_days=730.0,
    history_orders_per_year=0.6,
    history_liked_share=0.85,
    history_before_subscribe=True,
    history_customers=1.0,
    history_customer_orders=1.8,
)


def world(scenario: Mapping[str, Any]) -> PopulationWorld:
    """The old account's population and its imported orders, for ``scenario``."""
    return PopulationWorld(PARAMS, scenario)
