"""The cover (thumbnail) of a news article: the merchant's, or a plain one.

WeChat refuses an article without a thumbnail, and takes thumbnails as JPEG of at most
64 KB (``thumb`` in the temporary-media upload). A merchant's cover is checked against
that when the campaign is saved; without one, a small plain JPEG in the brand colour
(``data/cover.jpg``, 540 bytes) lets the article go out instead of failing the campaign.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fencun.content.limits import load_article_limits

#: 缩略图（thumb）：64KB，支持 JPG 格式 (the article table, "material", with its source).
THUMB_MAX_BYTES = load_article_limits().material_max_bytes["thumb"]
_JPEG_START = b"\xff\xd8\xff"


class CoverError(ValueError):
    """A cover WeChat would refuse; the message says why (Chinese first)."""


def check_cover(data: bytes) -> None:
    """Raise :class:`CoverError` unless ``data`` is a JPEG WeChat takes as a thumbnail."""
    if not data.startswith(_JPEG_START):
        raise CoverError("封面须为 JPG 图片（the cover must be a JPEG）")
    if len(data) > THUMB_MAX_BYTES:
        raise CoverError(
            f"封面 {len(data) // 1024} KB，微信缩略图最大 64 KB（the cover is over WeChat's 64 KB）"
        )


@cache
def plain_cover() -> bytes:
    """The plain JPEG used when the merchant gave no cover."""
    return resources.files("fencun.channels.wechat").joinpath("data/cover.jpg").read_bytes()
