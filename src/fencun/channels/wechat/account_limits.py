"""The limits of the Official Account's account APIs (custom and personalised menus,
parametric QR codes), from ``data/account_limits.json``: per family, each limit's
``value``, its ``source`` and, where the platform refuses with one, its ``errcode``.

The client checks menus and QR codes against them before calling; the sandbox reads the
same file on its own, so both refuse the same things.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def account_limits_table() -> dict[str, Any]:
    """The raw table: ``{family: {name: {"value", "source", "errcode"?, "note"?}}}``."""
    text = (
        resources.files("fencun.channels.wechat")
        .joinpath("data/account_limits.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def entry(family: str, name: str) -> dict[str, Any]:
    """One limit as the table holds it (value, source, errcode and note)."""
    found: dict[str, Any] = account_limits_table()[family][name]
    return found


def limit(family: str, name: str) -> Any:
    """One limit's value."""
    return entry(family, name)["value"]


def errcode(family: str, name: str) -> int:
    """The code the platform answers when that limit is broken (KeyError if none)."""
    return int(entry(family, name)["errcode"])
