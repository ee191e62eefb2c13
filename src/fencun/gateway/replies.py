"""Choosing the passive reply for an incoming message: greeting or keyword rule.

Rules are cached per process for a few seconds: the reply must leave well within
WeChat's 5 s, and rules change rarely.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from fencun.audience import kinds
from fencun.engine.consent import consent_change
from fencun.gateway.models import AutoReply
from fencun.gateway.normalize import Incoming

_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Rule:
    match: str
    keyword: str
    reply_type: str
    content: str
    articles: tuple[dict[str, str], ...]


_cache: dict[int, tuple[float, list[Rule]]] = {}
_lock = threading.Lock()


def _rules(account_id: int) -> list[Rule]:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(account_id)
        if cached and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
    return load(account_id)


def age(account_id: int) -> float:
    """Seconds since the account's rules were cached (inf: they are not)."""
    with _lock:
        cached = _cache.get(account_id)
    return float("inf") if cached is None else time.monotonic() - cached[0]


def load(account_id: int) -> list[Rule]:
    """Read the account's active rules into the cache (one query)."""
    now = time.monotonic()
    rules = [
        Rule(r.match, r.keyword.strip(), r.reply_type, r.content, tuple(r.articles or ()))
        for r in AutoReply.objects.filter(account_id=account_id, active=True).order_by(
            "-priority", "id"
        )
    ]
    with _lock:
        _cache[account_id] = (now, rules)
    return rules


def forget_cached_rules() -> None:
    """Drop the cache (after rules are edited, and between tests)."""
    with _lock:
        _cache.clear()


#: The answer to a follower's own word on marketing (fencun.engine.consent), before any
#: rule of the merchant's: the follower must learn at once that it was heard.
OPTED_OUT_REPLY = Rule(
    "exact", "", AutoReply.ReplyType.TEXT,
    "已为你退订营销推送，之后不会再收到。想重新接收时，回复“订阅”即可。", (),
)
OPTED_IN_REPLY = Rule(
    "exact", "", AutoReply.ReplyType.TEXT,
    "已重新订阅营销推送。随时回复“退订”或“TD”即可退订。", (),
)


def choose(account_id: int, incoming: Incoming) -> Rule | None:
    """The highest-priority rule that applies to ``incoming``, or None."""
    if incoming.kind == kinds.SUBSCRIBE:
        return next((r for r in _rules(account_id) if r.match == AutoReply.Match.SUBSCRIBE), None)
    if incoming.kind != kinds.TEXT:
        return None
    change = consent_change(incoming.payload.get("content"))
    if change is not None:
        return OPTED_IN_REPLY if change else OPTED_OUT_REPLY
    text = str(incoming.payload.get("content", "")).strip()
    if not text:
        return None
    for rule in _rules(account_id):
        if not rule.keyword:
            continue
        if rule.match == AutoReply.Match.EXACT and text == rule.keyword:
            return rule
        if rule.match == AutoReply.Match.CONTAINS and rule.keyword in text:
            return rule
    return None
