"""The limits of the Official Account's account APIs (custom and personalised menus,
parametric QR codes, subscription notices), from ``data/account_limits.json``: per
family, each limit's ``value``, its ``source`` and, where the platform refuses with one,
its ``errcode``.

The client checks menus, QR codes and notices against them before calling; the sandbox
reads the same file on its own, so both refuse the same things.
"""

from __future__ import annotations

from typing import Any

from fencun.channels.limits_table import LimitsTable

TABLE = LimitsTable("fencun.channels.wechat", "data/account_limits.json")
entry, limit, errcode = TABLE.entry, TABLE.limit, TABLE.errcode


def account_limits_table() -> dict[str, Any]:
    """The raw table (see :class:`LimitsTable`)."""
    return TABLE.table
