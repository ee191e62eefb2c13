"""Tags: create, list, rename, delete, tag and untag followers, a follower's tags and a
tag's followers. /doc/offiaccount/User_Management/User_Tag_Management.html.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from fencun.sandbox.population import FollowerRecord
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.routing import Route
from fencun.sandbox.wechat.user import follower, page_size

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

SYSTEM_TAGS = {0: "未分组", 1: "黑名单", 2: "星标组"}
#: Tag names: "标签名（30个字符以内）".
TAG_NAME_MAX_CHARS = 30
#: A tag with more followers than this cannot be deleted (45057).
TAG_DELETE_MAX_FOLLOWERS = 100_000


def counts(platform: Platform) -> Counter[int]:
    """Subscribed followers per tag id (cached until the population changes)."""
    if platform.tag_counts is None:
        tally: Counter[int] = Counter()
        for record in platform.population.subscribed():
            tally.update(record.tags)
        platform.tag_counts = tally
    return platform.tag_counts


def tag_id(platform: Platform, value: Any) -> int:
    """A tag id the account may change: 45159 if unknown, 45058 for a system tag."""
    try:
        tag = int(value)
    except (TypeError, ValueError):
        raise ApiError(45159) from None
    if tag in SYSTEM_TAGS:
        raise ApiError(45058)
    if tag not in platform.tags:
        raise ApiError(45159)
    return tag


def _tag_name(platform: Platform, payload: dict[str, Any]) -> str:
    tag = payload.get("tag")
    name = tag.get("name") if isinstance(tag, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ApiError(45157)
    if len(name) > TAG_NAME_MAX_CHARS:
        raise ApiError(45158)
    if name in platform.tags.values() or name in SYSTEM_TAGS.values():
        raise ApiError(45157)
    return name


def tags_get(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    tally = counts(platform)
    tags = [
        {"id": i, "name": n, "count": tally.get(i, 0)} for i, n in sorted(SYSTEM_TAGS.items())[2:]
    ]
    tags += [
        {"id": i, "name": n, "count": tally.get(i, 0)} for i, n in sorted(platform.tags.items())
    ]
    return {"tags": tags}


def tags_create(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    name = _tag_name(platform, payload)
    if len(platform.tags) >= int(platform.limits["tags_per_account"]):
        raise ApiError(45056)
    new_id = platform.next_tag_id
    platform.next_tag_id += 1
    platform.tags[new_id] = name
    return {"tag": {"id": new_id, "name": name}}


def tags_update(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    tag = payload.get("tag") or {}
    tag_to_rename = tag_id(platform, tag.get("id"))
    platform.tags[tag_to_rename] = _tag_name(platform, payload)
    return {}


def tags_delete(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    doomed = tag_id(platform, (payload.get("tag") or {}).get("id"))
    if counts(platform).get(doomed, 0) > TAG_DELETE_MAX_FOLLOWERS:
        raise ApiError(45057)
    for record in platform.population.subscribed():
        if doomed in record.tags:
            mutable = platform.population.mutable(record.openid)
            assert mutable is not None
            mutable.tags.remove(doomed)
    del platform.tags[doomed]
    counts(platform).pop(doomed, None)
    return {}


def _tag_batch(platform: Platform, payload: dict[str, Any]) -> tuple[int, list[FollowerRecord]]:
    tag = tag_id(platform, payload.get("tagid"))
    openids = payload.get("openid_list")
    if not isinstance(openids, list) or not 1 <= len(openids) <= int(
        platform.limits["tag_batch_openids_max"]
    ):
        raise ApiError(40032)
    records = []
    for openid in openids:
        follower(platform, openid)
        record = platform.population.mutable(openid)
        assert record is not None
        records.append(record)
    return tag, records


def tags_batch_tag(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    tag, records = _tag_batch(platform, payload)
    if any(
        tag not in r.tags and len(r.tags) >= int(platform.limits["tags_per_follower"])
        for r in records
    ):
        raise ApiError(45059)
    tally = counts(platform)
    for record in records:
        if tag not in record.tags:
            record.tags.append(tag)
            tally[tag] += 1
    return {}


def tags_batch_untag(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    tag, records = _tag_batch(platform, payload)
    tally = counts(platform)
    for record in records:
        if tag in record.tags:
            record.tags.remove(tag)
            tally[tag] -= 1
    return {}


def tags_of(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    return {"tagid_list": list(follower(platform, payload.get("openid")).tags)}


def tag_members(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    tag = tag_id(platform, payload.get("tagid"))
    population = platform.population
    after = str(payload.get("next_openid") or "")
    start = 0
    if after:
        position = population.position(after)
        if position is None:
            raise ApiError(40003)
        start = position + 1
    openids: list[str] = []
    size = page_size(platform)
    for position in range(start, population.size):
        record = population.get(population.openid_at(position))
        if record is not None and record.subscribed and tag in record.tags:
            openids.append(record.openid)
            if len(openids) >= size:
                break
    answer: dict[str, Any] = {
        "count": len(openids),
        "next_openid": openids[-1] if openids else "",
    }
    if openids:
        answer["data"] = {"openid": openids}
    return answer


ROUTES = {
    "/cgi-bin/tags/get": Route(tags_get, json_body=False, with_ok=False),
    "/cgi-bin/tags/create": Route(tags_create, with_ok=False),
    "/cgi-bin/tags/update": Route(tags_update),
    "/cgi-bin/tags/delete": Route(tags_delete),
    "/cgi-bin/tags/members/batchtagging": Route(tags_batch_tag),
    "/cgi-bin/tags/members/batchuntagging": Route(tags_batch_untag),
    "/cgi-bin/tags/getidlist": Route(tags_of, with_ok=False),
    "/cgi-bin/user/tag/get": Route(tag_members, with_ok=False),
}
