"""The draft box (草稿箱): ``draft/add``, ``update``, ``get``, ``batchget``, ``count``,
``delete``.

/doc/subscription/api/draftbox/draftmanage/api_draft_add.html and its siblings; field
limits in the article table (``fencun/content/data/article_limits.json``, "draft"), the
one the content lint reads. A draft leaves the box when it is mass-sent or published
(``message``, ``freepublish``). The sandbox models news articles (``article_type``
``news``); picture messages (``newspic``) are refused with 47001.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import article_errcode, article_limit
from fencun.sandbox.wechat.material import is_cover
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

#: An ``<img>`` tag and its ``src``, to drop external images as the platform does.
IMG_TAG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)[^>]*>", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)

_TEXT_FIELDS = ("title", "author", "digest", "content", "content_source_url")


def _drop_foreign_images(content: str) -> str:
    """The content as the platform keeps it: scripts removed, and images not on its own
    image host filtered out (外部图片url将被过滤)."""
    hosts = article_limit("draft", "body_image_hosts")

    def keep(match: re.Match[str]) -> str:
        host = (urlsplit(match.group(1)).hostname or "").lower()
        return match.group(0) if host in hosts else ""

    return IMG_TAG.sub(keep, SCRIPT.sub("", content))


def article(platform: Platform, raw: Any) -> dict[str, Any]:
    """One article of a draft checked against the platform's limits; the stored form."""
    if not isinstance(raw, dict):
        raise ApiError(47001)
    if raw.get("article_type", "news") != "news":
        raise ApiError(47001)
    values = {name: raw.get(name, "") for name in _TEXT_FIELDS}
    if not all(isinstance(v, str) for v in values.values()):
        raise ApiError(47001)
    title, author, digest = values["title"], values["author"], values["digest"]
    content, source_url = values["content"], values["content_source_url"]
    if not title or not content:
        raise ApiError(47001)
    for name, field in (
        ("title_max_chars", title),
        ("author_max_chars", author),
        ("digest_max_chars", digest),
        ("content_max_chars", content),
    ):
        if len(field) > article_limit("draft", name):
            raise ApiError(article_errcode("draft", name))
    if len(content.encode("utf-8")) > article_limit("draft", "content_max_bytes"):
        raise ApiError(article_errcode("draft", "content_max_bytes"))
    if source_url and (
        len(source_url.encode("utf-8")) > article_limit("draft", "content_source_url_max_bytes")
        or urlsplit(source_url).scheme not in ("http", "https")
    ):
        raise ApiError(article_errcode("draft", "content_source_url_max_bytes"))
    flags = {}
    for name in ("need_open_comment", "only_fans_can_comment"):
        value = raw.get(name, 0)
        if isinstance(value, bool) or value not in article_limit("draft", "comment_flags"):
            raise ApiError(article_errcode("draft", "comment_flags"))
        flags[name] = int(value)
    if flags["need_open_comment"] and not platform.config.comments:
        raise ApiError(article_errcode("draft", "comment_privilege"))
    thumb = raw.get("thumb_media_id")
    if not is_cover(platform, thumb):
        raise ApiError(article_errcode("draft", "cover"))
    return {
        "article_type": "news",
        "title": title,
        "author": author,
        "digest": digest,
        "content": _drop_foreign_images(content),
        "content_source_url": source_url,
        "thumb_media_id": thumb,
        **flags,
    }


def _draft(platform: Platform, media_id: Any) -> dict[str, Any]:
    draft = platform.drafts.get(media_id) if isinstance(media_id, str) else None
    if draft is None:
        raise ApiError(article_errcode("draft", "unknown_media_id"))
    return draft


def news_items(
    platform: Platform, media_id: str, draft: dict[str, Any], *, content: bool = True
) -> list[dict[str, Any]]:
    """The draft's articles as ``draft/get`` answers them (with the cover's URL and the
    draft's temporary link)."""
    items = []
    for index, item in enumerate(draft["articles"]):
        shown = dict(item)
        if not content:
            shown.pop("content")
        cover = platform.materials.get(item["thumb_media_id"])
        shown["thumb_url"] = cover["url"] if cover else ""
        shown["url"] = (
            f"http://mp.weixin.qq.com/s?__biz=sandbox&tempkey={media_id[:16]}&idx={index + 1}"
        )
        items.append(shown)
    return items


def add(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    articles = payload.get("articles")
    if not isinstance(articles, list) or not articles:
        raise ApiError(47001)
    if len(articles) > article_limit("draft", "articles_max"):
        raise ApiError(article_errcode("draft", "articles_max"))
    stored = [article(platform, a) for a in articles]
    if len(stored) > 1:
        for item in stored:
            item["digest"] = ""  # only a single-article draft has a digest
    media_id = secrets.token_urlsafe(32)
    platform.drafts[media_id] = {"articles": stored, "update_time": int(platform.now())}
    return {"media_id": media_id}


def update(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    draft = _draft(platform, payload.get("media_id"))
    index = payload.get("index")
    if (
        isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index < len(draft["articles"])
    ):
        raise ApiError(article_errcode("draft", "update_index"))
    new = article(platform, payload.get("articles"))
    if len(draft["articles"]) > 1:
        new["digest"] = ""
    draft["articles"][index] = new
    draft["update_time"] = int(platform.now())
    return {}


def get(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    media_id = payload.get("media_id")
    draft = _draft(platform, media_id)
    assert isinstance(media_id, str)
    return {"news_item": news_items(platform, media_id, draft)}


def batchget(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    offset, count = payload.get("offset", 0), payload.get("count")
    if (
        not isinstance(offset, int)
        or offset < 0
        or not isinstance(count, int)
        or not 1 <= count <= article_limit("draft", "batchget_count_max")
    ):
        raise ApiError(article_errcode("draft", "batchget_count_max"))
    with_content = not payload.get("no_content")
    # Newest first, as the admin site lists them.
    drafts = sorted(platform.drafts.items(), key=lambda d: -d[1]["update_time"])
    page = drafts[offset : offset + count]
    return {
        "total_count": len(drafts),
        "item_count": len(page),
        "item": [
            {
                "media_id": media_id,
                "content": {
                    "news_item": news_items(platform, media_id, draft, content=with_content)
                },
                "update_time": draft["update_time"],
            }
            for media_id, draft in page
        ],
    }


def count(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    return {"total_count": len(platform.drafts)}


def delete(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    media_id = payload.get("media_id")
    _draft(platform, media_id)
    platform.drafts.pop(str(media_id))
    return {}


ROUTES = {
    "/cgi-bin/draft/add": Route(add, with_ok=False),
    "/cgi-bin/draft/update": Route(update),
    "/cgi-bin/draft/get": Route(get, with_ok=False),
    "/cgi-bin/draft/batchget": Route(batchget, with_ok=False),
    "/cgi-bin/draft/count": Route(count, json_body=False, with_ok=False),
    "/cgi-bin/draft/delete": Route(delete),
}
