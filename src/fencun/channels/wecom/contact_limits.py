"""The limits of WeCom's "contact me" codes and welcome messages, from
``data/contact_way_limits.json``: per family, each limit's ``value``, its ``source`` and,
where WeCom refuses with one, its ``errcode`` (the note says which codes are unverified).

The client checks codes and welcomes against them before calling; the sandbox reads the
same file on its own, so both refuse the same things.
"""

from __future__ import annotations

from fencun.channels.limits_table import LimitsTable

TABLE = LimitsTable("fencun.channels.wecom", "data/contact_way_limits.json")
entry, limit, errcode = TABLE.entry, TABLE.limit, TABLE.errcode
