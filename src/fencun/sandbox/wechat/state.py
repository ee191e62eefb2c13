"""The sandbox account's configuration and the records its families share."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fencun.engine.clock import SHANGHAI
from fencun.sandbox.population import PANEL_MENU


@dataclass
class Config:
    """One simulated account and how the sandbox behaves."""

    app_id: str = "wx5a4db0c0a7f0e001"
    app_secret: str = "sandbox-app-secret-0123456789abcd"  # noqa: S105 - public dev default
    token: str = "sandboxtoken"  # noqa: S105 - public dev default
    aes_key: str = "fencunSandboxAesKey0123456789abcdefghijklmn"
    mode: str = "safe"  # plaintext | compatible | safe
    account_type: str = "subscription"
    original_id: str = "gh_f3nc0n5andb0x"
    callback_url: str | None = None
    followers: int = 1000
    seed: int = 1
    latency_ms: float = 0.0
    #: ``user/get`` page size instead of the platform's 10,000 (small pages keep tests of
    #: multi-page syncs fast; the protocol is the same).
    user_page_size: int | None = None
    #: Retrying a clientmsgid within this many seconds answers 45066 instead of 45065.
    retry_too_fast_seconds: float = 60.0
    #: A verified account (认证): unverified ones may not mass send, and unverified
    #: subscription accounts may not publish (api_limits.json: "mass", "freepublish").
    verified: bool = True
    #: Whether the account may open comments on its articles (88000 otherwise).
    comments: bool = True
    #: Answer ``media/uploadnews`` as today's platform is reported to (45106); False
    #: stores the article as the platform once did, for a client still on that path.
    uploadnews_retired: bool = True
    templates: dict[str, str] = field(
        default_factory=lambda: {"TM_ORDER_SHIPPED": "订单发货通知", "TM_APPOINTMENT": "预约提醒"}
    )
    banned_words: tuple[str, ...] = ("违禁词",)
    #: The menu the operator published in the admin panel (get_current_selfmenu_info's
    #: shape), which the account shows until a menu is set by API; None for no menu.
    panel_menu: list[dict[str, Any]] | None = field(
        default_factory=lambda: copy.deepcopy(PANEL_MENU)
    )
    #: How recipients read mass-sent articles, which the article analytics count (the
    #: sandbox's own rates, see ``article_reads.py``): the first article's read rate (the
    #: n-th article's is 1/n of it), and among readers the shares of those who share it,
    #: add it to favourites and open its original page (阅读原文).
    article_read_rate: float = 0.3
    article_share_rate: float = 0.1
    article_favourite_rate: float = 0.05
    article_original_rate: float = 0.2


@dataclass
class FaultRule:
    """An injected failure on matching API calls.

    ``action``: ``error`` answers ``errcode`` without acting; ``timeout`` sleeps
    ``seconds`` before acting (the client gives up first); ``timeout_after`` acts, then
    sleeps before answering (the client gives up, but the platform did it);
    ``latency`` adds ``seconds`` before acting.
    """

    path: str = "*"
    action: str = "error"
    errcode: int = -1
    times: int | None = None
    rate: float = 1.0
    seconds: float = 0.0

    def matches(self, path: str) -> bool:
        return self.path in ("*", path) or (
            self.path.endswith("*") and path.startswith(self.path[:-1])
        )

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Delivery:
    seq: int
    kind: str  # mass | preview | custom | template
    openid: str
    msg_id: int | None
    at: float
    key: str = ""  # clientmsgid / client_msg_id
    msgtype: str = ""
    title: str = ""  # a news title, or a text message's text
    data: dict[str, str] = field(default_factory=dict)  # a template's fields as shown

    def as_json(self) -> dict[str, Any]:
        shown = {"data": self.data} if self.kind == "template" else {}
        return {
            "seq": self.seq,
            "kind": self.kind,
            "openid": self.openid,
            "msg_id": self.msg_id,
            "at": datetime.fromtimestamp(self.at, SHANGHAI).isoformat(),
            "key": self.key,
            "msgtype": self.msgtype,
            "title": self.title,
            **shown,
        }


@dataclass
class MassJob:
    msg_id: int
    msg_data_id: int
    kind: str  # sendall | send
    clientmsgid: str
    message: dict[str, Any]
    accepted_at: float
    tag_id: int | None = None
    to_all: bool = False
    openids: list[str] = field(default_factory=list)
    status: str = "SENDING"
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class PublishJob:
    """A draft submitted with ``freepublish/submit``; ``articles`` as the draft held them."""

    publish_id: int
    msg_data_id: int
    media_id: str
    draft: dict[str, Any]
    accepted_at: float
    status: int = 1  # publishing
    article_id: str = ""
    fail_idx: list[int] = field(default_factory=list)


def timestamp(value: Any, default: float) -> float:
    """Epoch seconds from an event's ``at`` (epoch number or ISO 8601; naive means UTC)."""
    if value is None or value == "":
        return default
    if isinstance(value, int | float):
        return float(value)
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
