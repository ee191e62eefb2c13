"""A local Weibo speaking ``statuses/share`` over HTTP, for tests, the demo and the CLI.

Standalone like the other sandboxes: no Django, nothing shared with the product's client.
Limits are read from the same data file as the product
(``channels/broadcast/data/weibo_limits.json``), parsed here on its own::

    with WeiboSandbox() as box:
        client = WeiboClient(box.config.access_token, api_base=box.api_base,
                             safe_domain=box.config.safe_domain)
        client.share("周末到店有礼 https://shop.example.com/r/abc")
        box.posts                      # what was posted, in order

What it models (https://open.weibo.com/wiki/2/statuses/share and /wiki/Error_code):
the answer's shape (``created_at`` in Weibo's format, ``id``, ``mid``, ``idstr``,
``text``, ``user``), errors as HTTP 400 with ``{"error", "error_code", "request"}``,
access tokens that expire (21327) or are unknown (21332), text over 140 characters
(20012), no URL of the safe domain (10017), a ``#topic#`` (10017), the same text posted
twice (20019), more than the hourly posts of one user (10024), and injected faults: an
error code for the next calls, or a delay after the post is stored (a lost answer).

Admin endpoints (JSON): ``GET /sandbox/weibo/state``; ``POST /sandbox/weibo/faults``
``{"rules": [{"error_code"?, "delay"?, "times"?}]}``, ``DELETE`` clears;
``POST /sandbox/weibo/tokens/expire``; ``POST /sandbox/weibo/clock`` ``{"advance": s}``.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fencun.engine.clock import SHANGHAI
from fencun.sandbox.http import JsonHandler, JsonServer, ServedSandbox

MAX_BODY = 1 << 20
SHARE = "/2/statuses/share.json"
URL = re.compile(r"https?://[^\s<>\"'，。！？、；）]+", re.IGNORECASE)
TOPIC = re.compile(r"#[^#\s]+#")

ERRORS = {
    10001: "System error",
    10016: "Miss required parameter (status) , see doc for more info",
    10017: "appkey not bind domain!",
    10024: "User requests for (statuses/share) out of rate limit",
    20012: "Text too long, please input text less than 140 characters!",
    20019: "Repeat content!",
    21327: "expired_token",
    21332: "invalid_access_token",
}


def load_limits() -> dict[str, Any]:
    text = (
        resources.files("fencun.channels.broadcast")
        .joinpath("data/weibo_limits.json")
        .read_text("utf-8")
    )
    return {k: v["value"] for k, v in json.loads(text)["limits"].items()}


class ApiError(Exception):
    def __init__(self, error_code: int, status: int = 400) -> None:
        super().__init__(error_code)
        self.error_code = error_code
        self.status = status


@dataclass
class WeiboConfig:
    access_token: str = "2.00sandboxWeiboAccessToken0123456789"  # noqa: S105 - public dev default
    uid: int = 5_880_000_001
    screen_name: str = "分寸家居"
    safe_domain: str = "shop.example.com"
    #: Seconds a token lives on the sandbox clock (Weibo's default for a normal app: days).
    token_lifetime: float = 30 * 86400


@dataclass
class FaultRule:
    error_code: int | None = None
    #: Seconds to wait *after* storing the post before answering (a lost answer).
    delay: float = 0.0
    times: int | None = None


@dataclass
class WeiboPlatform:
    config: WeiboConfig
    limits: dict[str, Any] = field(default_factory=load_limits)
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock_offset: float = 0.0
    posts: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0
    faults: list[FaultRule] = field(default_factory=list)
    token_expires: float = 0.0
    _next_id: int = 4_950_000_000_000_000

    def __post_init__(self) -> None:
        self.token_expires = self.now() + self.config.token_lifetime

    def now(self) -> float:
        return time.time() + self.clock_offset

    def share(self, form: dict[str, str]) -> tuple[dict[str, Any], float]:
        """Post a status; return the answer and how long to hold it back."""
        with self.lock:
            self.calls += 1
            fault = self._take_fault()
            if fault is not None and fault.error_code:
                raise ApiError(fault.error_code, 500 if fault.error_code < 20000 else 400)
            token = form.get("access_token", "")
            if token != self.config.access_token:
                raise ApiError(21332, 401)
            if self.now() >= self.token_expires:
                raise ApiError(21327, 401)
            status = form.get("status", "")
            if not status:
                raise ApiError(10016)
            halves = sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in status)
            if math.ceil(halves / 2) > int(self.limits["status_max_chars"]):
                raise ApiError(20012)
            if TOPIC.search(status) or not any(self._safe(u) for u in URL.findall(status)):
                raise ApiError(10017)
            if any(p["text"] == status for p in self.posts):
                raise ApiError(20019)
            hour_ago = self.now() - 3600
            if sum(1 for p in self.posts if p["at"] > hour_ago) >= int(
                self.limits["posts_per_user_per_hour"]
            ):
                raise ApiError(10024, 403)
            self._next_id += 1_000_003
            at = self.now()
            post = {
                "id": self._next_id,
                "idstr": str(self._next_id),
                "mid": str(self._next_id),
                "text": status,
                "rip": form.get("rip", ""),
                "at": at,
            }
            self.posts.append(post)
            created = datetime.fromtimestamp(at, SHANGHAI).strftime("%a %b %d %H:%M:%S %z %Y")
            answer = {
                "created_at": created,
                "id": post["id"],
                "mid": post["mid"],
                "idstr": post["idstr"],
                "text": status,
                "source": '<a href="https://open.weibo.com" rel="nofollow">分寸</a>',
                "favorited": False,
                "truncated": False,
                "reposts_count": 0,
                "comments_count": 0,
                "attitudes_count": 0,
                "visible": {"type": 0, "list_id": 0},
                "user": {
                    "id": self.config.uid,
                    "idstr": str(self.config.uid),
                    "screen_name": self.config.screen_name,
                },
            }
            return answer, fault.delay if fault is not None else 0.0

    def _safe(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        domain = self.config.safe_domain.lower()
        return host == domain or host.endswith("." + domain)

    def _take_fault(self) -> FaultRule | None:
        for rule in self.faults:
            if rule.times is None or rule.times > 0:
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": self.calls,
                "posts": [{k: v for k, v in p.items() if k != "rip"} for p in self.posts],
                "refused": list(self.refused),
            }


class _Server(JsonServer):
    sandbox: WeiboSandbox


class _Handler(JsonHandler):
    server: _Server
    content_type = "application/json;charset=UTF-8"
    max_body = MAX_BODY

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        try:
            body = self._body()
        except ValueError:
            self._refuse_too_large({"error": "Post too big", "error_code": 10018, "request": path})
            return
        box = self.server.sandbox
        if path == SHARE:
            if method != "POST":
                self._send(
                    405,
                    {
                        "error": "HTTP method is not suported for this request",
                        "error_code": 10021,
                        "request": path,
                    },
                )
                return
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            try:
                answer, delay = box.platform.share(form)
            except ApiError as exc:
                with box.platform.lock:
                    box.platform.refused.append(
                        {"error_code": exc.error_code, "text": form.get("status", "")}
                    )
                self._send(
                    exc.status,
                    {
                        "error": ERRORS.get(exc.error_code, "Illegal request"),
                        "error_code": exc.error_code,
                        "request": path,
                    },
                )
                return
            if delay:
                time.sleep(delay)  # the post is stored; the answer is late (or lost)
            self._send(200, answer)
        elif path.startswith("/sandbox/weibo/"):
            try:
                self._send(200, box.admin(method, path, body))
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, {"error": f"{type(exc).__name__}: {exc}"})
        else:
            self._send(404, {"error": "Not found", "error_code": 10014, "request": path})


class WeiboSandbox(ServedSandbox):
    """A running Weibo sandbox: ``WeiboSandbox().start()``; ``api_base`` for the client."""

    _thread_name = "sandbox-weibo-http"

    def __init__(
        self,
        config: WeiboConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **overrides: Any,
    ) -> None:
        self.config = replace(config or WeiboConfig(), **overrides)
        self.platform = WeiboPlatform(self.config)
        self._server = _Server((host, port), _Handler)
        self._server.sandbox = self
        self._thread: threading.Thread | None = None

    @property
    def posts(self) -> list[dict[str, Any]]:
        with self.platform.lock:
            return list(self.platform.posts)

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        with self.platform.lock:
            self.platform.faults = [FaultRule(**r) for r in rules]

    def clear_faults(self) -> None:
        self.set_faults([])

    def expire_token(self) -> None:
        with self.platform.lock:
            self.platform.token_expires = self.platform.now()

    def advance_clock(self, seconds: float) -> None:
        with self.platform.lock:
            self.platform.clock_offset += seconds

    def admin(self, method: str, path: str, body: bytes) -> dict[str, Any]:
        data = json.loads(body.decode("utf-8") or "{}") if body else {}
        name = path.removeprefix("/sandbox/weibo/")
        if method == "GET" and name == "state":
            return self.platform.summary()
        if name == "faults":
            self.set_faults(list(data.get("rules") or []) if method == "POST" else [])
            return {"ok": True}
        if method == "POST" and name == "tokens/expire":
            self.expire_token()
            return {"ok": True}
        if method == "POST" and name == "clock":
            self.advance_clock(float(data["advance"]))
            return {"ok": True}
        raise KeyError(f"unknown admin endpoint {method} {path}")
