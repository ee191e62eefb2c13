"""Publishing without a push (发表): ``freepublish/submit``, ``get``, ``batchget``,
``getarticle``, ``delete``, and the job that ends with a PUBLISHJOBFINISH callback.

/doc/subscription/api/public/api_freepublish_submit.html and its siblings; codes and
account types in ``data/api_limits.json`` ("freepublish"). A published draft goes on the
account's page and into search, and reaches no follower's chat.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.draft import news_items
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, api_limit, article_errcode
from fencun.sandbox.wechat.material import is_cover
from fencun.sandbox.wechat.routing import Route
from fencun.sandbox.wechat.state import PublishJob

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

SUCCESS, PUBLISHING, REVIEW_FAILED = 0, 1, 4


def _allowed(platform: Platform) -> None:
    """48001 for an account type that may not publish (unverified subscription accounts)."""
    rule = api_limit("freepublish", "accounts")[platform.config.account_type]
    if rule == "verified" and not platform.config.verified:
        raise ApiError(api_errcode("freepublish", "accounts"))


def submit(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _allowed(platform)
    media_id = payload.get("media_id")
    draft = platform.drafts.get(media_id) if isinstance(media_id, str) else None
    if draft is None:
        raise ApiError(article_errcode("draft", "unknown_media_id"))
    assert isinstance(media_id, str)
    if not all(is_cover(platform, a["thumb_media_id"]) for a in draft["articles"]):
        raise ApiError(api_errcode("freepublish", "draft_failed_checks"))
    publish_id = platform.next_msg_id()
    job = PublishJob(
        publish_id=publish_id,
        msg_data_id=2_247_483_000 + publish_id % 1_000_000,
        media_id=media_id,
        draft=platform.drafts.pop(media_id),
        accepted_at=platform.now(),
    )
    platform.publish_jobs[publish_id] = job
    platform.enqueue_job(job)
    return {"publish_id": str(publish_id), "msg_data_id": str(job.msg_data_id)}


def _article_url(article_id: str, idx: int) -> str:
    return f"https://mp.weixin.qq.com/s/{article_id}?idx={idx}"


def run_job(platform: Platform, job: PublishJob) -> None:
    """Review and publish one submitted draft, then post its PUBLISHJOBFINISH callback."""
    with platform.lock:
        articles = job.draft["articles"]
        banned = platform.config.banned_words
        failed = [
            i + 1
            for i, a in enumerate(articles)
            if any(w in a["title"] + a["content"] for w in banned)
        ]
        info: dict[str, Any] = {"publish_id": job.publish_id}
        if failed:
            job.status, job.fail_idx = REVIEW_FAILED, failed
            platform.drafts[job.media_id] = job.draft  # the draft stays for a fix
            info.update(publish_status=job.status, fail_idx=failed)
        else:
            job.status = SUCCESS
            job.article_id = secrets.token_urlsafe(24)
            platform.published[job.article_id] = {
                "articles": [dict(a, is_deleted=False) for a in articles],
                "update_time": int(platform.now()),
                "publish_id": job.publish_id,
            }
            info.update(
                publish_status=job.status,
                article_id=job.article_id,
                article_detail={
                    "count": len(articles),
                    "item": [
                        {"idx": i + 1, "article_url": _article_url(job.article_id, i + 1)}
                        for i in range(len(articles))
                    ],
                },
            )
    platform.callback(
        "publishjobfinish",
        "mphelper",
        {"MsgType": "event", "Event": "PUBLISHJOBFINISH", "PublishEventInfo": info},
    )


def get(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _allowed(platform)
    try:
        raw: Any = payload.get("publish_id")  # missing: int(None) raises TypeError
        job = platform.publish_jobs[int(raw)]
    except (KeyError, TypeError, ValueError):
        raise ApiError(
            api_errcode("freepublish", "unknown_publish_id"), errmsg="invalid argument"
        ) from None
    answer: dict[str, Any] = {
        "publish_id": str(job.publish_id),
        "publish_status": job.status,
        "fail_idx": list(job.fail_idx),
    }
    if job.status == SUCCESS:
        count = len(job.draft["articles"])
        answer["article_id"] = job.article_id
        answer["article_detail"] = {
            "count": count,
            "item": [
                {"idx": i + 1, "article_url": _article_url(job.article_id, i + 1)}
                for i in range(count)
            ],
        }
    return answer


def _published(platform: Platform, article_id: Any) -> dict[str, Any]:
    found = platform.published.get(article_id) if isinstance(article_id, str) else None
    if found is None:
        raise ApiError(api_errcode("freepublish", "unknown_article_id"))
    return found


def _items(
    platform: Platform, article_id: str, found: dict[str, Any], *, content: bool = True
) -> list[dict[str, Any]]:
    items = news_items(platform, article_id, found, content=content)
    for i, item in enumerate(items):
        item["url"] = _article_url(article_id, i + 1)
    return items


def getarticle(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _allowed(platform)
    article_id = payload.get("article_id")
    found = _published(platform, article_id)
    assert isinstance(article_id, str)
    return {"news_item": _items(platform, article_id, found)}


def batchget(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _allowed(platform)
    offset, count = payload.get("offset", 0), payload.get("count")
    if (
        not isinstance(offset, int)
        or offset < 0
        or not isinstance(count, int)
        or not 1 <= count <= api_limit("freepublish", "batchget_count_max")
    ):
        raise ApiError(api_errcode("freepublish", "batchget_count_max"))
    with_content = not payload.get("no_content")
    listed = [
        (article_id, found)
        for article_id, found in sorted(
            platform.published.items(), key=lambda p: -p[1]["update_time"]
        )
        if not all(a["is_deleted"] for a in found["articles"])
    ]
    page = listed[offset : offset + count]
    return {
        "total_count": len(listed),
        "item_count": len(page),
        "item": [
            {
                "article_id": article_id,
                "content": {"news_item": _items(platform, article_id, found, content=with_content)},
                "update_time": found["update_time"],
            }
            for article_id, found in page
        ],
    }


def delete(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _allowed(platform)
    found = _published(platform, payload.get("article_id"))
    index = payload.get("index") or api_limit("freepublish", "delete_index")
    articles = found["articles"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= len(articles):
        raise ApiError(47001)
    for i, item in enumerate(articles):
        if index == 0 or i == index - 1:
            item["is_deleted"] = True
    return {}


ROUTES = {
    "/cgi-bin/freepublish/submit": Route(submit),
    "/cgi-bin/freepublish/get": Route(get, with_ok=False),
    "/cgi-bin/freepublish/batchget": Route(batchget, with_ok=False),
    "/cgi-bin/freepublish/getarticle": Route(getarticle, with_ok=False),
    "/cgi-bin/freepublish/delete": Route(delete),
}
