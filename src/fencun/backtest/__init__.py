"""``fencun backtest``: the real planner against a simulated world, day by day (pure: no Django)."""

from fencun.backtest.runner import POLICIES, BacktestError, parse_scenario, run_backtest

__all__ = ["POLICIES", "BacktestError", "parse_scenario", "run_backtest"]
