"""Analytics (数据统计): users and articles.

User analytics, ``datacube/getusersummary`` and ``getusercumulate``
(/doc/offiaccount/Analytics/User_Analysis_Data_Interface.html), are computed from the
sandbox's followers: follows by subscribe time and scene, unfollows by the time the
sandbox saw them.

Article analytics (图文分析, /doc/offiaccount/Analytics/Graphic_Analysis_Data_Interface.html):
``getarticlesummary`` (each article's figures of one day), ``getarticletotal`` (the
articles sent on a day, with their running totals for up to 7 days), ``getuserread`` /
``getuserreadhour`` (all articles' reads by source, per day / hour) and ``getusershare``
/ ``getusersharehour`` (shares by scene). They count what the sandbox delivered: its
``mpnews`` mass sends and the reading derived from each delivery (``article_reads.py``).

Every span, date rule and code is in ``data/api_limits.json`` under "datacube": dates are
YYYY-MM-DD (61500), a span is under each API's maximum, end_date is not before begin_date
and at the latest yesterday (61501); only a verified account may ask (48001).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.article_reads import Reading, day_of, readings, sent_articles
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, api_limit
from fencun.sandbox.wechat.routing import Route
from fencun.sandbox.wechat.state import SHANGHAI

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

_YYYY_MM_DD = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
#: The user_source of a read in getarticletotal's per-source fields.
_FROM = {"session": "session", "history": "hist_msg", "moments": "feed", "friends": "friends"}


def _dates(platform: Platform, payload: dict[str, Any], max_span: int, limit: str) -> list[date]:
    """The days asked for, or the platform's refusal (``limit``: the span's entry)."""
    if api_limit("datacube", "verified_only") and not platform.config.verified:
        raise ApiError(api_errcode("datacube", "verified_only"))
    try:
        begin, end = (_day(payload.get(name)) for name in ("begin_date", "end_date"))
    except ValueError:
        raise ApiError(api_errcode("datacube", "date_format")) from None
    today = datetime.fromtimestamp(platform.now(), SHANGHAI).date()
    span = (end - begin).days
    # "begin_date和end_date的差值需小于最大时间跨度", end_date at the latest yesterday.
    if span < 0 or span >= max_span or end >= today:
        raise ApiError(api_errcode("datacube", limit))
    return [begin + timedelta(days=i) for i in range(span + 1)]


def _day(value: Any) -> date:
    """A YYYY-MM-DD date, and nothing else Python would read as one (20261201)."""
    if not isinstance(value, str) or not _YYYY_MM_DD.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


def _article_dates(platform: Platform, payload: dict[str, Any], api: str) -> list[date]:
    spans = api_limit("datacube", "article_max_span_days")
    return _dates(platform, payload, int(spans[api]), "article_max_span_days")


def _user_dates(platform: Platform, payload: dict[str, Any]) -> list[date]:
    span = int(api_limit("datacube", "user_max_span_days"))
    return _dates(platform, payload, span, "user_max_span_days")


def _end_of(day: date) -> float:
    return datetime.combine(day + timedelta(days=1), time(), SHANGHAI).timestamp()


def _hour_of(epoch: float) -> int:
    """``ref_hour``: the Beijing hour times 100 (0 … 2300)."""
    return datetime.fromtimestamp(epoch, SHANGHAI).hour * int(api_limit("datacube", "ref_hour"))


# -- users ----------------------------------------------------------------------------


def getusersummary(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    days = _user_dates(platform, payload)
    sources = api_limit("datacube", "user_source")
    new: Counter[tuple[date, int]] = Counter()
    population = platform.population
    for position in range(population.size):
        record = population.get(population.openid_at(position))
        if record is None:
            continue
        day = day_of(record.subscribe_time)
        if days[0] <= day <= days[-1]:
            new[(day, int(sources.get(record.scene, 0)))] += 1
    cancel: Counter[tuple[date, int]] = Counter()
    for openid, at in platform.unfollowed_at.items():
        day = day_of(at)
        record = population.get(openid)
        if record is not None and days[0] <= day <= days[-1]:
            cancel[(day, int(sources.get(record.scene, 0)))] += 1
    rows = [
        {
            "ref_date": day.isoformat(),
            "user_source": source,
            "new_user": new[(day, source)],
            "cancel_user": cancel[(day, source)],
        }
        for day, source in sorted(set(new) | set(cancel))
    ]
    return {"list": rows}


def getusercumulate(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    days = _user_dates(platform, payload)
    ends = [_end_of(day) for day in days]
    totals = [0] * len(days)
    population = platform.population
    for position in range(population.size):
        record = population.get(population.openid_at(position))
        if record is None:
            continue
        left = platform.unfollowed_at.get(record.openid)
        if not record.subscribed and left is None:
            continue  # unfollowed before the sandbox started: not in any window it answers
        for i, end in enumerate(ends):
            if record.subscribe_time < end and (left is None or left >= end):
                totals[i] += 1
    rows = [
        {"ref_date": d.isoformat(), "cumulate_user": n} for d, n in zip(days, totals, strict=True)
    ]
    return {"list": rows}


# -- articles -------------------------------------------------------------------------


class _Tally:
    """Users and counts of the reads, original-page reads, shares and favourites that
    fall in one bucket (a day, an hour, a source…)."""

    def __init__(self) -> None:
        self.readers: set[str] = set()
        self.reads = 0
        self.original_readers: set[str] = set()
        self.original_reads = 0
        self.sharers: set[str] = set()
        self.shares = 0
        self.favourers: set[str] = set()
        self.favourites = 0

    def add(self, r: Reading, keep: Callable[[float], bool], scene: int | None = None) -> None:
        reads = sum(1 for t in r.reads if keep(t))
        if reads:
            self.readers.add(r.openid)
            self.reads += reads
        if r.original_read is not None and keep(r.original_read):
            self.original_readers.add(r.openid)
            self.original_reads += 1
        shares = sum(1 for t, s in r.shares if keep(t) and scene in (None, s))
        if shares:
            self.sharers.add(r.openid)
            self.shares += shares
        if r.favourite is not None and keep(r.favourite):
            self.favourers.add(r.openid)
            self.favourites += 1

    def activity(self) -> int:
        """What getarticlesummary's threshold adds up."""
        return (
            len(self.readers)
            + len(self.original_readers)
            + len(self.sharers)
            + self.shares
            + self.favourites
        )

    def figures(self, *, all_sources: bool = True) -> dict[str, int]:
        """The counters as the APIs name them; the original page and the favourites are
        given for all sources only ("原文页阅读、收藏只提供全部渠道数据")."""
        return {
            "int_page_read_user": len(self.readers),
            "int_page_read_count": self.reads,
            "ori_page_read_user": len(self.original_readers) if all_sources else 0,
            "ori_page_read_count": self.original_reads if all_sources else 0,
            "share_user": len(self.sharers),
            "share_count": self.shares,
            "add_to_fav_user": len(self.favourers) if all_sources else 0,
            "add_to_fav_count": self.favourites if all_sources else 0,
        }


def _on(day: date) -> Callable[[float], bool]:
    return lambda t: day_of(t) == day


def getarticlesummary(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    days = _article_dates(platform, payload, "getarticlesummary")
    least = int(api_limit("datacube", "article_summary_min_activity"))
    rows = []
    every = readings(platform)
    for day in days:
        by_article: dict[str, _Tally] = defaultdict(_Tally)
        titles: dict[str, str] = {}
        for r in every:
            by_article[r.msgid].add(r, _on(day))
            titles[r.msgid] = r.title
        for msgid, tally in sorted(by_article.items()):
            if tally.activity() >= least:  # fewer is not counted by the platform
                rows.append(
                    {
                        "ref_date": day.isoformat(),
                        "msgid": msgid,
                        "title": titles[msgid],
                        **tally.figures(),
                    }
                )
    return {"list": rows}


def _details(readers: list[Reading], recipients: int, stat_date: date) -> dict[str, Any]:
    """One detail of getarticletotal: the totals up to the end of ``stat_date``."""
    end = _end_of(stat_date)

    def keep(t: float) -> bool:
        return t < end

    total = _Tally()
    by_source: dict[str, _Tally] = defaultdict(_Tally)
    sources = {int(v): k for k, v in api_limit("datacube", "read_user_source").items()}
    to_moments: dict[str, _Tally] = defaultdict(_Tally)
    moments = int(api_limit("datacube", "share_scene")["moments"])
    for r in readers:
        total.add(r, keep)
        where = _FROM.get(sources.get(r.source, "other"), "other")
        by_source[where].add(r, keep)
        to_moments[where if where in ("session", "feed") else "other"].add(r, keep, moments)
    detail: dict[str, Any] = {
        "stat_date": stat_date.isoformat(),
        "target_user": recipients,
        **total.figures(),
    }
    for where in ("session", "hist_msg", "feed", "friends", "other"):
        detail[f"int_page_from_{where}_read_user"] = len(by_source[where].readers)
        detail[f"int_page_from_{where}_read_count"] = by_source[where].reads
    for where in ("session", "feed", "other"):
        detail[f"feed_share_from_{where}_user"] = len(to_moments[where].sharers)
        detail[f"feed_share_from_{where}_cnt"] = to_moments[where].shares
    return detail


def getarticletotal(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    days = _article_dates(platform, payload, "getarticletotal")
    yesterday = datetime.fromtimestamp(platform.now(), SHANGHAI).date() - timedelta(days=1)
    horizon = int(api_limit("datacube", "article_total_days"))
    every = readings(platform)
    rows: list[dict[str, Any]] = []
    for article in sent_articles(platform):
        if article.sent_on not in days:
            continue
        readers = [r for r in every if r.msgid == article.msgid]
        last = min(article.sent_on + timedelta(days=horizon - 1), yesterday)
        stat_dates = [
            article.sent_on + timedelta(days=i) for i in range((last - article.sent_on).days + 1)
        ]
        rows.append(
            {
                "ref_date": article.sent_on.isoformat(),
                "msgid": article.msgid,
                "title": article.title,
                "details": [_details(readers, article.recipients, d) for d in stat_dates],
            }
        )
    rows.sort(key=lambda row: row["msgid"])
    return {"list": rows}


def _by_source(
    days: Iterable[date], hourly: bool, platform: Platform
) -> list[tuple[date, int | None, int, _Tally]]:
    """Reads per (day, hour or None, user_source), the "all" source included."""
    wanted = set(days)
    all_sources = int(api_limit("datacube", "read_user_source")["all"])
    buckets: dict[tuple[date, int | None, int], _Tally] = defaultdict(_Tally)
    for r in readings(platform):
        moments = [*r.reads, *(t for t, _s in r.shares)]
        if r.original_read is not None:
            moments.append(r.original_read)
        if r.favourite is not None:
            moments.append(r.favourite)
        for key in {(day_of(t), _hour_of(t) if hourly else None) for t in moments}:
            if key[0] not in wanted:
                continue

            def keep(t: float, key: tuple[date, int | None] = key) -> bool:
                return day_of(t) == key[0] and (key[1] is None or _hour_of(t) == key[1])

            buckets[(*key, all_sources)].add(r, keep)
            buckets[(*key, r.source)].add(r, keep)

    def order(key: tuple[date, int | None, int]) -> tuple[date, int, bool, int]:
        day, hour, source = key
        return day, -1 if hour is None else hour, source != all_sources, source

    return [(*key, buckets[key]) for key in sorted(buckets, key=order)]


def _read_rows(days: list[date], hourly: bool, platform: Platform) -> dict[str, Any]:
    all_sources = int(api_limit("datacube", "read_user_source")["all"])
    rows = []
    for day, hour, source, tally in _by_source(days, hourly, platform):
        row: dict[str, Any] = {"ref_date": day.isoformat()}
        if hour is not None:
            row["ref_hour"] = hour
        row["user_source"] = source
        row.update(tally.figures(all_sources=source == all_sources))
        rows.append(row)
    return {"list": rows}


def getuserread(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    return _read_rows(_article_dates(platform, payload, "getuserread"), False, platform)


def getuserreadhour(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    return _read_rows(_article_dates(platform, payload, "getuserreadhour"), True, platform)


def _share_rows(days: list[date], hourly: bool, platform: Platform) -> dict[str, Any]:
    wanted = set(days)
    users: dict[tuple[date, int, int], set[str]] = defaultdict(set)
    counts: Counter[tuple[date, int, int]] = Counter()
    for r in readings(platform):
        for at, scene in r.shares:
            key = (day_of(at), _hour_of(at) if hourly else -1, scene)
            if key[0] in wanted:
                users[key].add(r.openid)
                counts[key] += 1
    rows = []
    for day, hour, scene in sorted(counts):
        row: dict[str, Any] = {"ref_date": day.isoformat()}
        if hourly:
            row["ref_hour"] = hour
        row.update(
            {
                "share_scene": scene,
                "share_count": counts[(day, hour, scene)],
                "share_user": len(users[(day, hour, scene)]),
            }
        )
        rows.append(row)
    return {"list": rows}


def getusershare(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    return _share_rows(_article_dates(platform, payload, "getusershare"), False, platform)


def getusersharehour(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    return _share_rows(_article_dates(platform, payload, "getusersharehour"), True, platform)


ROUTES = {
    "/datacube/getusersummary": Route(getusersummary, with_ok=False),
    "/datacube/getusercumulate": Route(getusercumulate, with_ok=False),
    "/datacube/getarticlesummary": Route(getarticlesummary, with_ok=False),
    "/datacube/getarticletotal": Route(getarticletotal, with_ok=False),
    "/datacube/getuserread": Route(getuserread, with_ok=False),
    "/datacube/getuserreadhour": Route(getuserreadhour, with_ok=False),
    "/datacube/getusershare": Route(getusershare, with_ok=False),
    "/datacube/getusersharehour": Route(getusersharehour, with_ok=False),
}
