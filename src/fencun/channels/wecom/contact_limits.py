"""The limits of WeCom's "contact me" codes and welcome messages, from
``data/contact_way_limits.json``: per family, each limit's ``value``, its ``source`` and,
where WeCom refuses with one, its ``errcode`` (the note says which codes are unverified).

The client checks codes and welcomes against them before calling; the sandbox reads the
same file on its own, so both refuse the same things.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def contact_limits_table() -> dict[str, Any]:
    """The raw table: ``{family: {name: {"value", "source", "errcode"?, "note"?}}}``."""
    text = (
        resources.files("fencun.channels.wecom")
        .joinpath("data/contact_way_limits.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def entry(family: str, name: str) -> dict[str, Any]:
    """One limit as the table holds it (value, source, errcode and note)."""
    found: dict[str, Any] = contact_limits_table()[family][name]
    return found


def limit(family: str, name: str) -> Any:
    """One limit's value."""
    return entry(family, name)["value"]
