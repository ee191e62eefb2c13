"""User analytics: ``datacube/getusersummary`` and ``datacube/getusercumulate``.

/doc/offiaccount/Analytics/User_Analysis_Data_Interface.html; the span limit and the
scene-to-source table in ``data/api_limits.json`` under "datacube". Figures are computed
from the sandbox's followers: follows by subscribe time and scene, unfollows by the
time the sandbox saw them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, api_limit
from fencun.sandbox.wechat.routing import Route
from fencun.sandbox.wechat.state import SHANGHAI

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

DATE_FORMAT_ERROR = 61500


def _dates(platform: Platform, payload: dict[str, Any]) -> list[date]:
    try:
        begin = date.fromisoformat(str(payload.get("begin_date")))
        end = date.fromisoformat(str(payload.get("end_date")))
    except ValueError:
        raise ApiError(DATE_FORMAT_ERROR) from None
    today = datetime.fromtimestamp(platform.now(), SHANGHAI).date()
    span = (end - begin).days
    # "begin_date和end_date的差值需小于最大时间跨度", end_date at the latest yesterday.
    if span < 0 or span >= api_limit("datacube", "user_max_span_days") or end >= today:
        raise ApiError(api_errcode("datacube", "user_max_span_days"))
    return [begin + timedelta(days=i) for i in range(span + 1)]


def _day_of(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, SHANGHAI).date()


def _end_of(day: date) -> float:
    return datetime.combine(day + timedelta(days=1), time(), SHANGHAI).timestamp()


def getusersummary(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    days = _dates(platform, payload)
    sources = api_limit("datacube", "user_source")
    new: Counter[tuple[date, int]] = Counter()
    population = platform.population
    for position in range(population.size):
        record = population.get(population.openid_at(position))
        if record is None:
            continue
        day = _day_of(record.subscribe_time)
        if days[0] <= day <= days[-1]:
            new[(day, int(sources.get(record.scene, 0)))] += 1
    cancel: Counter[tuple[date, int]] = Counter()
    for openid, at in platform.unfollowed_at.items():
        day = _day_of(at)
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
    days = _dates(platform, payload)
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


ROUTES = {
    "/datacube/getusersummary": Route(getusersummary, with_ok=False),
    "/datacube/getusercumulate": Route(getusercumulate, with_ok=False),
}
