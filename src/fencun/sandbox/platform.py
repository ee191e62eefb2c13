"""The sandbox's platform: WeChat's API behaviour, limits and error codes, without HTTP.

Every ``/cgi-bin/...`` request is handled by :meth:`Platform.handle`, which returns the
JSON WeChat would. Limits are read from the platform limits table (the JSON file the
engine and the client read too, parsed here on its own), quotas and windows follow the
sandbox clock, and mass sends run as jobs that end with a MASSSENDJOBFINISH callback.
"""

from __future__ import annotations

import json
import queue
import random
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any

from fencun.sandbox.callbacks import CallbackPoster
from fencun.sandbox.population import GENERATED_TAGS, FollowerRecord, Population

BEIJING = timezone(timedelta(hours=8))
SYSTEM_TAGS = {0: "未分组", 1: "黑名单", 2: "星标组"}

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach-limit mustslower retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45028: "has no masssend quota",
    45047: "out of response count limit",
    45056: "too many tags",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "too many tag now, no need to add new",
    45065: "clientmsgid exist",
    45066: "same clientmsgid retry too fast",
    45067: "clientmsgid size out of limit",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    47001: "data format error",
    48001: "api unauthorized",
    48006: "forbid to clear quota because of reaching the limit",
    87014: "risky content",
}

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
}
DEFAULT_DAILY_QUOTA = 100_000
#: Mass APIs: 60 requests a minute.
PER_MINUTE = {
    "/cgi-bin/message/mass/sendall": "mass_api_requests_per_minute",
    "/cgi-bin/message/mass/send": "mass_api_requests_per_minute",
    "/cgi-bin/message/mass/preview": "mass_api_requests_per_minute",
}
TOKEN_SECONDS = 7200
#: A replaced token keeps working this long (classic fetch) — WeChat's 5 minutes.
TOKEN_GRACE_SECONDS = 300
#: Stable tokens rotate this long before expiry in normal mode.
STABLE_EARLY_SECONDS = 300
TEXT_MAX_BYTES = 2048


def load_limits_table() -> dict[str, Any]:
    """The platform limits table, read from the same data file as the product."""
    text = resources.files("fencun.engine").joinpath("data/platform_limits.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def limits_for(account_type: str) -> dict[str, Any]:
    table = load_limits_table()
    values = {k: v["value"] for k, v in table["common"].items()}
    values.update({k: v["value"] for k, v in table["account_types"][account_type].items()})
    return values


class ApiError(Exception):
    def __init__(self, errcode: int, **extra: Any) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.extra = extra


@dataclass
class Config:
    """One simulated account and how the sandbox behaves."""

    app_id: str = "wx5a4db0c0a7f0e001"
    app_secret: str = "sandbox-app-secret-0123456789abcd"  # noqa: S105 - public dev default
    token: str = "sandboxtoken"  # noqa: S105 - public dev default
    aes_key: str = "fencunSandboxAesKey0123456789abcdefghijklmn"
    mode: str = "safe"  # plaintext | compatible | safe
    account_type: str = "subscription"
    original_id: str = "gh_f3nc0n5andb0x"
    callback_url: str | None = None
    followers: int = 1000
    seed: int = 1
    latency_ms: float = 0.0
    #: ``user/get`` page size instead of the platform's 10,000 (small pages keep tests of
    #: multi-page syncs fast; the protocol is the same).
    user_page_size: int | None = None
    #: Retrying a clientmsgid within this many seconds answers 45066 instead of 45065.
    retry_too_fast_seconds: float = 60.0
    templates: dict[str, str] = field(
        default_factory=lambda: {"TM_ORDER_SHIPPED": "订单发货通知", "TM_APPOINTMENT": "预约提醒"}
    )
    banned_words: tuple[str, ...] = ("违禁词",)


@dataclass
class FaultRule:
    """An injected failure on matching API calls.

    ``action``: ``error`` answers ``errcode`` without acting; ``timeout`` sleeps
    ``seconds`` before acting (the client gives up first); ``timeout_after`` acts, then
    sleeps before answering (the client gives up, but the platform did it);
    ``latency`` adds ``seconds`` before acting.
    """

    path: str = "*"
    action: str = "error"
    errcode: int = -1
    times: int | None = None
    rate: float = 1.0
    seconds: float = 0.0

    def matches(self, path: str) -> bool:
        return self.path in ("*", path) or (
            self.path.endswith("*") and path.startswith(self.path[:-1])
        )

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Delivery:
    seq: int
    kind: str  # mass | preview | custom | template
    openid: str
    msg_id: int | None
    at: float
    key: str = ""  # clientmsgid / client_msg_id
    msgtype: str = ""
    title: str = ""  # a news title, or a text message's text

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "openid": self.openid,
            "msg_id": self.msg_id,
            "at": datetime.fromtimestamp(self.at, BEIJING).isoformat(),
            "key": self.key,
            "msgtype": self.msgtype,
            "title": self.title,
        }


@dataclass
class MassJob:
    msg_id: int
    msg_data_id: int
    kind: str  # sendall | send
    clientmsgid: str
    message: dict[str, Any]
    accepted_at: float
    tag_id: int | None = None
    to_all: bool = False
    openids: list[str] = field(default_factory=list)
    status: str = "SENDING"
    counts: dict[str, int] = field(default_factory=dict)


class Platform:
    """All state of the simulated account, guarded by one lock."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.limits = limits_for(config.account_type)
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.rng = random.Random(config.seed)
        self.population = Population(config.app_id, config.followers, config.seed, self.now())
        self.tags: dict[int, str] = dict(GENERATED_TAGS) if config.followers else {}
        self._tag_counts: Counter[int] | None = None
        self._next_tag = 105
        # Tokens: value -> expiry; the current classic and stable tokens.
        self.tokens: dict[str, float] = {}
        self.stable_current: str | None = None
        self.forced_refreshes: list[float] = []
        self.calls: Counter[str] = Counter()
        self.day_calls: dict[str, Counter[str]] = defaultdict(Counter)
        self.minute_calls: dict[tuple[str, int], int] = Counter()
        self.quotas = dict(DAILY_QUOTAS)
        self.quota_clears: list[float] = []
        self.faults: list[FaultRule] = []
        self.latency_ms = config.latency_ms
        # Sending.
        self.media: dict[str, dict[str, Any]] = {}
        self.clientmsgids: dict[str, tuple[int, float]] = {}
        self.mass_days: Counter[str] = Counter()
        self.mass_months: dict[str, Counter[str]] = defaultdict(Counter)
        self.jobs: dict[int, MassJob] = {}
        self.template_keys: dict[tuple[str, str], tuple[int, float]] = {}
        self.deliveries: list[Delivery] = []
        self._msg_id = 1_000_000_000
        self._job_queue: queue.Queue[MassJob | None] = queue.Queue()
        self.poster = CallbackPoster(
            config.callback_url,
            token=config.token,
            app_id=config.app_id,
            aes_key=config.aes_key,
            mode=config.mode,
            now=self.now,
            rng=random.Random(config.seed + 1),
        )
        self._worker = threading.Thread(
            target=self._run_jobs, name="sandbox-mass-jobs", daemon=True
        )
        self._worker.start()

    # -- time ---------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def _day(self, at: float | None = None) -> str:
        return datetime.fromtimestamp(self.now() if at is None else at, BEIJING).strftime(
            "%Y-%m-%d"
        )

    def _month(self, at: float | None = None) -> str:
        return self._day(at)[:7]

    def _next_msg_id(self) -> int:
        self._msg_id += 1
        return self._msg_id

    # -- request entry ------------------------------------------------------------

    def fault_for(self, path: str) -> FaultRule | None:
        """Take the first matching fault (counting down ``times``)."""
        with self.lock:
            for rule in self.faults:
                if not rule.matches(path) or (rule.times is not None and rule.times <= 0):
                    continue
                if rule.rate < 1.0 and self.rng.random() >= rule.rate:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def handle(
        self, method: str, path: str, query: dict[str, str], body: bytes, content_type: str
    ) -> dict[str, Any]:
        """Answer one API call as WeChat would (errors as ``{"errcode", "errmsg"}``)."""
        route = ROUTES.get(path)
        with self.lock:
            self.calls[path] += 1
        if route is None:
            return _error(ApiError(48001))
        try:
            with self.lock:
                self._count_quota(path)
                token_free = path in ("/cgi-bin/token", "/cgi-bin/stable_token")
                if not token_free:
                    self._check_token(query.get("access_token", ""))
                payload: Any = None
                if route.json_body:
                    if not body:
                        raise ApiError(44002)
                    try:
                        payload = json.loads(body.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError):
                        raise ApiError(47001) from None
                    if not isinstance(payload, dict):
                        raise ApiError(47001)
                result = route.handler(
                    self, query, payload if route.json_body else (body, content_type)
                )
        except ApiError as exc:
            return _error(exc)
        return {"errcode": 0, "errmsg": "ok", **result} if route.with_ok else result

    def _count_quota(self, path: str) -> None:
        day = self._day()
        used = self.day_calls[day][path]
        limit = self.quotas.get(path, DEFAULT_DAILY_QUOTA)
        if used >= limit:
            raise ApiError(45009)
        minute_limit_name = PER_MINUTE.get(path)
        if minute_limit_name:
            minute = int(self.now() // 60)
            key = (path, minute)
            if self.minute_calls[key] >= int(self.limits[minute_limit_name]):
                raise ApiError(45011)
            self.minute_calls[key] += 1
        self.day_calls[day][path] = used + 1

    def _check_token(self, token: str) -> None:
        if not token:
            raise ApiError(41001)
        expiry = self.tokens.get(token)
        if expiry is None:
            raise ApiError(40001)
        if self.now() >= expiry:
            raise ApiError(42001)

    # -- tokens -------------------------------------------------------------------

    def _check_credentials(self, appid: str, secret: str) -> None:
        if appid != self.config.app_id:
            raise ApiError(40013)
        if not secrets.compare_digest(secret.encode(), self.config.app_secret.encode()):
            raise ApiError(40125)

    def _mint(self) -> str:
        return secrets.token_urlsafe(96)

    def classic_token(self, query: dict[str, str], _: Any) -> dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            raise ApiError(40002)
        self._check_credentials(query.get("appid", ""), query.get("secret", ""))
        now = self.now()
        # A new classic token leaves the previous ones 5 more minutes.
        for value, expiry in list(self.tokens.items()):
            if value != self.stable_current:
                self.tokens[value] = min(expiry, now + TOKEN_GRACE_SECONDS)
        value = self._mint()
        self.tokens[value] = now + TOKEN_SECONDS
        return {"access_token": value, "expires_in": TOKEN_SECONDS}

    def stable_token(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("grant_type") != "client_credential":
            raise ApiError(40002)
        self._check_credentials(str(payload.get("appid", "")), str(payload.get("secret", "")))
        now = self.now()
        current = self.stable_current
        today = [t for t in self.forced_refreshes if self._day(t) == self._day(now)]
        # "强制刷新模式每天限用20次且需间隔30秒": a forced refresh within 30 s of the last
        # one does not refresh (the current token comes back), it is not an error.
        if payload.get("force_refresh") and not (today and now - today[-1] < 30):
            if len(today) >= 20:
                raise ApiError(45009)
            self.forced_refreshes.append(now)
            if current is not None:
                self.tokens.pop(current, None)  # forced: the previous token stops at once
            current = None
        elif current is not None:
            expiry = self.tokens.get(current)
            if expiry is None or expiry - now <= STABLE_EARLY_SECONDS:
                current = None  # rotated early; the old one still runs to its own expiry
        if current is None:
            current = self._mint()
            self.tokens[current] = now + TOKEN_SECONDS
            self.stable_current = current
        return {"access_token": current, "expires_in": int(self.tokens[current] - now)}

    def invalidate_tokens(self) -> None:
        """Every token stops working now (as after a forced refresh elsewhere)."""
        with self.lock:
            self.tokens.clear()
            self.stable_current = None

    # -- followers ----------------------------------------------------------------

    def _follower(self, openid: Any, *, subscribed: bool = True) -> FollowerRecord:
        record = self.population.get(str(openid)) if isinstance(openid, str) else None
        if record is None:
            raise ApiError(40003)
        if subscribed and not record.subscribed:
            raise ApiError(43004)
        return record

    def user_get(self, query: dict[str, str], _: Any) -> dict[str, Any]:
        after = query.get("next_openid", "")
        start = 0
        if after:
            position = self.population.position(after)
            if position is None:
                raise ApiError(40003)
            start = position + 1
        size = int(self.config.user_page_size or self.limits["user_list_page_size"])
        openids = self.population.page(start, size)
        answer: dict[str, Any] = {
            "total": self.population.subscribed_count,
            "count": len(openids),
            "next_openid": openids[-1] if openids else "",
        }
        if openids:
            answer["data"] = {"openid": openids}
        return answer

    def user_info(self, query: dict[str, str], _: Any) -> dict[str, Any]:
        record = self._follower(query.get("openid", ""), subscribed=False)
        return record.info()

    def user_batchget(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        items = payload.get("user_list")
        if (
            not isinstance(items, list)
            or not items
            or len(items) > int(self.limits["user_batchget_max"])
        ):
            raise ApiError(40032)
        infos = []
        for item in items:
            openid = item.get("openid") if isinstance(item, dict) else None
            infos.append(self._follower(openid, subscribed=False).info())
        return {"user_info_list": infos}

    # -- tags ---------------------------------------------------------------------

    def _counts(self) -> Counter[int]:
        if self._tag_counts is None:
            counts: Counter[int] = Counter()
            for record in self.population.subscribed():
                counts.update(record.tags)
            self._tag_counts = counts
        return self._tag_counts

    def tags_get(self, _: dict[str, str], __: Any) -> dict[str, Any]:
        counts = self._counts()
        tags = [
            {"id": i, "name": n, "count": counts.get(i, 0)}
            for i, n in sorted(SYSTEM_TAGS.items())[2:]
        ]
        tags += [
            {"id": i, "name": n, "count": counts.get(i, 0)} for i, n in sorted(self.tags.items())
        ]
        return {"tags": tags}

    def _tag_name(self, payload: dict[str, Any]) -> str:
        tag = payload.get("tag")
        name = tag.get("name") if isinstance(tag, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ApiError(45157)
        if len(name) > 30:
            raise ApiError(45158)
        if name in self.tags.values() or name in SYSTEM_TAGS.values():
            raise ApiError(45157)
        return name

    def tags_create(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        name = self._tag_name(payload)
        if len(self.tags) >= int(self.limits["tags_per_account"]):
            raise ApiError(45056)
        tag_id = self._next_tag
        self._next_tag += 1
        self.tags[tag_id] = name
        return {"tag": {"id": tag_id, "name": name}}

    def _tag_id(self, value: Any) -> int:
        try:
            tag_id = int(value)
        except (TypeError, ValueError):
            raise ApiError(45159) from None
        if tag_id in SYSTEM_TAGS:
            raise ApiError(45058)
        if tag_id not in self.tags:
            raise ApiError(45159)
        return tag_id

    def tags_update(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        tag = payload.get("tag") or {}
        tag_id = self._tag_id(tag.get("id"))
        self.tags[tag_id] = self._tag_name(payload)
        return {}

    def tags_delete(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        tag_id = self._tag_id((payload.get("tag") or {}).get("id"))
        if self._counts().get(tag_id, 0) > 100_000:
            raise ApiError(45057)
        for record in self.population.subscribed():
            if tag_id in record.tags:
                mutable = self.population.mutable(record.openid)
                assert mutable is not None
                mutable.tags.remove(tag_id)
        del self.tags[tag_id]
        self._counts().pop(tag_id, None)
        return {}

    def _tag_batch(self, payload: dict[str, Any]) -> tuple[int, list[FollowerRecord]]:
        tag_id = self._tag_id(payload.get("tagid"))
        openids = payload.get("openid_list")
        if not isinstance(openids, list) or not 1 <= len(openids) <= int(
            self.limits["tag_batch_openids_max"]
        ):
            raise ApiError(40032)
        records = []
        for openid in openids:
            self._follower(openid)
            record = self.population.mutable(openid)
            assert record is not None
            records.append(record)
        return tag_id, records

    def tags_batch_tag(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        tag_id, records = self._tag_batch(payload)
        if any(
            tag_id not in r.tags and len(r.tags) >= int(self.limits["tags_per_follower"])
            for r in records
        ):
            raise ApiError(45059)
        counts = self._counts()
        for record in records:
            if tag_id not in record.tags:
                record.tags.append(tag_id)
                counts[tag_id] += 1
        return {}

    def tags_batch_untag(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        tag_id, records = self._tag_batch(payload)
        counts = self._counts()
        for record in records:
            if tag_id in record.tags:
                record.tags.remove(tag_id)
                counts[tag_id] -= 1
        return {}

    def tags_of(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        return {"tagid_list": list(self._follower(payload.get("openid")).tags)}

    def tag_members(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        tag_id = self._tag_id(payload.get("tagid"))
        after = str(payload.get("next_openid") or "")
        start = 0
        if after:
            position = self.population.position(after)
            if position is None:
                raise ApiError(40003)
            start = position + 1
        openids: list[str] = []
        size = int(self.config.user_page_size or self.limits["user_list_page_size"])
        for position in range(start, self.population.size):
            record = self.population.get(self.population.openid_at(position))
            if record is not None and record.subscribed and tag_id in record.tags:
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

    # -- media --------------------------------------------------------------------

    def _new_media(self, kind: str, content: dict[str, Any]) -> str:
        media_id = secrets.token_urlsafe(48)
        self.media[media_id] = {"type": kind, "created_at": int(self.now()), **content}
        return media_id

    def upload_news(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        articles = payload.get("articles")
        if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
            raise ApiError(47001)
        for article in articles:
            if (
                not isinstance(article, dict)
                or not article.get("title")
                or not article.get("content")
            ):
                raise ApiError(47001)
            thumb = self.media.get(str(article.get("thumb_media_id", "")))
            if thumb is None or thumb["type"] not in ("thumb", "image"):
                raise ApiError(40007)
            if len(str(article["title"])) > 64:
                raise ApiError(45003)
            self._screen(str(article["title"]) + str(article["content"]))
        media_id = self._new_media("news", {"articles": articles})
        return {
            "type": "news",
            "media_id": media_id,
            "created_at": self.media[media_id]["created_at"],
        }

    def upload_media(self, query: dict[str, str], raw: tuple[bytes, str]) -> dict[str, Any]:
        kind = query.get("type", "")
        sizes = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "thumb": 64 << 10}
        if kind not in sizes:
            raise ApiError(40004)
        filename, data = _multipart_file(*raw)
        if data is None:
            raise ApiError(41005)
        if len(data) > sizes[kind]:
            raise ApiError(40006)
        if kind == "thumb" and not data.startswith(b"\xff\xd8\xff"):
            raise ApiError(40005)  # thumbnails are JPEG only
        media_id = self._new_media(kind, {"filename": filename, "bytes": len(data), "data": data})
        key = "thumb_media_id" if kind == "thumb" else "media_id"
        return {"type": kind, key: media_id, "created_at": self.media[media_id]["created_at"]}

    def upload_image(self, _: dict[str, str], raw: tuple[bytes, str]) -> dict[str, Any]:
        filename, data = _multipart_file(*raw)
        if data is None:
            raise ApiError(41005)
        if len(data) > 1 << 20:
            raise ApiError(40006)
        media_id = self._new_media("image", {"filename": filename, "bytes": len(data)})
        return {"url": f"http://mmbiz.qpic.cn/sandbox/{media_id}/0"}

    # -- sending ------------------------------------------------------------------

    def _screen(self, text: str) -> None:
        if any(word in text for word in self.config.banned_words):
            raise ApiError(87014)

    def _message(self, payload: dict[str, Any], *, mass: bool) -> tuple[str, dict[str, Any], str]:
        """Validate the message part of a send; returns (msgtype, content, title)."""
        msgtype = payload.get("msgtype")
        content = payload.get(msgtype) if isinstance(msgtype, str) else None
        if msgtype == "image" and mass:
            content = payload.get("images") or payload.get("image")
        if not isinstance(content, dict):
            raise ApiError(40008)
        title = ""
        if msgtype == "text":
            text = content.get("content")
            if not isinstance(text, str) or not text:
                raise ApiError(44002)
            if len(text.encode("utf-8")) > TEXT_MAX_BYTES:
                raise ApiError(45002)
            self._screen(text)
            title = text  # a text message's whole text, so tests can read what was sent
        elif msgtype == "mpnews":
            media = self.media.get(str(content.get("media_id", "")))
            if media is None or media["type"] != "news":
                raise ApiError(40007)
            title = str(media["articles"][0]["title"])
        elif msgtype in ("image", "voice", "mpvideo", "video"):
            ids = content.get("media_ids") or [content.get("media_id")]
            if not all(str(i) in self.media for i in ids):
                raise ApiError(40007)
        elif msgtype == "news" and not mass:
            articles = content.get("articles")
            if not isinstance(articles, list) or not articles:
                raise ApiError(47001)
            title = str(articles[0].get("title", ""))
            self._screen(title + str(articles[0].get("description", "")))
        elif msgtype == "wxcard" or (msgtype in ("miniprogrampage", "msgmenu") and not mass):
            pass
        else:
            raise ApiError(40008)
        return msgtype, content, title

    def _clientmsgid(self, payload: dict[str, Any]) -> str:
        clientmsgid = payload.get("clientmsgid")
        if clientmsgid is None:
            # WeChat derives one from the target and content when none is given.
            clientmsgid = "auto:" + json.dumps(payload, sort_keys=True, ensure_ascii=False)[:200]
        clientmsgid = str(clientmsgid)
        if not clientmsgid.startswith("auto:") and len(clientmsgid.encode()) > int(
            self.limits["clientmsgid_max_bytes"]
        ):
            raise ApiError(45067)
        seen = self.clientmsgids.get(clientmsgid)
        now = self.now()
        if (
            seen is not None
            and now - seen[1] < float(self.limits["clientmsgid_dedup_hours"]) * 3600
        ):
            if now - seen[1] < self.config.retry_too_fast_seconds:
                raise ApiError(45066)
            raise ApiError(45065, msg_id=seen[0])
        return clientmsgid

    def _accept_mass(
        self, kind: str, payload: dict[str, Any], clientmsgid: str, **target: Any
    ) -> dict[str, Any]:
        msgtype, _, title = self._message(payload, mass=True)
        now = self.now()
        job = MassJob(
            msg_id=self._next_msg_id(),
            msg_data_id=2_247_483_000 + self._msg_id % 1_000_000,
            kind=kind,
            clientmsgid=clientmsgid,
            message={"msgtype": msgtype, "title": title},
            accepted_at=now,
            **target,
        )
        self.jobs[job.msg_id] = job
        self.clientmsgids[clientmsgid] = (job.msg_id, now)
        self._job_queue.put(job)
        answer: dict[str, Any] = {
            "errcode": 0,
            "errmsg": "send job submission success",
            "msg_id": job.msg_id,
        }
        if msgtype == "mpnews":
            answer["msg_data_id"] = job.msg_data_id
        return answer

    def mass_sendall(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        flt = payload.get("filter")
        if not isinstance(flt, dict):
            raise ApiError(47001)
        to_all = bool(flt.get("is_to_all"))
        tag_id = None
        if not to_all:
            try:
                tag_id = int(flt.get("tag_id"))
            except (TypeError, ValueError):
                raise ApiError(47001) from None
            if tag_id not in self.tags and tag_id != 2:
                raise ApiError(45159)
        self._message(payload, mass=True)
        clientmsgid = self._clientmsgid(payload)
        per_day = self.limits["mass_sends_per_day_account"]
        if per_day is not None and self.mass_days[self._day()] >= int(per_day):
            raise ApiError(45028)
        self.mass_days[self._day()] += 1
        return self._accept_mass("sendall", payload, clientmsgid, tag_id=tag_id, to_all=to_all)

    def mass_send(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        if not self.limits["openid_list_send"]:
            raise ApiError(48001)
        touser = payload.get("touser")
        low, high = int(self.limits["openid_list_min"]), int(self.limits["openid_list_max"])
        if not isinstance(touser, list) or not low <= len(touser) <= high:
            raise ApiError(40032)
        # As the platform: one openid that is not a current follower of this account (never
        # one, or unfollowed since) refuses the whole list with 40003, naming none of them
        # (global return codes: "请开发者确认 OpenID（该用户）是否已关注公众号，或是否是
        # 其他公众号的 OpenID").
        for openid in touser:
            record = self.population.get(openid) if isinstance(openid, str) else None
            if record is None or not record.subscribed:
                raise ApiError(40003)
        self._message(payload, mass=True)
        clientmsgid = self._clientmsgid(payload)
        return self._accept_mass("send", payload, clientmsgid, openids=list(dict.fromkeys(touser)))

    def mass_preview(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        record = self._follower(payload.get("touser"))
        msgtype, _, title = self._message(payload, mass=True)
        msg_id = self._next_msg_id()
        self._deliver("preview", record.openid, msg_id, "", msgtype, title)
        return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}

    def mass_get(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        try:
            job = self.jobs[int(payload.get("msg_id"))]
        except (KeyError, TypeError, ValueError):
            raise ApiError(47001) from None
        return {"msg_id": job.msg_id, "msg_status": job.status}

    def custom_send(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        record = self._follower(payload.get("touser"))
        msgtype, _, title = self._message(payload, mass=False)
        now = self.now()
        message_window = float(self.limits["customer_service_window_hours"]) * 3600
        event_window = float(self.limits["customer_service_event_window_minutes"]) * 60
        mutable = self.population.mutable(record.openid)
        assert mutable is not None
        in_message = (
            mutable.last_message_at is not None and now - mutable.last_message_at <= message_window
        )
        in_event = mutable.last_event_at is not None and now - mutable.last_event_at <= event_window
        if in_message and mutable.sent_since_message < int(
            self.limits["customer_service_per_message"]
        ):
            mutable.sent_since_message += 1
        elif in_event and mutable.sent_since_event < int(self.limits["customer_service_per_event"]):
            mutable.sent_since_event += 1
        elif in_message or in_event:
            raise ApiError(45047)
        else:
            raise ApiError(45015)
        self._deliver("custom", record.openid, None, "", msgtype, title)
        return {}

    def template_send(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        if not self.limits["template_messages"]:
            raise ApiError(48001)
        record = self._follower(payload.get("touser"))
        template_id = payload.get("template_id")
        if template_id not in self.config.templates:
            raise ApiError(40037)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ApiError(47001)
        self._screen(json.dumps(data, ensure_ascii=False))
        key = str(payload.get("client_msg_id") or "")
        now = self.now()
        if key:
            seen = self.template_keys.get((record.openid, key))
            if (
                seen is not None
                and now - seen[1] < float(self.limits["clientmsgid_dedup_hours"]) * 3600
            ):
                return {"errcode": 0, "errmsg": "ok", "msgid": seen[0]}
        msg_id = self._next_msg_id()
        if key:
            self.template_keys[(record.openid, key)] = (msg_id, now)
        self._deliver(
            "template",
            record.openid,
            msg_id,
            key,
            "template",
            self.config.templates[str(template_id)],
        )
        self._callback(
            "templatesendjobfinish",
            record.openid,
            {
                "MsgType": "event",
                "Event": "TEMPLATESENDJOBFINISH",
                "MsgID": msg_id,
                "Status": "success",
            },
        )
        return {"errcode": 0, "errmsg": "ok", "msgid": msg_id}

    def clear_quota(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("appid") != self.config.app_id:
            raise ApiError(40013)
        month = [t for t in self.quota_clears if self._month(t) == self._month()]
        if len(month) >= 10:
            raise ApiError(48006)
        self.quota_clears.append(self.now())
        self.day_calls[self._day()].clear()
        return {}

    # -- deliveries and jobs ------------------------------------------------------

    def _deliver(
        self, kind: str, openid: str, msg_id: int | None, key: str, msgtype: str, title: str
    ) -> None:
        self.deliveries.append(
            Delivery(
                len(self.deliveries) + 1, kind, openid, msg_id, self.now(), key, msgtype, title
            )
        )

    def _run_jobs(self) -> None:
        while True:
            job = self._job_queue.get()
            try:
                if job is None:
                    return
                self._run_job(job)
            finally:
                self._job_queue.task_done()

    def _run_job(self, job: MassJob) -> None:
        with self.lock:
            if job.kind == "send":
                targets = [
                    r
                    for o in job.openids
                    if (r := self.population.get(o)) is not None and r.subscribed
                ]
            else:
                targets = [
                    r for r in self.population.subscribed() if job.to_all or job.tag_id in r.tags
                ]
            total = len(targets)
            per_follower = self.limits["mass_sends_per_month_per_follower"]
            month = self.mass_months[self._month(job.accepted_at)]
            sent = 0
            for record in targets:
                if per_follower is not None and month[record.openid] >= int(per_follower):
                    continue  # over this follower's monthly mass count: filtered out
                month[record.openid] += 1
                self._deliver(
                    "mass",
                    record.openid,
                    job.msg_id,
                    job.clientmsgid,
                    job.message["msgtype"],
                    job.message["title"],
                )
                sent += 1
            job.status = "SEND_SUCCESS"
            job.counts = {
                "TotalCount": total,
                "FilterCount": sent,
                "SentCount": sent,
                "ErrorCount": 0,
            }
        self._callback(
            "masssendjobfinish",
            "mphelper",
            {
                "MsgType": "event",
                "Event": "MASSSENDJOBFINISH",
                "MsgID": job.msg_id,
                "Status": "send success",
                **job.counts,
                "CopyrightCheckResult": {"Count": 0, "ResultList": "", "CheckState": 1},
            },
        )

    def _callback(
        self, kind: str, openid: str, fields: dict[str, Any], at: float | None = None
    ) -> None:
        ordered = {
            "ToUserName": self.config.original_id,
            "FromUserName": openid,
            "CreateTime": int(self.now() if at is None else at),
            **fields,
        }
        self.poster.post(kind, openid, ordered)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait for queued mass jobs and callbacks to finish."""
        deadline = time.monotonic() + timeout
        while self._job_queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        self.poster.flush(max(0.1, deadline - time.monotonic()))

    def stop(self) -> None:
        self._job_queue.put(None)
        self.poster.stop()

    # -- follower activity (simulation) ------------------------------------------------

    def apply_event(self, event: dict[str, Any], *, post: bool = True) -> None:
        """Apply one world-style event (``kind``, ``openid``, ``at`` …) and post its callback."""
        kind = str(event["kind"])
        openid = str(event["openid"])
        at = _timestamp(event.get("at"), self.now())
        with self.lock:
            record = self.population.get(openid)
            if kind == "subscribe":
                scene = str(event.get("scene") or "ADD_SCENE_SEARCH")
                qr = str(event.get("scene_value") or event.get("qr_scene_str") or "")
                if record is None:
                    record = self.population.add(
                        FollowerRecord(
                            openid=openid, subscribe_time=int(at), scene=scene, qr_scene_str=qr
                        )
                    )
                else:
                    self.population.set_subscribed(openid, True)
                    mutable = self.population.mutable(openid)
                    assert mutable is not None
                    mutable.subscribe_time, mutable.scene, mutable.qr_scene_str = int(at), scene, qr
                self._tag_counts = None
                mutable = self.population.mutable(openid)
                assert mutable is not None
                mutable.last_event_at, mutable.sent_since_event = at, 0
                fields: dict[str, Any] = {"MsgType": "event", "Event": "subscribe"}
                if qr:
                    fields["EventKey"] = f"qrscene_{qr}"
                    fields["Ticket"] = "gQH" + secrets.token_urlsafe(24)
                else:
                    fields["EventKey"] = ""
            else:
                if record is None:
                    raise ApiError(40003)
                mutable = self.population.mutable(openid)
                assert mutable is not None
                if kind == "unsubscribe":
                    self.population.set_subscribed(openid, False)
                    self._tag_counts = None
                    fields = {"MsgType": "event", "Event": "unsubscribe", "EventKey": ""}
                elif kind == "location":
                    mutable.lat, mutable.lng = float(event["lat"]), float(event["lng"])
                    fields = {
                        "MsgType": "event",
                        "Event": "LOCATION",
                        "Latitude": f"{mutable.lat:.6f}",
                        "Longitude": f"{mutable.lng:.6f}",
                        "Precision": "30.000000",
                    }
                elif kind == "text":
                    mutable.last_message_at, mutable.sent_since_message = at, 0
                    fields = {
                        "MsgType": "text",
                        "Content": str(event.get("content", "")),
                        "MsgId": self._next_msg_id(),
                    }
                elif kind == "click":
                    mutable.last_event_at, mutable.sent_since_event = at, 0
                    fields = {
                        "MsgType": "event",
                        "Event": "CLICK",
                        "EventKey": str(event.get("key", "")),
                    }
                elif kind == "view":
                    fields = {
                        "MsgType": "event",
                        "Event": "VIEW",
                        "EventKey": str(event.get("url", "")),
                    }
                elif kind == "scan":
                    mutable.last_event_at, mutable.sent_since_event = at, 0
                    fields = {
                        "MsgType": "event",
                        "Event": "SCAN",
                        "EventKey": str(event.get("scene_value", "")),
                    }
                else:
                    return  # reads, orders…: outcomes the platform does not push
        if post:
            self._callback(kind, openid, fields, at)

    def random_events(self, count: int) -> list[dict[str, Any]]:
        """``count`` plausible follower actions (new follows, messages, clicks, locations)."""
        events: list[dict[str, Any]] = []
        with self.lock:
            for _ in range(count):
                roll = self.rng.random()
                if roll < 0.1 or self.population.subscribed_count == 0:
                    openid = "o" + secrets.token_urlsafe(21)[:27]
                    events.append(
                        {
                            "kind": "subscribe",
                            "openid": openid,
                            "scene": "ADD_SCENE_QR_CODE",
                            "scene_value": "store",
                        }
                    )
                    continue
                openid = self._random_subscriber()
                if roll < 0.15:
                    events.append({"kind": "unsubscribe", "openid": openid})
                elif roll < 0.5:
                    content = self.rng.choice(
                        ("沙发还有货吗", "周末营业吗", "多少钱", "地址在哪", "有优惠吗")
                    )
                    events.append({"kind": "text", "openid": openid, "content": content})
                elif roll < 0.7:
                    events.append(
                        {
                            "kind": "click",
                            "openid": openid,
                            "key": self.rng.choice(("NEW_ARRIVALS", "STORES", "COUPON")),
                        }
                    )
                elif roll < 0.8:
                    events.append(
                        {"kind": "view", "openid": openid, "url": "https://shop.example.com/"}
                    )
                else:
                    lat = 23.11 + self.rng.uniform(-0.1, 0.1)
                    lng = 114.41 + self.rng.uniform(-0.1, 0.1)
                    events.append(
                        {
                            "kind": "location",
                            "openid": openid,
                            "lat": round(lat, 6),
                            "lng": round(lng, 6),
                        }
                    )
        for event in events:
            event["at"] = datetime.fromtimestamp(self.now(), BEIJING).isoformat()
        return events

    def _random_subscriber(self) -> str:
        for _ in range(50):
            openid = self.population.openid_at(self.rng.randrange(self.population.size))
            record = self.population.get(openid)
            if record is not None and record.subscribed:
                return openid
        return next(self.population.subscribed()).openid

    def deliveries_json(
        self, openid: str = "", msg_id: str = "", kind: str = "", after: int = 0
    ) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.deliveries[after:]
            return [
                d.as_json()
                for d in rows
                if (not openid or d.openid == openid)
                and (not msg_id or str(d.msg_id) == msg_id)
                and (not kind or d.kind == kind)
            ]

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "app_id": self.config.app_id,
                "account_type": self.config.account_type,
                "mode": self.config.mode,
                "original_id": self.config.original_id,
                "callback_url": self.config.callback_url,
                "followers": self.population.subscribed_count,
                "now": self.now(),
                "calls": dict(self.calls),
                "calls_today": dict(self.day_calls[self._day()]),
                "token_fetches": self.calls["/cgi-bin/token"] + self.calls["/cgi-bin/stable_token"],
                "mass_jobs": {
                    str(j.msg_id): {"status": j.status, "clientmsgid": j.clientmsgid, **j.counts}
                    for j in self.jobs.values()
                },
                "deliveries": len(self.deliveries),
                "callbacks": Counter(r.outcome for r in self.poster.records),
                "faults": [f.as_json() for f in self.faults],
                "latency_ms": self.latency_ms,
            }


def _timestamp(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    if isinstance(value, int | float):
        return float(value)
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _error(exc: ApiError) -> dict[str, Any]:
    rid = secrets.token_hex(4)
    message = ERRMSG.get(exc.errcode, "invalid request")
    return {"errcode": exc.errcode, "errmsg": f"{message} rid: {rid}", **exc.extra}


def _multipart_file(body: bytes, content_type: str) -> tuple[str, bytes | None]:
    """The ``media`` part of a multipart/form-data body: (filename, bytes)."""
    marker = "boundary="
    if marker not in content_type:
        return "", None
    boundary = content_type.split(marker, 1)[1].split(";")[0].strip().strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep or b'name="media"' not in head:
            continue
        filename = ""
        for token in head.decode("utf-8", "replace").split(";"):
            token = token.strip()
            if token.startswith("filename="):
                filename = token.split("=", 1)[1].strip('"')
        return filename, data[:-2] if data.endswith(b"\r\n") else data
    return "", None


@dataclass(frozen=True)
class Route:
    handler: Callable[[Platform, dict[str, str], Any], dict[str, Any]]
    json_body: bool = True
    with_ok: bool = True


ROUTES: dict[str, Route] = {
    "/cgi-bin/token": Route(Platform.classic_token, json_body=False, with_ok=False),
    "/cgi-bin/stable_token": Route(Platform.stable_token, with_ok=False),
    "/cgi-bin/user/get": Route(Platform.user_get, json_body=False, with_ok=False),
    "/cgi-bin/user/info": Route(Platform.user_info, json_body=False, with_ok=False),
    "/cgi-bin/user/info/batchget": Route(Platform.user_batchget, with_ok=False),
    "/cgi-bin/tags/get": Route(Platform.tags_get, json_body=False, with_ok=False),
    "/cgi-bin/tags/create": Route(Platform.tags_create, with_ok=False),
    "/cgi-bin/tags/update": Route(Platform.tags_update),
    "/cgi-bin/tags/delete": Route(Platform.tags_delete),
    "/cgi-bin/tags/members/batchtagging": Route(Platform.tags_batch_tag),
    "/cgi-bin/tags/members/batchuntagging": Route(Platform.tags_batch_untag),
    "/cgi-bin/tags/getidlist": Route(Platform.tags_of, with_ok=False),
    "/cgi-bin/user/tag/get": Route(Platform.tag_members, with_ok=False),
    "/cgi-bin/media/uploadnews": Route(Platform.upload_news, with_ok=False),
    "/cgi-bin/media/upload": Route(Platform.upload_media, json_body=False, with_ok=False),
    "/cgi-bin/media/uploadimg": Route(Platform.upload_image, json_body=False, with_ok=False),
    "/cgi-bin/message/mass/sendall": Route(Platform.mass_sendall, with_ok=False),
    "/cgi-bin/message/mass/send": Route(Platform.mass_send, with_ok=False),
    "/cgi-bin/message/mass/preview": Route(Platform.mass_preview, with_ok=False),
    "/cgi-bin/message/mass/get": Route(Platform.mass_get, with_ok=False),
    "/cgi-bin/message/custom/send": Route(Platform.custom_send),
    "/cgi-bin/message/template/send": Route(Platform.template_send, with_ok=False),
    "/cgi-bin/clear_quota": Route(Platform.clear_quota),
}
