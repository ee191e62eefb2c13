"""Buyers who buy anyway and sleeping dogs: ``fencun.worlds.anyway:world``.

A Huizhou furniture chain's members, most of them living close to its stores. About 20 %
are loyal buyers: they order on their own eight times as often as others, and their
order history of the past year is imported (orders before the first day), so they are
plain to see as past buyers. A push hardly moves them (15 % of the usual conversion) and
does not dull their own buying, but for a week after it their own orders come tagged
with the push's campaign, as last-touch attribution would credit them: attribution says
the push sold, the holdout says it did not. About 10 % are sleeping dogs: followers of
more than a year with past orders who rarely read (15 % of the usual rate); a push tires
them 2.5x as much, their own buying falls with that fatigue and their unfollow hazard
rises six times as fast. The rest behave as usual. Fatigue lingers (12-day half-life)
and the hazard grows with its square.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fencun.worlds.population import Centre, PopulationWorld, WorldParams

PARAMS = WorldParams(
    name="anyway",
    prefix="Anyw",
    followers=25_000,
    centres=(
        Centre(23.111, 114.416, 6.0, 0.45),  # Huicheng
        Centre(23.085, 114.380, 5.0, 0.25),  # Jiangbei
        Centre(22.790, 114.460, 6.0, 0.2),  # Huiyang
        Centre(23.170, 114.290, 10.0, 0.1),  # Boluo
    ),
    scenes=(
        ("ADD_SCENE_QR_CODE", 0.6),
        ("ADD_SCENE_PROFILE_CARD", 0.2),
        ("ADD_SCENE_SEARCH", 0.2),
    ),
    second_interest=0.3,
    popularity_skew=0.5,
    large_item_yuan=1000.0,
    distance_scale_km=35.0,
    conversion=0.03,
    conversion_irrelevant=0.0003,
    delayed_share=0.4,
    read_relevant=0.4,
    read_irrelevant=0.1,
    click_given_read_relevant=0.3,
    click_given_read_irrelevant=0.04,
    fatigue_relevant=1.0,
    fatigue_irrelevant=2.0,
    fatigue_half_life_days=12.0,
    attention_scale=5.0,
    base_hazard=0.00015,
    hazard_scale=1e-5,
    hazard_power=2.0,
    organic_rate=0.0006,
    menu_click_rate=0.008,
    text_rate=0.002,
    location_on_subscribe=0.3,
    location_rate=0.002,
    daily_new_fraction=0.0015,
    price_elasticity=0.5,
    loyal_share=0.2,
    loyal_organic_mult=8.0,
    loyal_conversion_mult=0.15,
    anyway_window_days=7,
    loyal_organic_fatigue_share=0.0,
    dog_share=0.1,
    dog_read_mult=0.15,
    dog_conversion_mult=0.2,
    dog_fatigue_mult=2.5,
    dog_hazard_mult=6.0,
    dog_organic_fatigue_share=1.0,
    history_days=365.0,
    history_orders_per_year=0.1,
    loyal_history_per_year=2.0,
    dog_history_per_year=1.5,
)


def world(scenario: Mapping[str, Any]) -> PopulationWorld:
    """The furniture chain's members, loyal buyers and sleeping dogs among them."""
    return PopulationWorld(PARAMS, scenario)
