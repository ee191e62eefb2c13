"""The lint's data files, read once."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    text = resources.files("fencun.content").joinpath("data", name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def absolute_terms() -> dict[str, Any]:
    return load("absolute_terms.json")


def spam_patterns() -> dict[str, Any]:
    return load("spam_patterns.json")
