"""What an article may be on the Official Account: the draft API's field limits, and the
cover and body images as permanent material, read from ``data/article_limits.json``.

One table for the lint, the WeChat client and the sandbox, each value with its source
and the error code the platform answers when it is broken; the lint refuses what the
draft API would, so nothing it passes comes back refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_GIF = (b"GIF87a", b"GIF89a")
_BMP = b"BM"


@cache
def article_limits_table() -> dict[str, Any]:
    """The raw table: ``{family: {name: {"value", "source", "errcode"?, "note"?}}}``."""
    text = (
        resources.files("fencun.content")
        .joinpath("data/article_limits.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class ArticleLimits:
    """The limits of a draft's articles and of their images (sizes in bytes, lengths in
    characters unless the name says bytes)."""

    articles_max: int
    title_max_chars: int
    author_max_chars: int
    digest_max_chars: int
    content_max_chars: int
    content_max_bytes: int
    content_source_url_max_bytes: int
    body_image_hosts: tuple[str, ...]
    material_max_bytes: dict[str, int]
    material_formats: dict[str, tuple[str, ...]]
    uploadimg_max_bytes: int
    uploadimg_formats: tuple[str, ...]

    @staticmethod
    def source(family: str, name: str) -> str:
        """The documentation page a limit comes from."""
        return str(article_limits_table()[family][name]["source"])

    @staticmethod
    def errcode(family: str, name: str) -> int | None:
        """The code the platform answers when that limit is broken, if it names one."""
        code = article_limits_table()[family][name].get("errcode")
        return int(code) if code is not None else None


@cache
def load_article_limits() -> ArticleLimits:
    """The typed view of the table."""
    table = article_limits_table()
    draft, material, uploadimg = table["draft"], table["material"], table["uploadimg"]
    return ArticleLimits(
        articles_max=int(draft["articles_max"]["value"]),
        title_max_chars=int(draft["title_max_chars"]["value"]),
        author_max_chars=int(draft["author_max_chars"]["value"]),
        digest_max_chars=int(draft["digest_max_chars"]["value"]),
        content_max_chars=int(draft["content_max_chars"]["value"]),
        content_max_bytes=int(draft["content_max_bytes"]["value"]),
        content_source_url_max_bytes=int(draft["content_source_url_max_bytes"]["value"]),
        body_image_hosts=tuple(str(h) for h in draft["body_image_hosts"]["value"]),
        material_max_bytes={str(k): int(v) for k, v in material["max_bytes"]["value"].items()},
        material_formats={
            str(k): tuple(str(f) for f in v) for k, v in material["formats"]["value"].items()
        },
        uploadimg_max_bytes=int(uploadimg["max_bytes"]["value"]),
        uploadimg_formats=tuple(str(f) for f in uploadimg["formats"]["value"]),
    )


def image_format(data: bytes) -> str | None:
    """``jpeg``, ``png``, ``gif`` or ``bmp`` by the file's first bytes; None for anything else."""
    if data.startswith(_JPEG):
        return "jpeg"
    if data.startswith(_PNG):
        return "png"
    if data.startswith(_GIF):
        return "gif"
    if data.startswith(_BMP):
        return "bmp"
    return None
