"""Weibo as a channel (``channels/interface.py``): one public post to everyone.

A broadcast has no recipients, so a batch's recipients must be empty; the merchant's
caps per day and week, the lint and tracked links are the posting service's
(``channels/broadcast/services.py``), which posts through this class. Weibo calls nothing
back about a post, so there is no callback and no receipt to parse: the share answer is
the receipt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fencun.channels.broadcast.client import WeiboClient
from fencun.channels.broadcast.limits import limits_table
from fencun.channels.interface import Batch, Capability, Limit, Memo, Receipt, Sent


class PostMemo:
    """A post's memo: its Weibo id once posted (posts are claimed once, see services)."""

    def __init__(self, remote_id: str = "") -> None:
        self.remote_id = remote_id

    def get(self, name: str) -> str:
        return self.remote_id if name == "post" else ""

    def put(self, name: str, value: str) -> str:
        if name == "post":
            self.remote_id = value
        return value


class WeiboBroadcast:
    name = "weibo"
    capabilities = frozenset({Capability.BROADCAST})
    callback_path = ""
    row_failures: tuple[type[Exception], ...] = ()

    def __init__(self, client: WeiboClient) -> None:
        self.client = client

    @staticmethod
    def limits() -> list[Limit]:
        table = limits_table()
        rows = {**table["limits"], **table["caps"]}
        return [Limit(k, v["value"], v["source"], v.get("note", "")) for k, v in rows.items()]

    def send(self, batch: Batch, memo: Memo) -> Sent:
        if batch.recipients:
            raise ValueError("a broadcast post has no recipients: it goes to everyone")
        posted = memo.get("post")
        if posted:
            return Sent(posted)
        status = self.client.share(batch.content.body)
        return Sent(memo.put("post", status.idstr))

    @staticmethod
    def parse_receipt(kind: str, payload: Mapping[str, Any]) -> Receipt | None:
        return None
