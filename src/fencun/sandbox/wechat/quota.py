"""Call quotas: the daily and per-minute counts every call goes through, and
``clear_quota``. /doc/offiaccount/Message_Management/API_Call_Limits.html.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_limit
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

#: Daily call quotas per API. WeChat scales some with the follower count; these are
#: generous enough for a full sync of millions of followers, and settable at runtime.
DAILY_QUOTAS = {
    "/cgi-bin/token": 2000,
    "/cgi-bin/stable_token": 500_000,
    "/cgi-bin/user/get": 500,
    "/cgi-bin/user/info": 5_000_000,
    "/cgi-bin/user/info/batchget": 500_000,
    "/cgi-bin/message/mass/sendall": 100,
    "/cgi-bin/message/mass/send": 1000,
    "/cgi-bin/message/mass/preview": 100,
    "/cgi-bin/message/custom/send": 500_000,
    "/cgi-bin/message/template/send": 100_000,
    # Personalised menus: each limit with its source in the account table.
    **api_limit("menu", "daily_calls"),
}
DEFAULT_DAILY_QUOTA = 100_000
#: Mass APIs: 60 requests a minute.
PER_MINUTE = {
    "/cgi-bin/message/mass/sendall": "mass_api_requests_per_minute",
    "/cgi-bin/message/mass/send": "mass_api_requests_per_minute",
    "/cgi-bin/message/mass/preview": "mass_api_requests_per_minute",
}
#: ``clear_quota`` works 10 times a month per account; then 48006.
CLEARS_PER_MONTH = 10


def count_call(platform: Platform, path: str) -> None:
    """Count one call against its daily (45009) and per-minute (45011) quotas."""
    day = platform.day()
    used = platform.day_calls[day][path]
    if used >= platform.quotas.get(path, DEFAULT_DAILY_QUOTA):
        raise ApiError(45009)
    minute_limit_name = PER_MINUTE.get(path)
    if minute_limit_name:
        key = (path, int(platform.now() // 60))
        if platform.minute_calls[key] >= int(platform.limits[minute_limit_name]):
            raise ApiError(45011)
        platform.minute_calls[key] += 1
    platform.day_calls[day][path] = used + 1


def clear_quota(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("appid") != platform.config.app_id:
        raise ApiError(40013)
    month = [t for t in platform.quota_clears if platform.month(t) == platform.month()]
    if len(month) >= CLEARS_PER_MONTH:
        raise ApiError(48006)
    platform.quota_clears.append(platform.now())
    platform.day_calls[platform.day()].clear()
    return {}


ROUTES = {
    "/cgi-bin/clear_quota": Route(clear_quota),
}
