"""The platform limits the sandbox enforces, read from the product's limits table.

The table (``fencun/engine/data/platform_limits.json``, each value with its source) is
parsed here on its own rather than through the engine's typed view, so a mistake in the
product's reading of it does not reach the sandbox.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load_limits_table() -> dict[str, Any]:
    """The platform limits table, read from the same data file as the product."""
    text = resources.files("fencun.engine").joinpath("data/platform_limits.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def limits_for(account_type: str) -> dict[str, Any]:
    """``{name: value}`` for one account type (common limits included)."""
    table = load_limits_table()
    values = {k: v["value"] for k, v in table["common"].items()}
    values.update({k: v["value"] for k, v in table["account_types"][account_type].items()})
    return values
