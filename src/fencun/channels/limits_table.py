"""A table of platform limits kept as data: per family, each limit's ``value``, its
``source`` and, where the platform refuses with one, its ``errcode`` (and a ``note``).
The channel packages each load theirs through one :class:`LimitsTable`."""

from __future__ import annotations

import json
from functools import cached_property
from importlib import resources
from typing import Any


class LimitsTable:
    """The JSON file ``path`` of ``package``, read once."""

    def __init__(self, package: str, path: str) -> None:
        self.package, self.path = package, path

    @cached_property
    def table(self) -> dict[str, Any]:
        """``{family: {name: {"value", "source", "errcode"?, "note"?}}}``."""
        text = resources.files(self.package).joinpath(self.path).read_text(encoding="utf-8")
        data: dict[str, Any] = json.loads(text)
        return data

    def entry(self, family: str, name: str) -> dict[str, Any]:
        """One limit as the table holds it (value, source, errcode and note)."""
        found: dict[str, Any] = self.table[family][name]
        return found

    def limit(self, family: str, name: str) -> Any:
        """One limit's value."""
        return self.entry(family, name)["value"]

    def errcode(self, family: str, name: str) -> int:
        """The code the platform answers when that limit is broken (KeyError if none)."""
        return int(self.entry(family, name)["errcode"])
