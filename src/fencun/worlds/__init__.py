"""Worlds: simulated follower populations that ``fencun backtest`` judges policies on.

A world is not part of the engine. The protocol (DESIGN.md) is ``FACTORY(scenario) ->
world`` with ``world.start(seed) -> list[event]`` and ``world.day(date, deliveries) ->
list[event]``; the engine only ever sees the events. Shipped worlds:
``fencun.worlds.furniture:world`` (a local Huizhou furniture store) and
``fencun.worlds.brand:world`` (a national brand). Scenarios ship in ``scenarios/``.
"""
