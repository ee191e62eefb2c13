"""Followers: ``user/get`` (the openid list), ``user/info`` and ``user/info/batchget``.

/doc/offiaccount/User_Management/Getting_a_User_List.html and
/doc/offiaccount/User_Management/Get_users_basic_information_UnionID.html.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fencun.sandbox.population import FollowerRecord
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform


def follower(platform: Platform, openid: Any, *, subscribed: bool = True) -> FollowerRecord:
    """The follower an openid names: 40003 if none, 43004 if required and unfollowed."""
    record = platform.population.get(str(openid)) if isinstance(openid, str) else None
    if record is None:
        raise ApiError(40003)
    if subscribed and not record.subscribed:
        raise ApiError(43004)
    return record


def page_size(platform: Platform) -> int:
    """Openids per ``user/get`` (and ``user/tag/get``) page."""
    return int(platform.config.user_page_size or platform.limits["user_list_page_size"])


def user_get(platform: Platform, query: dict[str, str], _: Any) -> dict[str, Any]:
    population = platform.population
    after = query.get("next_openid", "")
    start = 0
    if after:
        position = population.position(after)
        if position is None:
            raise ApiError(40003)
        start = position + 1
    openids = population.page(start, page_size(platform))
    answer: dict[str, Any] = {
        "total": population.subscribed_count,
        "count": len(openids),
        "next_openid": openids[-1] if openids else "",
    }
    if openids:
        answer["data"] = {"openid": openids}
    return answer


def user_info(platform: Platform, query: dict[str, str], _: Any) -> dict[str, Any]:
    return follower(platform, query.get("openid", ""), subscribed=False).info()


def user_batchget(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    items = payload.get("user_list")
    if (
        not isinstance(items, list)
        or not items
        or len(items) > int(platform.limits["user_batchget_max"])
    ):
        raise ApiError(40032)
    infos = []
    for item in items:
        openid = item.get("openid") if isinstance(item, dict) else None
        infos.append(follower(platform, openid, subscribed=False).info())
    return {"user_info_list": infos}


ROUTES = {
    "/cgi-bin/user/get": Route(user_get, json_body=False, with_ok=False),
    "/cgi-bin/user/info": Route(user_info, json_body=False, with_ok=False),
    "/cgi-bin/user/info/batchget": Route(user_batchget, with_ok=False),
}
