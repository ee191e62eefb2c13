"""Subscription notices (订阅通知): a notice's data checked against its keywords' rules
before it is sent (``data/account_limits.json``, "notice").

A template's keywords are named by type and position (``thing1``, ``time2``,
``amount3``): the type, the letters of the key, decides what a value may hold. The
platform refuses a value that breaks it with 47003 and the whole notice is not sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from fencun.channels.wechat.account_limits import limit
from fencun.channels.wechat.errors import LimitRefused

_KEY = re.compile(r"([a-z_]+)(\d+)")
#: Rules written as a regular expression in the table (the others are described only).
_REGEX_PREFIX = "^"


@dataclass(frozen=True)
class NoticeProblem:
    """One keyword whose value the platform would refuse: ``key`` (``thing1``), its type,
    and the most characters that type takes."""

    key: str
    kind: str
    max_chars: int | None


def keyword_type(key: str) -> str:
    """``thing1`` -> ``thing``; "" for a key that is not a keyword's."""
    found = _KEY.fullmatch(key)
    return found.group(1) if found else ""


@cache
def _pattern(text: str) -> re.Pattern[str] | None:
    return re.compile(text) if text.startswith(_REGEX_PREFIX) else None


def check_value(key: str, value: Any) -> NoticeProblem | None:
    """Whether ``value`` fits keyword ``key``'s type (None: it does)."""
    rules: dict[str, dict[str, Any]] = limit("notice", "value_rules")
    kind = keyword_type(key)
    rule = rules.get(kind)
    if rule is None:
        return NoticeProblem(key, kind, None)
    most = int(rule["max_chars"])
    text = value if isinstance(value, str) else ""
    if not text.strip() or len(text) > most or "\n" in text:
        return NoticeProblem(key, kind, most)
    pattern = _pattern(str(rule["pattern"]))
    if pattern is not None and not pattern.fullmatch(text):
        return NoticeProblem(key, kind, most)
    return None


def check_data(data: Any, keywords: list[str] | None = None) -> list[NoticeProblem]:
    """Every keyword of ``data`` (``{"thing1": {"value": …}}``) the platform would refuse;
    with the template's ``keywords``, a missing one too."""
    if not isinstance(data, dict):
        return [NoticeProblem("", "", None)]
    problems = []
    for key in keywords or []:
        if key not in data:
            problems.append(NoticeProblem(key, keyword_type(key), None))
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        found = check_value(str(key), value)
        if found is not None:
            problems.append(found)
    return problems


@dataclass(frozen=True)
class NoticeTemplate:
    """A template the account selected: its id, title and keywords (``thing1``…), in order."""

    id: str
    title: str
    keywords: tuple[str, ...]
    content: str


_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\d+)\.DATA\s*\}\}")


class NoticeApi:
    """The subscription-notice calls; mixed into the WeChat client."""

    if TYPE_CHECKING:

        def _call(
            self,
            method: str,
            path: str,
            *,
            retry: bool,
            params: Mapping[str, Any] | None = None,
            json_body: Any = None,
            files: Any = None,
            ok_codes: frozenset[int] = frozenset(),
        ) -> dict[str, Any]: ...

    def notice_library(self, start: int = 0, limit_: int = 30) -> list[dict[str, Any]]:
        """Public templates of the account's categories (``getpubtemplatetitles``)."""
        categories = self._call("GET", "/wxaapi/newtmpl/getcategory", retry=True).get("data") or []
        ids = ",".join(str(c.get("id")) for c in categories)
        body = self._call(
            "GET", "/wxaapi/newtmpl/getpubtemplatetitles", retry=True,
            params={"ids": ids, "start": start, "limit": limit_},
        )
        return list(body.get("data") or [])

    def notice_keywords(self, tid: int) -> list[dict[str, Any]]:
        """A library template's keywords: ``kid``, ``name``, ``rule``, ``example``."""
        body = self._call("GET", "/wxaapi/newtmpl/getpubtemplatekeywords", retry=True, params={"tid": tid})
        return list(body.get("data") or [])

    def add_notice_template(self, tid: int, kids: Sequence[int], scene: str) -> str:
        """Select a library template with 2-5 of its keywords; its ``priTmplId``. Not
        retried: a lost answer would select it twice."""
        low, high = limit("notice", "keywords_min"), limit("notice", "keywords_max")
        if not low <= len(kids) <= high:
            raise LimitRefused("keywords_min", f"{len(kids)} keywords; {low}-{high}")
        if not scene or len(scene) > limit("notice", "scene_desc_max_chars"):
            raise LimitRefused("scene_desc_max_chars", "the service scene has 1-15 characters")
        body = self._call(
            "POST", "/wxaapi/newtmpl/addtemplate", retry=False,
            json_body={"tid": str(tid), "kidList": list(kids), "sceneDesc": scene},
        )
        return str(body["priTmplId"])

    def notice_templates(self) -> list[NoticeTemplate]:
        """The account's selected templates (``gettemplate``)."""
        rows = self._call("GET", "/wxaapi/newtmpl/gettemplate", retry=True).get("data") or []
        return [
            NoticeTemplate(
                str(r.get("priTmplId")), str(r.get("title", "")),
                tuple(_PLACEHOLDER.findall(str(r.get("content", "")))), str(r.get("content", "")),
            )
            for r in rows
        ]

    def send_notice(
        self, openid: str, template_id: str, data: dict[str, str], *, page: str = ""
    ) -> int:
        """Send one notice (``bizsend``): ``data`` maps each keyword to its text. Checked
        first (:func:`check_data`); never retried — it carries no idempotency key and
        each send spends one of the follower's accepts. Its msgid."""
        body_data = {key: {"value": value} for key, value in data.items()}
        problems = check_data(body_data)
        if problems:
            raise LimitRefused("value_rules", ", ".join(p.key for p in problems))
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": body_data}
        if page:
            payload["page"] = page
        body = self._call("POST", "/cgi-bin/message/subscribe/bizsend", retry=False, json_body=payload)
        return int(body.get("msgid") or 0)
