"""Worlds: simulated follower populations that ``fencun backtest`` judges policies on.

A world is not part of the engine. The protocol (DESIGN.md) is ``FACTORY(scenario) ->
world`` with ``world.start(seed) -> list[event]`` and ``world.day(date, deliveries) ->
list[event]``, and optionally ``world.expected(openid, delivery)``, its truth for the
oracle; the engine only ever sees the events. Shipped worlds (``fencun.worlds.NAME:world``
for each name in :data:`SHIPPED`): ``furniture`` (a local Huizhou furniture store),
``brand`` (a national brand), ``response`` (interests shown only by answers to pushes),
``anyway`` (loyal buyers who buy anyway, and sleeping dogs), ``drift`` (interests that
change) and ``legacy`` (two years of imported orders, sparse engagement). Scenarios ship
in ``scenarios/``.
"""

#: The worlds the product ships, each ``fencun.worlds.NAME:world``.
SHIPPED = ("furniture", "brand", "response", "anyway", "drift", "legacy")


def world_spec(name: str) -> str:
    """``MODULE:FACTORY`` of a shipped world's name; a spec with a colon is returned as is."""
    return name if ":" in name else f"fencun.worlds.{name}:world"
