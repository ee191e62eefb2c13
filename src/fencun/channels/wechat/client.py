"""The outbound WeChat Official Account API client: small, ours, on httpx.

- One access_token per appid across all processes (see ``tokens.py``); refreshed ahead of
  expiry, and refreshed once and the call repeated on 40001/42001.
- By default tokens come from the *stable-token* endpoint (``POST /cgi-bin/stable_token``).
  In its normal mode repeated calls return the current token instead of minting a new
  one, so a second process that slips past our lock (or another system sharing the
  appid) does not invalidate everyone else's token, which is what the classic
  ``GET /cgi-bin/token`` does. It also takes the AppSecret in a JSON body rather than the
  query string, so the secret never appears in a URL an HTTP library could log or repeat
  in an error. ``use_stable_token=False`` (the classic endpoint) remains for accounts restricted to it.
- Platform limits come from the one limits table (``fencun.engine.limits``) and are
  checked *before* calling: a send the platform would refuse is refused here with
  :class:`LimitRefused`, and uses no quota.
- Every call has a timeout. Reads, and sends that carry an idempotency key
  (``clientmsgid``, ``client_msg_id``), are retried with exponential backoff on
  transport errors, timeouts and -1; customer-service messages and previews have no key,
  so they are never repeated blindly.
- 45065 (a mass send with this ``clientmsgid`` exists) is success: the message went.
- Menus and QR codes are checked against the account table (``account_limits.py``, the
  same file the sandbox enforces) before calling; calls that create something (a
  personalised menu, a QR code) are not repeated on a lost answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import httpx

from fencun import clock
from fencun.channels.http import Secret, TokenClient
from fencun.channels.wechat import account_limits
from fencun.channels.wechat.articles import ArticleApi
from fencun.channels.wechat.datacube import DatacubeApi
from fencun.channels.wechat.errors import (
    ALREADY_SENT,
    LimitRefused,
    TokenInvalid,
    error_for,
)
from fencun.channels.wechat.menus import MenuProblem, check_buttons, check_matchrule
from fencun.channels.wechat.messages import Message
from fencun.channels.wechat.notices import NoticeApi
from fencun.channels.wechat.tokens import AccessToken, TokenStore
from fencun.content import template_rules
from fencun.engine.clock import SHANGHAI
from fencun.engine.limits import PlatformLimits, load_platform_limits

#: WeChat's day and month (daily quotas, "one mass send per day") follow Beijing time.
DEFAULT_API_BASE = "https://api.weixin.qq.com"


@dataclass(frozen=True)
class FollowerPage:
    """One page of ``user/get`` (or ``user/tag/get``): openids and the cursor after them."""

    total: int
    openids: list[str]
    next_openid: str


@dataclass(frozen=True)
class FollowerProfile:
    """One follower as ``user/info/batchget`` describes them."""

    openid: str
    subscribed: bool
    subscribe_time: int | None = None
    scene: str = ""
    scene_value: str = ""
    tags: list[int] = field(default_factory=list)
    unionid: str = ""
    language: str = ""
    remark: str = ""

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> FollowerProfile:
        scene_value = item.get("qr_scene_str") or (
            str(item["qr_scene"]) if item.get("qr_scene") else ""
        )
        return cls(
            openid=str(item["openid"]),
            subscribed=bool(item.get("subscribe")),
            subscribe_time=int(item["subscribe_time"]) if item.get("subscribe_time") else None,
            scene=str(item.get("subscribe_scene") or ""),
            scene_value=scene_value,
            tags=[int(t) for t in item.get("tagid_list") or []],
            unionid=str(item.get("unionid") or ""),
            language=str(item.get("language") or ""),
            remark=str(item.get("remark") or ""),
        )


@dataclass(frozen=True)
class TagInfo:
    id: int
    name: str
    count: int = 0


@dataclass(frozen=True)
class MassSendResult:
    """An accepted mass send. ``already_sent``: WeChat answered 45065 for this clientmsgid."""

    msg_id: int | None
    msg_data_id: int | None
    already_sent: bool = False


@dataclass(frozen=True)
class MediaUpload:
    type: str
    media_id: str
    created_at: int


@dataclass(frozen=True)
class QrTicket:
    """A parametric QR code: ``ticket`` (for ``showqrcode``), ``url`` (what the code
    encodes, to draw it), ``expire_seconds`` (None for a permanent code)."""

    ticket: str
    url: str
    expire_seconds: int | None = None


def _refuse_menu(problems: list[MenuProblem]) -> None:
    """LimitRefused for the first problem, all of them in the message (for logs; the
    product words problems itself from :func:`check_buttons`)."""
    if problems:
        listed = "; ".join(f"{p.limit} at {p.path or 'menu'} (limit {p.value})" for p in problems)
        raise LimitRefused(problems[0].limit, listed)


def _qr_action(scene: int | str, permanent: bool) -> tuple[str, str]:
    """``(action_name, scene field)`` for a scene, refused first if the platform would."""
    if isinstance(scene, str):
        most = account_limits.limit("qrcode", "scene_str_max_chars")
        if not 1 <= len(scene) <= most:
            raise LimitRefused("scene_str_max_chars", f"scene_str has 1–{most} characters")
        return ("QR_LIMIT_STR_SCENE" if permanent else "QR_STR_SCENE"), "scene_str"
    name = "permanent_scene_id_max" if permanent else "temporary_scene_id_max"
    most = account_limits.limit("qrcode", name)
    if isinstance(scene, bool) or not isinstance(scene, int) or not 1 <= scene <= most:
        raise LimitRefused(name, f"scene_id is 1–{most}")
    return ("QR_LIMIT_SCENE" if permanent else "QR_SCENE"), "scene_id"


def _qr_expiry(permanent: bool, expire_seconds: int | None) -> dict[str, int]:
    """The body's ``expire_seconds``: left out for the platform's default or a permanent
    code. More than the platform's 30 days is refused rather than silently shortened."""
    if expire_seconds is None:
        return {}
    if permanent:
        raise ValueError("a permanent QR code does not expire")
    most = account_limits.limit("qrcode", "temporary_expire_seconds_max")
    if isinstance(expire_seconds, bool) or not isinstance(expire_seconds, int):
        raise LimitRefused("temporary_expire_seconds_max", "expire_seconds is a whole number")
    if not 1 <= expire_seconds <= most:
        raise LimitRefused("temporary_expire_seconds_max", f"expire_seconds is 1–{most}")
    return {"expire_seconds": expire_seconds}


def _template_data(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Template ``data`` as sent under the 2023 rules (``content/data/template_rules.json``):
    what the platform drops is dropped here, so nobody believes it is shown; a field the
    platform would change (cut, or joined onto one line) is refused before calling."""
    fields = template_rules.outgoing(data)
    most = template_rules.load_template_rules().field_max_chars
    for name, entry in fields.items():
        value = entry["value"]
        if template_rules.LINE_BREAK.search(value):
            raise LimitRefused(
                "template_line_breaks", f"data field {name!r} holds a line break; it is shown on one line"
            )
        if len(value) > most:
            raise LimitRefused(
                "template_field_max_chars",
                f"data field {name!r} has {len(value)} characters; the platform shows {most}",
            )
    return fields


class MassLedger(Protocol):
    """Where accepted mass sends are recorded, so the next one can be checked against the
    account-wide daily limit before it is attempted."""

    def mass_sends_since(self, since: datetime) -> int: ...

    def record(
        self,
        *,
        clientmsgid: str,
        kind: str,
        result: MassSendResult,
        tag_id: int | None,
        recipients: int | None,
        sent_at: datetime,
    ) -> None: ...


class MemoryMassLedger:
    """A ledger for one process (scripts and tests without a database)."""

    def __init__(self) -> None:
        self._sends: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def mass_sends_since(self, since: datetime) -> int:
        with self._lock:
            return sum(1 for at in self._sends.values() if at >= since)

    def record(self, *, clientmsgid: str, sent_at: datetime, **_: Any) -> None:
        with self._lock:
            self._sends.setdefault(clientmsgid, sent_at)


def platform_day_start(now: datetime) -> datetime:
    """Midnight (Beijing time) of the platform day containing ``now``."""
    local = now.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


_MASS_PATHS = frozenset({"/cgi-bin/message/mass/sendall", "/cgi-bin/message/mass/send"})


class WeChatClient(TokenClient, ArticleApi, DatacubeApi, NoticeApi):
    """Calls the Official Account API for one account (appid); the article calls
    (material, drafts, publishing) are in ``articles.py``, the analytics (the articles'
    reads and shares) in ``datacube.py``."""

    _token_invalid = TokenInvalid
    _error_for = staticmethod(error_for)

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        account_type: str = "subscription",
        verified: bool = True,
        api_base: str | None = None,
        token_store: TokenStore | None = None,
        ledger: MassLedger | None = None,
        use_stable_token: bool = True,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_connections: int = 64,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not app_id:
            raise ValueError("app_id is required")
        super().__init__(
            app_id,
            api_base or _configured_api_base(),
            token_store=token_store,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            backoff=backoff,
            transport=transport,
            max_connections=max_connections,
        )
        self.app_id = app_id
        self._secret = Secret(app_secret)
        self.account_type = account_type
        self.verified = verified
        self.limits: PlatformLimits = load_platform_limits(account_type)
        self.ledger: MassLedger = ledger or MemoryMassLedger()
        self.use_stable_token = use_stable_token
        self._last_forced_refresh = 0.0

    def __repr__(self) -> str:
        return f"<WeChatClient {self.app_id} {self.account_type} {self.api_base}>"

    # -- access token -------------------------------------------------------------

    def _fetcher(self, reject: str | None) -> Callable[[], AccessToken]:
        def fetch() -> AccessToken:
            token = self._fetch_token(force=False)
            # WeChat still hands out the token it just rejected: force a new one. Forced
            # refreshes are capped (20/day, 30 s apart), so never twice in 30 s.
            if (
                reject is not None
                and token.value == reject
                and self.use_stable_token
                and clock.time() - self._last_forced_refresh >= 30
            ):
                self._last_forced_refresh = clock.time()
                token = self._fetch_token(force=True)
            return token

        return fetch

    def _fetch_token(self, force: bool) -> AccessToken:
        if self.use_stable_token:
            return self._request_token(
                lambda: self._send_once(
                    "POST",
                    "/cgi-bin/stable_token",
                    token=None,
                    json_body={
                        "grant_type": "client_credential",
                        "appid": self.app_id,
                        "secret": self._secret.reveal(),
                        "force_refresh": force,
                    },
                ),
                "token",
            )
        return self._request_token(
            lambda: self._send_once(
                "GET",
                "/cgi-bin/token",
                token=None,
                params={
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self._secret.reveal(),
                },
            ),
            "token",
        )

    # -- followers ----------------------------------------------------------------

    def get_followers(self, next_openid: str = "") -> FollowerPage:
        """One page (up to 10,000) of subscribed followers' openids after ``next_openid``."""
        params = {"next_openid": next_openid} if next_openid else {}
        body = self._call("GET", "/cgi-bin/user/get", retry=True, params=params)
        openids = list((body.get("data") or {}).get("openid") or [])
        return FollowerPage(
            int(body.get("total") or 0), openids, str(body.get("next_openid") or "")
        )

    def iter_follower_pages(self, next_openid: str = "") -> Iterator[tuple[str, FollowerPage]]:
        """Pages of followers from the cursor on; yields (cursor used, page) until the end."""
        cursor = next_openid
        while True:
            page = self.get_followers(cursor)
            if not page.openids:
                return
            yield cursor, page
            if not page.next_openid or page.next_openid == cursor:
                return
            cursor = page.next_openid

    def get_profiles(self, openids: Sequence[str], lang: str = "zh_CN") -> list[FollowerProfile]:
        """Profiles of up to 100 followers (``user/info/batchget``)."""
        limit = self.limits.user_batchget_max
        if not 1 <= len(openids) <= limit:
            raise LimitRefused("user_batchget_max", f"{len(openids)} openids; 1–{limit} per call")
        body = self._call(
            "POST",
            "/cgi-bin/user/info/batchget",
            retry=True,
            json_body={"user_list": [{"openid": o, "lang": lang} for o in openids]},
        )
        return [FollowerProfile.from_api(item) for item in body.get("user_info_list") or []]

    def get_profile(self, openid: str, lang: str = "zh_CN") -> FollowerProfile:
        """One follower's profile (``user/info``)."""
        body = self._call(
            "GET", "/cgi-bin/user/info", retry=True, params={"openid": openid, "lang": lang}
        )
        return FollowerProfile.from_api(body)

    # -- tags ---------------------------------------------------------------------

    def list_tags(self) -> list[TagInfo]:
        body = self._call("GET", "/cgi-bin/tags/get", retry=True)
        return [
            TagInfo(int(t["id"]), str(t["name"]), int(t.get("count") or 0))
            for t in body.get("tags") or []
        ]

    def create_tag(self, name: str) -> TagInfo:
        """Create a tag (name ≤ 30 characters; at most 100 tags per account)."""
        if not name or len(name) > 30:
            raise LimitRefused("tag_name", "a tag name has 1–30 characters")
        # Not retried: a lost answer would otherwise create the tag twice (45157 on retry).
        body = self._call(
            "POST", "/cgi-bin/tags/create", retry=False, json_body={"tag": {"name": name}}
        )
        tag = body["tag"]
        return TagInfo(int(tag["id"]), str(tag["name"]))

    def rename_tag(self, tag_id: int, name: str) -> None:
        if not name or len(name) > 30:
            raise LimitRefused("tag_name", "a tag name has 1–30 characters")
        self._call(
            "POST",
            "/cgi-bin/tags/update",
            retry=True,
            json_body={"tag": {"id": tag_id, "name": name}},
        )

    def delete_tag(self, tag_id: int) -> None:
        self._call("POST", "/cgi-bin/tags/delete", retry=True, json_body={"tag": {"id": tag_id}})

    def _check_tag_batch(self, openids: Sequence[str]) -> None:
        limit = self.limits.tag_batch_openids_max
        if not 1 <= len(openids) <= limit:
            raise LimitRefused(
                "tag_batch_openids_max", f"{len(openids)} openids; 1–{limit} per call"
            )

    def tag_followers(self, tag_id: int, openids: Sequence[str]) -> None:
        """Add a tag to up to 50 followers (idempotent: re-tagging is harmless)."""
        self._check_tag_batch(openids)
        self._call(
            "POST",
            "/cgi-bin/tags/members/batchtagging",
            retry=True,
            json_body={"openid_list": list(openids), "tagid": tag_id},
        )

    def untag_followers(self, tag_id: int, openids: Sequence[str]) -> None:
        """Remove a tag from up to 50 followers."""
        self._check_tag_batch(openids)
        self._call(
            "POST",
            "/cgi-bin/tags/members/batchuntagging",
            retry=True,
            json_body={"openid_list": list(openids), "tagid": tag_id},
        )

    def follower_tags(self, openid: str) -> list[int]:
        body = self._call(
            "POST", "/cgi-bin/tags/getidlist", retry=True, json_body={"openid": openid}
        )
        return [int(t) for t in body.get("tagid_list") or []]

    def tag_members(self, tag_id: int, next_openid: str = "") -> FollowerPage:
        """One page of the followers carrying a tag."""
        body = self._call(
            "POST",
            "/cgi-bin/user/tag/get",
            retry=True,
            json_body={"tagid": tag_id, "next_openid": next_openid},
        )
        openids = list((body.get("data") or {}).get("openid") or [])
        return FollowerPage(
            int(body.get("count") or len(openids)), openids, str(body.get("next_openid") or "")
        )

    # -- media --------------------------------------------------------------------

    def upload_media(
        self, kind: Literal["image", "voice", "video", "thumb"], filename: str, content: bytes
    ) -> MediaUpload:
        """Upload a temporary media file (3 days) for messages; returns its ``media_id``."""
        body = self._call(
            "POST",
            "/cgi-bin/media/upload",
            retry=True,
            params={"type": kind},
            files={"media": (filename, content)},
        )
        media_id = body.get("media_id") or body.get("thumb_media_id")
        return MediaUpload(
            str(body.get("type", kind)), str(media_id), int(body.get("created_at") or 0)
        )

    # -- sending ------------------------------------------------------------------

    def _check_clientmsgid(self, clientmsgid: str) -> None:
        limit = self.limits.clientmsgid_max_bytes
        if not clientmsgid or len(clientmsgid.encode("utf-8")) > limit:
            raise LimitRefused("clientmsgid_max_bytes", f"clientmsgid must be 1–{limit} bytes")

    def _mass(
        self,
        path: str,
        kind: str,
        body: dict[str, Any],
        clientmsgid: str,
        tag_id: int | None,
        recipients: int | None,
    ) -> MassSendResult:
        data = self._call(
            "POST", path, retry=True, json_body=body, ok_codes=frozenset({ALREADY_SENT})
        )
        already = int(data.get("errcode") or 0) == ALREADY_SENT
        msg_id = data.get("msg_id")
        msg_data_id = data.get("msg_data_id")
        result = MassSendResult(
            int(msg_id) if msg_id is not None else None,
            int(msg_data_id) if msg_data_id is not None else None,
            already_sent=already,
        )
        self.ledger.record(
            clientmsgid=clientmsgid,
            kind=kind,
            result=result,
            tag_id=tag_id,
            recipients=recipients,
            sent_at=clock.now(),
        )
        return result

    def sendall(
        self,
        message: Message,
        *,
        clientmsgid: str,
        tag_id: int | None = None,
        send_ignore_reprint: bool = False,
    ) -> MassSendResult:
        """Mass send to the followers carrying ``tag_id``, or to all followers (``None``).

        ``clientmsgid`` (≤ 64 bytes) is the idempotency key: WeChat refuses a second send
        with it for 24 h, answering 45065, which this method reports as success with
        ``already_sent=True``. Refused before calling when the account's daily mass send
        is already used (subscription accounts: one per day).
        """
        self._check_clientmsgid(clientmsgid)
        if not self.limits.tag_send:
            raise LimitRefused("tag_send", f"{self.account_type} accounts cannot mass send")
        per_day = self.limits.mass_sends_per_day_account
        if per_day is not None:
            used = self.ledger.mass_sends_since(platform_day_start(clock.now()))
            if used >= per_day:
                raise LimitRefused(
                    "mass_sends_per_day_account", f"{used} of {per_day} mass sends used today"
                )
        body: dict[str, Any] = {
            "filter": {
                "is_to_all": tag_id is None,
                **({"tag_id": tag_id} if tag_id is not None else {}),
            },
            **message,
            "send_ignore_reprint": int(send_ignore_reprint),
            "clientmsgid": clientmsgid,
        }
        return self._mass(
            "/cgi-bin/message/mass/sendall", "sendall", body, clientmsgid, tag_id, None
        )

    def send_to_openids(
        self,
        openids: Sequence[str],
        message: Message,
        *,
        clientmsgid: str,
        received_this_month: Mapping[str, int] | None = None,
        send_ignore_reprint: bool = False,
    ) -> MassSendResult:
        """Mass send to a list of 2–10,000 followers (service accounts only).

        ``received_this_month``: mass messages each recipient already received this month,
        if known; recipients at the per-follower monthly limit are refused before calling.
        """
        self._check_clientmsgid(clientmsgid)
        if not self.limits.openid_list_send:
            raise LimitRefused(
                "openid_list_send", f"{self.account_type} accounts cannot send to an openid list"
            )
        low, high = self.limits.openid_list_min, self.limits.openid_list_max
        if not low <= len(openids) <= high:
            raise LimitRefused("openid_list_max", f"{len(openids)} openids; {low}–{high} per call")
        if len(set(openids)) != len(openids):
            raise LimitRefused("openid_list_unique", "the openid list repeats a follower")
        per_follower = self.limits.mass_sends_per_month_per_follower
        if per_follower is not None and received_this_month:
            full = sorted(o for o in openids if received_this_month.get(o, 0) >= per_follower)
            if full:
                raise LimitRefused(
                    "mass_sends_per_month_per_follower",
                    f"{len(full)} recipients already received {per_follower} this month (first: {full[0]})",
                )
        body = {
            "touser": list(openids),
            **message,
            "send_ignore_reprint": int(send_ignore_reprint),
            "clientmsgid": clientmsgid,
        }
        return self._mass(
            "/cgi-bin/message/mass/send", "send", body, clientmsgid, None, len(openids)
        )

    def preview(self, openid: str, message: Message) -> int | None:
        """Send a mass message to one follower for review; no mass quota is used."""
        body = self._call(
            "POST",
            "/cgi-bin/message/mass/preview",
            retry=False,
            json_body={"touser": openid, **message},
        )
        return int(body["msg_id"]) if body.get("msg_id") is not None else None

    def mass_status(self, msg_id: int) -> str:
        """``SEND_SUCCESS``, ``SENDING``, ``SEND_FAIL`` or ``DELETE`` for a mass send."""
        body = self._call(
            "POST", "/cgi-bin/message/mass/get", retry=True, json_body={"msg_id": msg_id}
        )
        return str(body.get("msg_status", ""))

    def send_custom(
        self,
        openid: str,
        message: Message,
        *,
        last_interaction_at: datetime | None,
        opened_by: Literal["message", "event"] = "message",
        sent_since_interaction: int = 0,
        now: datetime | None = None,
    ) -> None:
        """A customer-service message, allowed only inside the follower's window.

        A message from the follower opens 48 h for 5 messages; a menu click, follow or scan
        opens 1 minute for 3. ``last_interaction_at`` is the opening action's time and
        ``sent_since_interaction`` how many were already sent since; outside the window
        this is refused before calling. Never retried automatically: it carries no
        idempotency key, and a repeat would reach the follower twice.
        """
        now = now or clock.now()
        limits = self.limits
        if not limits.customer_service_messages:
            raise LimitRefused(
                "customer_service_messages", f"{self.account_type} accounts cannot send them"
            )
        if opened_by == "message":
            window = timedelta(hours=limits.customer_service_window_hours)
            allowed = limits.customer_service_per_message
        else:
            window = timedelta(minutes=limits.customer_service_event_window_minutes)
            allowed = limits.customer_service_per_event
        if last_interaction_at is None or now - last_interaction_at > window:
            raise LimitRefused(
                "customer_service_window_hours", f"{openid} has not interacted within {window}"
            )
        if sent_since_interaction >= allowed:
            raise LimitRefused(
                "customer_service_per_message", f"{allowed} messages already sent in this window"
            )
        self._call(
            "POST",
            "/cgi-bin/message/custom/send",
            retry=False,
            json_body={"touser": openid, **message},
        )

    def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, Any],
        *,
        client_msg_id: str,
        url: str = "",
        miniprogram: Mapping[str, str] | None = None,
    ) -> int | None:
        """A template message (service accounts; notifications, never marketing).

        ``client_msg_id`` makes a retried call deliver once; ``data`` maps each template
        field to ``{"value": ...}`` or a plain string. What the platform no longer shows
        (``first``, ``remark``, colours, emoji) is dropped; a field it would cut or put on
        one line is refused (:func:`_template_data`). Returns WeChat's msgid.
        """
        if not self.limits.template_messages:
            raise LimitRefused(
                "template_messages", f"{self.account_type} accounts cannot send template messages"
            )
        if (
            not client_msg_id
            or len(client_msg_id.encode("utf-8")) > self.limits.clientmsgid_max_bytes
        ):
            raise LimitRefused("clientmsgid_max_bytes", "client_msg_id must be 1–64 bytes")
        fields = _template_data(data)
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": fields,
            "client_msg_id": client_msg_id,
        }
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = dict(miniprogram)
        answer = self._call("POST", "/cgi-bin/message/template/send", retry=True, json_body=body)
        return int(answer["msgid"]) if answer.get("msgid") is not None else None

    # -- menus --------------------------------------------------------------------

    def get_menu(self) -> dict[str, Any] | None:
        """The menu set by API (``menu/get``): ``{"menu": {"button": [...]}}``, with the
        default menu's ``menuid`` and ``conditionalmenu`` (``button``, ``matchrule``,
        ``menuid`` each) when personalised menus exist. None when the account has no API
        menu (46003), as when its menu was published in the admin panel
        (:meth:`get_selfmenu_info` reads that one)."""
        missing = account_limits.errcode("menu", "missing")
        body = self._call("GET", "/cgi-bin/menu/get", retry=True, ok_codes=frozenset({missing}))
        if int(body.get("errcode") or 0) == missing:
            return None
        return {k: v for k, v in body.items() if k not in ("errcode", "errmsg")}

    def get_selfmenu_info(self) -> dict[str, Any]:
        """The menu followers see, however it was set (``get_current_selfmenu_info``):
        ``is_menu_open`` and ``selfmenu_info.button``. An admin-panel menu comes in the
        panel's types (text, img, voice, video, news, view; see ``selfmenu_panel_types``
        in the account table) with sub-menus as ``{"sub_button": {"list": [...]}}``."""
        body = self._call("GET", "/cgi-bin/get_current_selfmenu_info", retry=True)
        return {k: v for k, v in body.items() if k not in ("errcode", "errmsg")}

    def create_menu(self, buttons: list[dict[str, Any]]) -> None:
        """Set the default menu (``menu/create``); refused first if :func:`check_buttons`
        finds a problem. Repeated on a lost answer: it replaces the menu, so a repeat
        leaves the same one."""
        _refuse_menu(check_buttons(buttons))
        self._call("POST", "/cgi-bin/menu/create", retry=True, json_body={"button": buttons})

    def delete_menu(self) -> None:
        """Delete the default menu and every personalised one (``menu/delete``)."""
        self._call("GET", "/cgi-bin/menu/delete", retry=True)

    def _check_conditional(self) -> None:
        if account_limits.limit("menu", "conditional_verified_only") and not self.verified:
            raise LimitRefused(
                "conditional_verified_only",
                f"unverified {self.account_type} accounts have no personalised menus",
            )

    def add_conditional_menu(self, buttons: list[dict[str, Any]], matchrule: dict[str, Any]) -> str:
        """Add a personalised menu shown to the followers ``matchrule`` selects (a tag, a
        phone system); returns its menuid. Needs a default menu (65303 otherwise). Not
        repeated on a lost answer: the repeat would add a second menu."""
        self._check_conditional()
        _refuse_menu(check_buttons(buttons) + check_matchrule(matchrule))
        body = self._call(
            "POST",
            "/cgi-bin/menu/addconditional",
            retry=False,
            json_body={"button": buttons, "matchrule": matchrule},
        )
        return str(body["menuid"])

    def delete_conditional_menu(self, menuid: str) -> None:
        """Delete one personalised menu. 65301 (InvalidRequest) when none has that
        menuid, which is also the answer to a repeat whose first attempt deleted it: the
        menu is gone either way."""
        self._check_conditional()
        self._call(
            "POST", "/cgi-bin/menu/delconditional", retry=True, json_body={"menuid": str(menuid)}
        )

    def try_match_menu(self, user_id: str) -> list[dict[str, Any]]:
        """The buttons the follower ``user_id`` (an openid) sees (``menu/trymatch``): the
        newest personalised menu that selects them, else the default."""
        self._check_conditional()
        body = self._call(
            "POST", "/cgi-bin/menu/trymatch", retry=True, json_body={"user_id": user_id}
        )
        return list(body.get("button") or [])

    # -- QR codes -----------------------------------------------------------------

    def create_qrcode(
        self, scene: int | str, *, permanent: bool, expire_seconds: int | None = None
    ) -> QrTicket:
        """A parametric QR code for ``scene`` (a number, or a text of 1–64 characters)
        (``qrcode/create``). Temporary codes last ``expire_seconds`` (at most 30 days;
        None: the platform's default); permanent ones never expire. Not repeated on a
        lost answer: the call makes a code."""
        action, field_name = _qr_action(scene, permanent)
        body = {
            "action_name": action,
            "action_info": {"scene": {field_name: scene}},
            **_qr_expiry(permanent, expire_seconds),
        }
        answer = self._call("POST", "/cgi-bin/qrcode/create", retry=False, json_body=body)
        seconds = answer.get("expire_seconds")
        return QrTicket(
            str(answer["ticket"]),
            str(answer.get("url") or ""),
            None if seconds is None else int(seconds),
        )

    def clear_quota(self) -> None:
        """Reset the account's daily API call counts (itself limited: 10 a month)."""
        self._call("POST", "/cgi-bin/clear_quota", retry=False, json_body={"appid": self.app_id})


def _configured_api_base() -> str:
    try:
        from django.conf import settings

        return str(settings.WECHAT["API_BASE"])
    except Exception:  # Django not configured: a plain script
        return DEFAULT_API_BASE


__all__ = [
    "FollowerPage",
    "FollowerProfile",
    "MassLedger",
    "MassSendResult",
    "MediaUpload",
    "MemoryMassLedger",
    "QrTicket",
    "TagInfo",
    "WeChatClient",
    "platform_day_start",
]
