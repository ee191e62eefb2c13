"""The article calls of the Official Account client: permanent material, images in an
article's body, the draft box and publishing without a push.

A mixin of :class:`~fencun.channels.wechat.client.WeChatClient` (one module per API
family, as the sandbox has them). What the platform would refuse is refused here first,
with :class:`LimitRefused`, from the same table the content lint reads
(``fencun/content/data/article_limits.json``); what it refuses anyway comes back as the
typed error of its ``errcode``. Calls that create something (material, a draft, a
publish) are not repeated on a lost answer: a repeat would leave a second one behind
that nothing lists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from fencun.channels.wechat.errors import LimitRefused
from fencun.content.limits import image_format, load_article_limits

if TYPE_CHECKING:
    from fencun.engine.limits import PlatformLimits

MaterialKind = Literal["image", "thumb", "voice", "video"]


@dataclass(frozen=True)
class Material:
    """Permanent material: its ``media_id``, and for images and thumbs the URL on
    WeChat's image host."""

    media_id: str
    url: str = ""


@dataclass(frozen=True)
class MaterialCount:
    voice: int
    video: int
    image: int
    news: int


@dataclass(frozen=True)
class Page:
    """One page of a list call: the total, and this page's items as the API answers them."""

    total: int
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class DraftArticle:
    """One article of a draft. ``thumb_media_id`` is permanent material (image or thumb);
    images in ``content`` must be on WeChat's image host (:meth:`upload_article_image`)."""

    title: str
    content: str
    thumb_media_id: str
    author: str = ""
    digest: str = ""
    content_source_url: str = ""
    need_open_comment: bool = False
    only_fans_can_comment: bool = False

    def check(self) -> None:
        """Raise :class:`LimitRefused` for a field the draft API would refuse."""
        limits = load_article_limits()
        if not self.title.strip():
            raise LimitRefused("title_required", "an article needs a title")
        if not self.content.strip():
            raise LimitRefused("content_required", "an article needs content")
        if not self.thumb_media_id:
            raise LimitRefused("cover", "an article needs a cover (permanent material)")
        for name, text, most in (
            ("title_max_chars", self.title, limits.title_max_chars),
            ("author_max_chars", self.author, limits.author_max_chars),
            ("digest_max_chars", self.digest, limits.digest_max_chars),
            ("content_max_chars", self.content, limits.content_max_chars),
        ):
            if len(text) > most:
                raise LimitRefused(name, f"{len(text)} characters; at most {most}")
        size = len(self.content.encode("utf-8"))
        if size > limits.content_max_bytes:
            raise LimitRefused(
                "content_max_bytes", f"{size} bytes; at most {limits.content_max_bytes}"
            )
        url = self.content_source_url
        if url and (
            len(url.encode("utf-8")) > limits.content_source_url_max_bytes
            or urlsplit(url).scheme not in ("http", "https")
        ):
            raise LimitRefused(
                "content_source_url_max_bytes",
                f"the original link must be http(s) and at most {limits.content_source_url_max_bytes} bytes",
            )

    def as_api(self) -> dict[str, Any]:
        return {
            "article_type": "news",
            "title": self.title,
            "author": self.author,
            "digest": self.digest,
            "content": self.content,
            "content_source_url": self.content_source_url,
            "thumb_media_id": self.thumb_media_id,
            "need_open_comment": int(self.need_open_comment),
            "only_fans_can_comment": int(self.only_fans_can_comment),
        }


@dataclass(frozen=True)
class PublishStatus:
    """``freepublish/get`` or a PUBLISHJOBFINISH event: ``status`` 0 published, 1 still
    publishing, 2 originality check failed, 3 failed, 4 platform review failed, 5 deleted
    by the account, 6 blocked; ``fail_idx`` the failed articles (first 1)."""

    publish_id: str
    status: int
    article_id: str = ""
    article_urls: list[str] = field(default_factory=list)
    fail_idx: list[int] = field(default_factory=list)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> PublishStatus:
        detail = body.get("article_detail") or {}
        items = detail.get("item") or []
        if isinstance(items, Mapping):  # one article in a parsed callback
            items = [items]
        fail = body.get("fail_idx") or []
        if not isinstance(fail, list):
            fail = [fail]
        return cls(
            publish_id=str(body.get("publish_id") or ""),
            status=int(body.get("publish_status") or 0),
            article_id=str(body.get("article_id") or ""),
            article_urls=[str(i.get("article_url") or "") for i in items if isinstance(i, Mapping)],
            fail_idx=[int(i) for i in fail],
        )


class ArticleApi:
    """Material, drafts and publishing; mixed into the WeChat client."""

    account_type: str
    limits: PlatformLimits
    #: Whether the account is verified (认证); publishing needs it on subscription accounts.
    verified: bool

    if TYPE_CHECKING:

        def _call(
            self,
            method: str,
            path: str,
            *,
            retry: bool,
            params: Mapping[str, Any] | None = None,
            json_body: Any = None,
            files: Any = None,
            ok_codes: frozenset[int] = frozenset(),
        ) -> dict[str, Any]: ...

    # -- permanent material -------------------------------------------------------

    def add_material(
        self,
        kind: MaterialKind,
        filename: str,
        content: bytes,
        *,
        title: str = "",
        introduction: str = "",
    ) -> Material:
        """Add permanent material (``material/add_material``): a cover is ``thumb`` (JPEG,
        64 KB) or ``image`` (10 MB). Size and format are checked before the upload."""
        limits = load_article_limits()
        most = limits.material_max_bytes.get(kind)
        if most is None:
            raise LimitRefused("material_kind", f"unknown material type {kind!r}")
        if len(content) > most:
            raise LimitRefused(
                "material_max_bytes", f"{kind}: {len(content)} bytes; at most {most}"
            )
        formats = limits.material_formats.get(kind)
        if formats is not None and image_format(content) not in formats:
            raise LimitRefused("material_formats", f"{kind} must be {'/'.join(formats)}")
        data: dict[str, Any] = {}
        if kind == "video":
            data["description"] = json.dumps(
                {"title": title, "introduction": introduction}, ensure_ascii=False
            )
        body = self._call(
            "POST",
            "/cgi-bin/material/add_material",
            retry=False,
            params={"type": kind},
            files={"media": (filename, content), **{k: (None, v) for k, v in data.items()}},
        )
        return Material(str(body["media_id"]), str(body.get("url") or ""))

    def material_count(self) -> MaterialCount:
        body = self._call("GET", "/cgi-bin/material/get_materialcount", retry=True)
        return MaterialCount(
            *(int(body.get(f"{k}_count") or 0) for k in ("voice", "video", "image", "news"))
        )

    def list_materials(
        self, kind: Literal["image", "video", "voice", "news"], offset: int = 0, count: int = 20
    ) -> Page:
        body = self._call(
            "POST",
            "/cgi-bin/material/batchget_material",
            retry=True,
            json_body={"type": kind, "offset": offset, "count": count},
        )
        return Page(int(body.get("total_count") or 0), list(body.get("item") or []))

    def delete_material(self, media_id: str) -> None:
        self._call(
            "POST", "/cgi-bin/material/del_material", retry=False, json_body={"media_id": media_id}
        )

    def upload_article_image(self, filename: str, content: bytes) -> str:
        """Upload an image used inside an article's content (``media/uploadimg``: JPEG or
        PNG under 1 MB); returns its URL on WeChat's image host."""
        limits = load_article_limits()
        if image_format(content) not in limits.uploadimg_formats:
            raise LimitRefused(
                "uploadimg_formats", f"a body image must be {'/'.join(limits.uploadimg_formats)}"
            )
        if len(content) > limits.uploadimg_max_bytes:
            raise LimitRefused(
                "uploadimg_max_bytes",
                f"{len(content)} bytes; under {limits.uploadimg_max_bytes + 1}",
            )
        body = self._call(
            "POST", "/cgi-bin/media/uploadimg", retry=True, files={"media": (filename, content)}
        )
        return str(body["url"])

    # -- drafts -------------------------------------------------------------------

    def add_draft(self, articles: Sequence[DraftArticle]) -> str:
        """Put 1–8 articles in the draft box; returns the draft's ``media_id``, which a mass
        send (``messages.news``), a preview or :meth:`publish` takes."""
        most = load_article_limits().articles_max
        if not 1 <= len(articles) <= most:
            raise LimitRefused("articles_max", f"{len(articles)} articles; 1–{most} per draft")
        for article in articles:
            article.check()
        body = self._call(
            "POST",
            "/cgi-bin/draft/add",
            retry=False,
            json_body={"articles": [a.as_api() for a in articles]},
        )
        return str(body["media_id"])

    def update_draft(self, media_id: str, index: int, article: DraftArticle) -> None:
        """Replace the article at ``index`` (the first 0) of a draft."""
        article.check()
        self._call(
            "POST",
            "/cgi-bin/draft/update",
            retry=True,
            json_body={"media_id": media_id, "index": index, "articles": article.as_api()},
        )

    def get_draft(self, media_id: str) -> list[dict[str, Any]]:
        """The draft's articles (``news_item``), each with its temporary ``url``."""
        body = self._call(
            "POST", "/cgi-bin/draft/get", retry=True, json_body={"media_id": media_id}
        )
        return list(body.get("news_item") or [])

    def list_drafts(self, offset: int = 0, count: int = 20, *, no_content: bool = False) -> Page:
        body = self._call(
            "POST",
            "/cgi-bin/draft/batchget",
            retry=True,
            json_body={"offset": offset, "count": count, "no_content": int(no_content)},
        )
        return Page(int(body.get("total_count") or 0), list(body.get("item") or []))

    def draft_count(self) -> int:
        body = self._call("GET", "/cgi-bin/draft/count", retry=True)
        return int(body.get("total_count") or 0)

    def delete_draft(self, media_id: str) -> None:
        self._call("POST", "/cgi-bin/draft/delete", retry=False, json_body={"media_id": media_id})

    # -- publishing without a push -------------------------------------------------

    def _check_publish(self) -> None:
        if self.limits.freepublish_requires_verification and not self.verified:
            raise LimitRefused(
                "freepublish_requires_verification",
                f"unverified {self.account_type} accounts cannot publish",
            )

    def publish(self, media_id: str) -> str:
        """Publish a draft without notifying anyone (``freepublish/submit``); returns the
        ``publish_id``. Only the job starts here: PUBLISHJOBFINISH (or
        :meth:`publish_status`) says whether it was published."""
        self._check_publish()
        body = self._call(
            "POST", "/cgi-bin/freepublish/submit", retry=False, json_body={"media_id": media_id}
        )
        return str(body["publish_id"])

    def publish_status(self, publish_id: str) -> PublishStatus:
        self._check_publish()
        body = self._call(
            "POST", "/cgi-bin/freepublish/get", retry=True, json_body={"publish_id": publish_id}
        )
        return PublishStatus.from_api(body)

    def list_published(self, offset: int = 0, count: int = 20, *, no_content: bool = False) -> Page:
        self._check_publish()
        body = self._call(
            "POST",
            "/cgi-bin/freepublish/batchget",
            retry=True,
            json_body={"offset": offset, "count": count, "no_content": int(no_content)},
        )
        return Page(int(body.get("total_count") or 0), list(body.get("item") or []))

    def get_published_article(self, article_id: str) -> list[dict[str, Any]]:
        self._check_publish()
        body = self._call(
            "POST",
            "/cgi-bin/freepublish/getarticle",
            retry=True,
            json_body={"article_id": article_id},
        )
        return list(body.get("news_item") or [])

    def delete_published(self, article_id: str, index: int = 0) -> None:
        """Delete a published article's ``index``-th article (the first 1), or all of them
        (0). Irreversible."""
        self._check_publish()
        self._call(
            "POST",
            "/cgi-bin/freepublish/delete",
            retry=False,
            json_body={"article_id": article_id, "index": index},
        )
