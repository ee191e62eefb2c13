"""The shipped backtest scenarios (JSON, package data): ``subscription-90d`` and ``service-90d``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMES = ("subscription-90d", "service-90d")


def load(name: str) -> dict[str, Any]:
    """A shipped scenario by name (``subscription-90d`` or ``service-90d``), as a dict."""
    if name not in NAMES:
        raise ValueError(f"unknown scenario {name!r}; shipped: {', '.join(NAMES)}")
    text = resources.files(__name__).joinpath(f"{name}.json").read_text("utf-8")
    scenario: dict[str, Any] = json.loads(text)
    return scenario
