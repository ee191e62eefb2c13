"""Weibo's posting limits and the merchant's caps, read from ``data/weibo_limits.json``."""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

TOPIC = re.compile(r"#[^#\s]+#")


@cache
def limits_table() -> dict[str, Any]:
    """The whole data file, with notes and sources."""
    text = (
        resources.files("fencun.channels.broadcast")
        .joinpath("data/weibo_limits.json")
        .read_text("utf-8")
    )
    return dict(json.loads(text))


@dataclass(frozen=True)
class WeiboLimits:
    status_max_chars: int
    posts_per_user_per_hour: int
    fee_per_post_yuan: float
    posts_per_day: int
    posts_per_week: int

    @staticmethod
    def source(name: str) -> str:
        table = limits_table()
        entry = table["limits"].get(name) or table["caps"][name]
        return str(entry["source"])


def load_limits() -> WeiboLimits:
    """Limits from the data file; the merchant's caps may be overridden by environment."""
    table = limits_table()
    values = {k: v["value"] for k, v in table["limits"].items()}
    caps = {k: v["value"] for k, v in table["caps"].items()}
    return WeiboLimits(
        status_max_chars=int(values["status_max_chars"]),
        posts_per_user_per_hour=int(values["posts_per_user_per_hour"]),
        fee_per_post_yuan=float(values["fee_per_post_yuan"]),
        posts_per_day=int(os.environ.get("FENCUN_BROADCAST_PER_DAY") or caps["posts_per_day"]),
        posts_per_week=int(os.environ.get("FENCUN_BROADCAST_PER_WEEK") or caps["posts_per_week"]),
    )


def weibo_length(text: str) -> int:
    """Length as Weibo counts it: a Chinese (wide) character 1, a half-width one ½, rounded up."""
    halves = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return math.ceil(halves / 2)
