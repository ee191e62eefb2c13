"""The analytics calls of the Official Account client (数据统计, ``datacube/*``): the
articles' figures (图文分析) the platform counts, which fencun cannot see itself (a read
in WeChat reaches no server of ours).

A mixin of :class:`~fencun.channels.wechat.client.WeChatClient`. Each API takes a
``begin_date``/``end_date`` span of at most so many days, up to yesterday (Beijing time);
a method here takes any period up to yesterday and asks in spans the platform accepts,
from ``data/datacube_limits.json`` (each with its source). A period reaching today or
later, or ending before it begins, is refused before calling with :class:`LimitRefused`.
These calls only read, so a lost answer is asked again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from fencun import clock
from fencun.channels.wechat.errors import LimitRefused
from fencun.engine.clock import SHANGHAI


@cache
def datacube_limits_table() -> dict[str, Any]:
    """The raw table: ``{name: {"value", "source", "errcode"?, "note"?}}``."""
    text = (
        resources.files("fencun.channels.wechat")
        .joinpath("data/datacube_limits.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def max_span_days(api: str) -> int:
    """How many days one call of ``api`` (``getarticlesummary``…) may cover."""
    return int(datacube_limits_table()["max_span_days"]["value"][api])


def history_start() -> date:
    """The first day the analytics hold."""
    return date.fromisoformat(datacube_limits_table()["history_start"]["value"])


def spans(begin: date, end: date, days: int) -> list[tuple[date, date]]:
    """``begin``…``end`` (inclusive) cut into consecutive spans of at most ``days`` days."""
    if days < 1:
        raise ValueError("a span has at least one day")
    out = []
    while begin <= end:
        last = min(begin + timedelta(days=days - 1), end)
        out.append((begin, last))
        begin = last + timedelta(days=1)
    return out


def platform_yesterday() -> date:
    """The last day the analytics can answer: yesterday on the platform's (Beijing) calendar,
    by the product's clock."""
    return clock.now().astimezone(SHANGHAI).date() - timedelta(days=1)


def _int(row: Mapping[str, Any], name: str) -> int:
    return int(row.get(name) or 0)


@dataclass(frozen=True)
class ArticleFigures:
    """Counters of an article's page (图文页, opened from the push's card), its original
    page (原文页, 阅读原文), shares and favourites, as the article APIs name them."""

    read_users: int = 0  # int_page_read_user
    reads: int = 0  # int_page_read_count
    original_read_users: int = 0  # ori_page_read_user
    original_reads: int = 0  # ori_page_read_count
    share_users: int = 0  # share_user
    shares: int = 0  # share_count
    favourite_users: int = 0  # add_to_fav_user
    favourites: int = 0  # add_to_fav_count

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> ArticleFigures:
        return cls(
            read_users=_int(row, "int_page_read_user"),
            reads=_int(row, "int_page_read_count"),
            original_read_users=_int(row, "ori_page_read_user"),
            original_reads=_int(row, "ori_page_read_count"),
            share_users=_int(row, "share_user"),
            shares=_int(row, "share_count"),
            favourite_users=_int(row, "add_to_fav_user"),
            favourites=_int(row, "add_to_fav_count"),
        )


def split_msgid(msgid: str) -> tuple[int | None, int]:
    """``"12003_3"`` → ``(12003, 3)``: the mass send's msg_data_id and the article's
    position in it (the first 1); ``(None, 1)`` when the id has another form."""
    head, _, index = msgid.partition("_")
    try:
        return int(head), int(index or 1)
    except ValueError:
        return None, 1


@dataclass(frozen=True)
class ArticleDay:
    """One row of ``getarticlesummary``: one article's figures of one day."""

    day: date  # ref_date
    msgid: str  # "{msg_data_id}_{index}"
    title: str
    figures: ArticleFigures

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> ArticleDay:
        return cls(
            date.fromisoformat(str(row["ref_date"])),
            str(row["msgid"]),
            str(row.get("title") or ""),
            ArticleFigures.from_api(row),
        )


#: getarticletotal's read counts by where the reader came from, by our names.
READ_SOURCES = ("session", "hist_msg", "feed", "friends", "other")
#: getarticletotal's shares to Moments, by where the sharer had read it.
MOMENTS_SHARE_SOURCES = ("session", "feed", "other")


@dataclass(frozen=True)
class ArticleTotalDetail:
    """One ``details`` entry of ``getarticletotal``: the article's totals from its send up
    to the end of ``day`` (stat_date). ``recipients`` is target_user; ``read_users_from``
    the readers by where they came from (``session`` the chat, ``hist_msg`` the account's
    history page, ``feed`` Moments, ``friends``, ``other``); ``moments_shares_from`` the
    shares to Moments by where the sharer read it."""

    day: date
    recipients: int
    figures: ArticleFigures
    read_users_from: dict[str, int] = field(default_factory=dict)
    moments_shares_from: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> ArticleTotalDetail:
        return cls(
            date.fromisoformat(str(row["stat_date"])),
            _int(row, "target_user"),
            ArticleFigures.from_api(row),
            {s: _int(row, f"int_page_from_{s}_read_user") for s in READ_SOURCES},
            {s: _int(row, f"feed_share_from_{s}_cnt") for s in MOMENTS_SHARE_SOURCES},
        )


@dataclass(frozen=True)
class ArticleTotal:
    """One row of ``getarticletotal``: an article sent on ``sent_on`` and its totals day by
    day (at most 7 days after the send)."""

    sent_on: date  # ref_date
    msgid: str
    title: str
    details: list[ArticleTotalDetail]

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> ArticleTotal:
        return cls(
            date.fromisoformat(str(row["ref_date"])),
            str(row["msgid"]),
            str(row.get("title") or ""),
            [ArticleTotalDetail.from_api(d) for d in row.get("details") or []],
        )


@dataclass(frozen=True)
class ReadRow:
    """One row of ``getuserread`` (``hour`` None) or ``getuserreadhour`` (``hour`` 0–23):
    every article's reads of a day (or hour) from one ``source`` (user_source; 99999999 is
    all of them, and only that row has the original page and favourites)."""

    day: date
    hour: int | None
    source: int
    figures: ArticleFigures


@dataclass(frozen=True)
class ShareRow:
    """One row of ``getusershare`` / ``getusersharehour``: shares of a day (or hour) to one
    ``scene`` (1 a friend, 2 Moments, 255 elsewhere)."""

    day: date
    hour: int | None
    scene: int
    shares: int
    share_users: int


def _hour(row: Mapping[str, Any]) -> int | None:
    # ref_hour is the hour times 100 (1200 is noon).
    return None if row.get("ref_hour") is None else int(row["ref_hour"]) // 100


class DatacubeApi:
    """Analytics reads; mixed into the WeChat client."""

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

    def datacube_spans(self, api: str, begin: date, end: date) -> list[tuple[date, date]]:
        """The calls ``api`` needs for ``begin``…``end``: spans it accepts, from the first
        day the analytics hold; refused (:class:`LimitRefused`) for a period that ends
        before it begins or reaches today (the platform answers up to yesterday)."""
        if end < begin:
            raise LimitRefused("max_span_days", f"{api}: {end} is before {begin}")
        latest = platform_yesterday()
        if end > latest:
            raise LimitRefused("latest_day", f"{api}: {end} is after yesterday ({latest})")
        return spans(max(begin, history_start()), end, max_span_days(api))

    def _datacube(self, api: str, begin: date, end: date) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for first, last in self.datacube_spans(api, begin, end):
            body = self._call(
                "POST",
                f"/datacube/{api}",
                retry=True,
                json_body={"begin_date": first.isoformat(), "end_date": last.isoformat()},
            )
            rows.extend(r for r in body.get("list") or [] if isinstance(r, dict))
        return rows

    def article_summary(self, begin: date, end: date) -> list[ArticleDay]:
        """Each mass-sent article's figures of each day from ``begin`` to ``end``
        (``getarticlesummary``, one day a call). An article read by fewer than 3 on a day
        has no row for it."""
        return [ArticleDay.from_api(r) for r in self._datacube("getarticlesummary", begin, end)]

    def article_total(self, begin: date, end: date) -> list[ArticleTotal]:
        """The articles mass sent from ``begin`` to ``end``, each with its totals per day
        since the send (``getarticletotal``, one day a call)."""
        return [ArticleTotal.from_api(r) for r in self._datacube("getarticletotal", begin, end)]

    def _reads(self, api: str, begin: date, end: date) -> list[ReadRow]:
        return [
            ReadRow(
                date.fromisoformat(str(r["ref_date"])),
                _hour(r),
                _int(r, "user_source"),
                ArticleFigures.from_api(r),
            )
            for r in self._datacube(api, begin, end)
        ]

    def user_read(self, begin: date, end: date) -> list[ReadRow]:
        """All articles' reads per day and source (``getuserread``, 3 days a call)."""
        return self._reads("getuserread", begin, end)

    def user_read_hour(self, begin: date, end: date) -> list[ReadRow]:
        """All articles' reads per hour and source (``getuserreadhour``, one day a call)."""
        return self._reads("getuserreadhour", begin, end)

    def _shares(self, api: str, begin: date, end: date) -> list[ShareRow]:
        return [
            ShareRow(
                date.fromisoformat(str(r["ref_date"])),
                _hour(r),
                _int(r, "share_scene"),
                _int(r, "share_count"),
                _int(r, "share_user"),
            )
            for r in self._datacube(api, begin, end)
        ]

    def user_share(self, begin: date, end: date) -> list[ShareRow]:
        """Shares per day and scene (``getusershare``, 7 days a call)."""
        return self._shares("getusershare", begin, end)

    def user_share_hour(self, begin: date, end: date) -> list[ShareRow]:
        """Shares per hour and scene (``getusersharehour``, one day a call)."""
        return self._shares("getusersharehour", begin, end)
