"""The platform limits the sandbox enforces, read from the product's limits tables.

The table (``fencun/engine/data/platform_limits.json``, each value with its source) is
parsed here on its own rather than through the engine's typed view, so a mistake in the
product's reading of it does not reach the sandbox.
"""

from __future__ import annotations

import json
from functools import cache
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


def _read_table(package: str, path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files(package).joinpath(path).read_text("utf-8"))
    return data


@cache
def api_limits() -> dict[str, Any]:
    """The sandbox's own table (``data/api_limits.json``) merged by family with the
    product's account table (``fencun/channels/wechat/data/account_limits.json``: menus,
    QR codes, which the client checks before calling): per family, each limit's
    ``value``, ``source`` and, where the platform refuses with one, ``errcode``.

    The account table is parsed here rather than through the client's loader, for the
    same reason as the platform limits table."""
    data = _read_table("fencun.sandbox.wechat", "data/api_limits.json")
    account = _read_table("fencun.channels.wechat", "data/account_limits.json")
    for family, limits in account.items():
        if isinstance(limits, dict):  # not "about" nor "checked"
            data[family] = {**data.get(family, {}), **limits}
    return data


def api_limit(family: str, name: str) -> Any:
    """One limit's value from the sandbox's table."""
    return api_limits()[family][name]["value"]


def api_errcode(family: str, name: str) -> int:
    """The error code the platform answers when that limit is broken."""
    return int(api_limits()[family][name]["errcode"])


@cache
def article_limits() -> dict[str, Any]:
    """The article table the lint and the client read (``fencun/content/data/
    article_limits.json``: drafts, permanent material, uploadimg), parsed here on its own
    for the same reason as the platform limits table."""
    text = resources.files("fencun.content").joinpath("data/article_limits.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def article_limit(family: str, name: str) -> Any:
    """One limit's value from the article table."""
    return article_limits()[family][name]["value"]


def article_errcode(family: str, name: str) -> int:
    """The error code the platform answers when that article limit is broken."""
    return int(article_limits()[family][name]["errcode"])
