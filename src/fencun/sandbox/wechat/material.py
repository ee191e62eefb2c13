"""Permanent material: ``material/add_material``, ``get_materialcount``,
``batchget_material``, ``del_material``, and the retired ``material/add_news``.

/doc/subscription/api/material/permanent/api_addmaterial.html, api_getmaterialcount.html,
api_batchgetmaterial.html, api_delmaterial.html; limits in the article table
(``fencun/content/data/article_limits.json``, "material"), the retired API in
``data/api_limits.json`` ("retired").
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from fencun.content.limits import image_format
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, article_errcode, article_limit
from fencun.sandbox.wechat.media import multipart_field, multipart_file
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

#: The types ``batchget_material`` lists (thumbs are counted with images there).
LISTED = ("image", "video", "voice", "news")


def add_material(
    platform: Platform, query: dict[str, str], raw: tuple[bytes, str]
) -> dict[str, Any]:
    kind = query.get("type", "")
    sizes = article_limit("material", "max_bytes")
    if kind not in sizes:
        raise ApiError(40004)
    filename, data = multipart_file(*raw)
    if data is None:
        raise ApiError(41005)
    if len(data) > sizes[kind]:
        raise ApiError(int(article_limit("material", "size_errcodes")[kind]))
    formats = article_limit("material", "formats")
    if kind in formats and image_format(data) not in formats[kind]:
        raise ApiError(article_errcode("material", "formats"))
    description: dict[str, Any] = {}
    if kind == "video":
        # The page sends it as a form field; wechatpy sends it in the query string.
        text = query.get("description") or multipart_field(*raw, "description") or ""
        try:
            description = json.loads(text) if text else {}
        except ValueError:
            raise ApiError(47001) from None
        if not isinstance(description, dict) or not description.get("title"):
            raise ApiError(47001)
    media_id = secrets.token_urlsafe(32)
    item: dict[str, Any] = {
        "type": kind,
        "name": filename,
        "update_time": int(platform.now()),
        "bytes": len(data),
        "data": data,  # what was uploaded, for tests to compare
        **description,
    }
    answer: dict[str, Any] = {"media_id": media_id}
    if kind in ("image", "thumb"):
        item["url"] = f"http://mmbiz.qpic.cn/sandbox/{media_id}/0"
        answer["url"] = item["url"]
    platform.materials[media_id] = item
    return answer


def get_materialcount(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    counts = {f"{kind}_count": 0 for kind in ("voice", "video", "image", "news")}
    for item in platform.materials.values():
        kind = "image" if item["type"] == "thumb" else item["type"]
        counts[f"{kind}_count"] += 1
    return counts


def batchget_material(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    kind = payload.get("type")
    if kind not in LISTED:
        raise ApiError(40004)
    offset, count = payload.get("offset", 0), payload.get("count")
    if (
        not isinstance(offset, int)
        or offset < 0
        or not isinstance(count, int)
        or not 1 <= count <= article_limit("material", "batchget_count_max")
    ):
        raise ApiError(article_errcode("material", "batchget_count_max"))
    matching = [
        (media_id, item)
        for media_id, item in platform.materials.items()
        if item["type"] == kind or (kind == "image" and item["type"] == "thumb")
    ]
    page = matching[offset : offset + count]
    items = []
    for media_id, item in page:
        entry: dict[str, Any] = {
            "media_id": media_id,
            "name": item["name"],
            "update_time": item["update_time"],
        }
        if "url" in item:
            entry["url"] = item["url"]
        items.append(entry)
    return {"total_count": len(matching), "item_count": len(items), "item": items}


def del_material(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    media_id = payload.get("media_id")
    if not isinstance(media_id, str) or media_id not in platform.materials:
        raise ApiError(article_errcode("material", "unknown_media_id"))
    del platform.materials[media_id]
    return {}


def add_news(_: Platform, __: dict[str, str], ___: dict[str, Any]) -> dict[str, Any]:
    """Permanent news material is gone: articles are drafts now (``draft/add``)."""
    raise ApiError(api_errcode("retired", "material_add_news"))


def is_cover(platform: Platform, media_id: Any) -> bool:
    """Whether ``media_id`` is permanent material a draft may take as its cover."""
    item = platform.materials.get(media_id) if isinstance(media_id, str) else None
    return item is not None and item["type"] in article_limit("draft", "cover")


ROUTES = {
    "/cgi-bin/material/add_material": Route(add_material, json_body=False, with_ok=False),
    "/cgi-bin/material/get_materialcount": Route(get_materialcount, json_body=False, with_ok=False),
    "/cgi-bin/material/batchget_material": Route(batchget_material, with_ok=False),
    "/cgi-bin/material/del_material": Route(del_material),
    "/cgi-bin/material/add_news": Route(add_news),
}
