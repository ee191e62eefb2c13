"""Choosing the passive reply for an incoming message: the welcome of the channel code
a follower came through, the greeting, a menu button's answer or a keyword rule.

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
from fencun.operations.menus import click_replies
from fencun.operations.models import Menu, QrChannel

_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Rule:
    match: str
    keyword: str
    reply_type: str
    content: str
    articles: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class Rules:
    """An account's replies: keyword rules and the greeting (by priority), channel
    welcomes by scene, and the answers of menu buttons by key."""

    rules: list[Rule]
    welcomes: dict[str, Rule]
    clicks: dict[str, Rule]


_cache: dict[int, tuple[float, Rules]] = {}
_lock = threading.Lock()


def _rules(account_id: int) -> Rules:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(account_id)
        if cached and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
    return load(account_id)


def _text(content: str) -> Rule:
    return Rule(AutoReply.Match.EXACT, "", AutoReply.ReplyType.TEXT, content, ())


def age(account_id: int) -> float:
    """Seconds since the account's rules were cached (inf: they are not)."""
    with _lock:
        cached = _cache.get(account_id)
    return float("inf") if cached is None else time.monotonic() - cached[0]


def load(account_id: int) -> Rules:
    """Read the account's active rules into the cache (three queries)."""
    now = time.monotonic()
    rules = Rules(
        rules=[
            Rule(r.match, r.keyword.strip(), r.reply_type, r.content, tuple(r.articles or ()))
            for r in AutoReply.objects.filter(account_id=account_id, active=True).order_by(
                "-priority", "id"
            )
        ],
        welcomes={
            scene: _text(welcome)
            for scene, welcome in QrChannel.objects.filter(account_id=account_id, archived=False)
            .exclude(welcome="")
            .values_list("scene", "welcome")
        },
        clicks={
            key: _text(reply)
            for buttons in Menu.objects.filter(account_id=account_id, status=Menu.Status.LIVE)
            .values_list("buttons", flat=True)
            for key, reply in click_replies(buttons or []).items()
        },
    )
    with _lock:
        _cache[account_id] = (now, rules)
    return rules


def forget_cached_rules() -> None:
    """Drop the cache (after rules are edited, and between tests)."""
    with _lock:
        _cache.clear()


#: The answer to a follower's own word on marketing (fencun.engine.consent), before any
#: rule of the merchant's: the follower must learn at once that it was heard.
OPTED_OUT_REPLY = _text("已为你退订营销推送，之后不会再收到。想重新接收时，回复“订阅”即可。")
OPTED_IN_REPLY = _text("已重新订阅营销推送。随时回复“退订”或“TD”即可退订。")


def choose(account_id: int, incoming: Incoming) -> Rule | None:
    """The rule that applies to ``incoming``, or None: on a subscribe or scan through a
    channel code, that channel's welcome; on a subscribe otherwise, the greeting; on a
    menu click, the button's answer; on a text, the follower's word on marketing first,
    then the highest-priority keyword rule."""
    if incoming.kind in (kinds.SUBSCRIBE, kinds.SCAN):
        account = _rules(account_id)
        welcome = account.welcomes.get(str(incoming.payload.get("scene_value") or ""))
        if welcome is not None or incoming.kind == kinds.SCAN:
            return welcome
        return next((r for r in account.rules if r.match == AutoReply.Match.SUBSCRIBE), None)
    if incoming.kind == kinds.CLICK:
        return _rules(account_id).clicks.get(str(incoming.payload.get("key") or ""))
    if incoming.kind != kinds.TEXT:
        return None
    change = consent_change(incoming.payload.get("content"))
    if change is not None:
        return OPTED_IN_REPLY if change else OPTED_OUT_REPLY
    text = str(incoming.payload.get("content", "")).strip()
    if not text:
        return None
    for rule in _rules(account_id).rules:
        if not rule.keyword:
            continue
        if rule.match == AutoReply.Match.EXACT and text == rule.keyword:
            return rule
        if rule.match == AutoReply.Match.CONTAINS and rule.keyword in text:
            return rule
    return None
