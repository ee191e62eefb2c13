"""Temporary media and article images: ``media/upload``, ``media/uploadimg``, and the
legacy mass-send articles of ``media/uploadnews``.
/doc/offiaccount/Asset_Management/New_temporary_materials.html,
/doc/subscription/api/material/permanent/api_uploadimage.html (limits in the article
table, "uploadimg") and /doc/service/en/api/notify/message/api_uploadnewsmsg.html (retired:
``data/api_limits.json``, "retired").
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from fencun.content.limits import image_format
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, article_errcode, article_limit
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

#: Upload size limits per media type (bytes): image 10 MB, voice 2 MB, video 10 MB,
#: thumb 64 KB (JPEG).
UPLOAD_MAX_BYTES = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "thumb": 64 << 10}
#: ``media/uploadnews``: 1 to 8 articles.
NEWS_ARTICLES_MAX = 8
NEWS_TITLE_MAX_CHARS = 64


def new_media(platform: Platform, kind: str, content: dict[str, Any]) -> str:
    """Store media of ``kind`` and return its new media_id."""
    media_id = secrets.token_urlsafe(48)
    platform.media[media_id] = {"type": kind, "created_at": int(platform.now()), **content}
    return media_id


def screen(platform: Platform, text: str) -> None:
    """Refuse content the platform's checks would (87014, risky content)."""
    if any(word in text for word in platform.config.banned_words):
        raise ApiError(87014)


def _parts(body: bytes, content_type: str, name: str) -> list[tuple[bytes, bytes]]:
    """(head, data) of each multipart/form-data part called ``name``."""
    marker = "boundary="
    if marker not in content_type:
        return []
    boundary = content_type.split(marker, 1)[1].split(";")[0].strip().strip('"').encode()
    found = []
    for part in body.split(b"--" + boundary):
        head, sep, data = part.partition(b"\r\n\r\n")
        if sep and f'name="{name}"'.encode() in head:
            found.append((head, data[:-2] if data.endswith(b"\r\n") else data))
    return found


def multipart_field(body: bytes, content_type: str, name: str) -> str | None:
    """A text field of a multipart/form-data body, or None."""
    parts = _parts(body, content_type, name)
    return parts[0][1].decode("utf-8", "replace") if parts else None


def multipart_file(body: bytes, content_type: str) -> tuple[str, bytes | None]:
    """The ``media`` part of a multipart/form-data body: (filename, bytes)."""
    for head, data in _parts(body, content_type, "media"):
        filename = ""
        for token in head.decode("utf-8", "replace").split(";"):
            token = token.strip()
            if token.startswith("filename="):
                filename = token.split("=", 1)[1].strip('"')
        return filename, data
    return "", None


def upload_news(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    if platform.config.uploadnews_retired:
        raise ApiError(api_errcode("retired", "media_uploadnews"))
    articles = payload.get("articles")
    if not isinstance(articles, list) or not 1 <= len(articles) <= NEWS_ARTICLES_MAX:
        raise ApiError(47001)
    for article in articles:
        if not isinstance(article, dict) or not article.get("title") or not article.get("content"):
            raise ApiError(47001)
        thumb = platform.media.get(str(article.get("thumb_media_id", "")))
        if thumb is None or thumb["type"] not in ("thumb", "image"):
            raise ApiError(40007)
        if len(str(article["title"])) > NEWS_TITLE_MAX_CHARS:
            raise ApiError(45003)
        screen(platform, str(article["title"]) + str(article["content"]))
    media_id = new_media(platform, "news", {"articles": articles})
    return {
        "type": "news",
        "media_id": media_id,
        "created_at": platform.media[media_id]["created_at"],
    }


def upload_media(
    platform: Platform, query: dict[str, str], raw: tuple[bytes, str]
) -> dict[str, Any]:
    kind = query.get("type", "")
    if kind not in UPLOAD_MAX_BYTES:
        raise ApiError(40004)
    filename, data = multipart_file(*raw)
    if data is None:
        raise ApiError(41005)
    if len(data) > UPLOAD_MAX_BYTES[kind]:
        raise ApiError(40006)
    if kind == "thumb" and not data.startswith(b"\xff\xd8\xff"):
        raise ApiError(40005)  # thumbnails are JPEG only
    media_id = new_media(platform, kind, {"filename": filename, "bytes": len(data), "data": data})
    key = "thumb_media_id" if kind == "thumb" else "media_id"
    return {"type": kind, key: media_id, "created_at": platform.media[media_id]["created_at"]}


def upload_image(platform: Platform, _: dict[str, str], raw: tuple[bytes, str]) -> dict[str, Any]:
    filename, data = multipart_file(*raw)
    if data is None:
        raise ApiError(41005)
    if image_format(data) not in article_limit("uploadimg", "formats"):
        raise ApiError(article_errcode("uploadimg", "formats"))
    if len(data) > article_limit("uploadimg", "max_bytes"):
        raise ApiError(article_errcode("uploadimg", "max_bytes"))
    media_id = new_media(platform, "image", {"filename": filename, "bytes": len(data)})
    host = article_limit("uploadimg", "url_host")
    return {"url": f"http://{host}/sandbox/{media_id}/0", "errcode": 0, "errmsg": "ok"}


ROUTES = {
    "/cgi-bin/media/uploadnews": Route(upload_news, with_ok=False),
    "/cgi-bin/media/upload": Route(upload_media, json_body=False, with_ok=False),
    "/cgi-bin/media/uploadimg": Route(upload_image, json_body=False, with_ok=False),
}
