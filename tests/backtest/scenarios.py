"""The shipped scenarios, read as package data, for tests."""

from __future__ import annotations

from fencun.worlds import scenarios


def shipped(name: str) -> dict:
    return scenarios.load(name.removesuffix(".json"))


def small(name: str = "subscription-90d.json", followers: int = 400, days: int = 21) -> dict:
    """A shipped scenario with a small population and only the campaigns of its first days."""
    scenario = shipped(name)
    scenario["followers"] = followers
    scenario["campaigns"] = [c for c in scenario["campaigns"] if c["day"] < days]
    return scenario
