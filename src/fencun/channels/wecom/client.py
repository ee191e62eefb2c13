"""The outbound WeCom customer-contact API client: small, ours, on httpx.

- One access_token per corp across all processes, in the same token stores as the
  Official Account's (``channels/wechat/tokens.py``) under the key ``wecom:<corpid>``;
  refreshed ahead of expiry, and refreshed once and the call repeated on 40014/42001.
  ``gettoken`` takes the secret in its query string (WeCom has no body variant), so the
  client never lets a URL reach an exception and httpx's log records are redacted.
- Limits come from ``engine/data/wecom_limits.json`` and are checked *before* calling:
  a call WeCom would refuse, or a mass message or Moments post beyond the per-customer
  daily caps, raises :class:`LimitRefused` and costs nothing.
- Reads are retried with backoff on transport errors, -1 and 45033. Creating a mass
  task or a Moments task is never retried blindly: WeCom takes no idempotency key for
  them, so a lost answer could create the task twice; the caller looks the task up
  (``groupmsg_list`` / ``moment_list``) before trying again.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import httpx

from fencun import clock
from fencun.channels.wechat.client import PLATFORM_TZ
from fencun.channels.wechat.tokens import AccessToken, MemoryTokenStore, TokenStore
from fencun.channels.wecom.errors import (
    ApiTimeout,
    BadResponse,
    ChannelError,
    LimitRefused,
    TokenInvalid,
    TransportError,
    error_for,
)
from fencun.engine.limits import WeComLimits, load_wecom_limits
from fencun.logredact import RedactSecrets

log = logging.getLogger(__name__)
logging.getLogger("httpx").addFilter(RedactSecrets())

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"


class _Secret:
    """Holds the secret so no repr, traceback local or f-string can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def platform_day(at: datetime | None = None) -> date:
    """The WeCom day (Beijing time) containing ``at`` (default: now on the product's clock)."""
    return (at or clock.now()).astimezone(PLATFORM_TZ).date()


@dataclass(frozen=True)
class ContactPage:
    """One page of ``batch/get_by_user``: items of ``{"external_contact", "follow_info"}``."""

    items: list[dict[str, Any]]
    next_cursor: str


@dataclass(frozen=True)
class ContactDetail:
    """``externalcontact/get``: the customer and the members who have them as a contact."""

    external_contact: dict[str, Any]
    follow_users: list[dict[str, Any]]
    next_cursor: str = ""


@dataclass(frozen=True)
class MassTask:
    """An accepted ``add_msg_template``: members still have to confirm it in WeCom."""

    msgid: str
    fail_list: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MomentTaskResult:
    """``get_moment_task_result``: status 1 running, 2 done, 3 failed."""

    status: int
    moment_id: str = ""
    errcode: int = 0
    errmsg: str = ""
    invalid_users: list[str] = field(default_factory=list)
    invalid_tags: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in (2, 3)


class DispatchLedger(Protocol):
    """Where created mass and Moments tasks are recorded, per customer and platform day,
    so the next one is checked against the daily caps before it is created."""

    def mass_received(self, external_userids: Sequence[str], day: date) -> dict[str, int]: ...

    def moments_on(self, day: date) -> int: ...

    def record(
        self, kind: str, task_id: str, external_userids: Sequence[str], day: date
    ) -> None: ...


class MemoryDispatchLedger:
    """A ledger for one process (scripts and tests without a database)."""

    def __init__(self) -> None:
        self._rows: set[tuple[str, str, str, date]] = set()
        self._lock = threading.Lock()

    def mass_received(self, external_userids: Sequence[str], day: date) -> dict[str, int]:
        wanted = set(external_userids)
        counts: dict[str, int] = {}
        with self._lock:
            for kind, _task, who, at in self._rows:
                if kind == "mass" and at == day and who in wanted:
                    counts[who] = counts.get(who, 0) + 1
        return counts

    def moments_on(self, day: date) -> int:
        with self._lock:
            return sum(1 for kind, _t, _w, at in self._rows if kind == "moment" and at == day)

    def record(self, kind: str, task_id: str, external_userids: Sequence[str], day: date) -> None:
        with self._lock:
            for who in external_userids or [""]:
                self._rows.add((kind, task_id, who, day))


def _configured_api_base() -> str:
    try:
        from django.conf import settings

        return str(settings.WECOM["API_BASE"])
    except Exception:  # noqa: BLE001 - no Django configured: the real host
        return DEFAULT_API_BASE


class WeComClient:
    """Calls WeCom's customer-contact API for one corp (corpid + secret)."""

    def __init__(
        self,
        corp_id: str,
        secret: str,
        *,
        api_base: str | None = None,
        token_store: TokenStore | None = None,
        ledger: DispatchLedger | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not corp_id:
            raise ValueError("corp_id is required")
        self.corp_id = corp_id
        self._secret = _Secret(secret)
        self.limits: WeComLimits = load_wecom_limits()
        self.api_base = (api_base or _configured_api_base()).rstrip("/")
        self.token_store: TokenStore = token_store or MemoryTokenStore()
        self.ledger: DispatchLedger = ledger or MemoryDispatchLedger()
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=self.api_base,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            headers={"User-Agent": "fencun"},
        )
        self._token: AccessToken | None = None
        self._token_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<WeComClient {self.corp_id} {self.api_base}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WeComClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def token_key(self) -> str:
        """The token store's key for this corp (beside Official Account appids)."""
        return f"wecom:{self.corp_id}"

    # -- access token -------------------------------------------------------------

    def access_token(self) -> str:
        """A usable access_token, fetched (by one holder across processes) when needed."""
        token = self._token
        if token is not None and token.usable(clock.time()):
            return token.value
        with self._token_lock:
            token = self._token
            if token is not None and token.usable(clock.time()):
                return token.value
            shared = self.token_store.current(self.token_key)
            if shared is not None and shared.usable(clock.time()):
                self._token = shared
            else:
                self._token = self.token_store.refresh(self.token_key, self._fetch_token)
            return self._token.value

    def _replace_rejected_token(self, rejected: str) -> None:
        with self._token_lock:
            if (
                self._token is not None
                and self._token.value != rejected
                and self._token.usable(clock.time())
            ):
                return  # another thread already replaced it
            self._token = self.token_store.refresh(
                self.token_key, self._fetch_token, reject=rejected
            )

    def _fetch_token(self) -> AccessToken:
        attempt = 0
        while True:
            started = clock.time()
            try:
                body = self._send_once(
                    "GET",
                    "/cgi-bin/gettoken",
                    token=None,
                    params={"corpid": self.corp_id, "corpsecret": self._secret.reveal()},
                )
            except ChannelError as exc:
                attempt += 1
                if not exc.retryable or attempt > self.max_retries:
                    raise
                self._sleep_backoff(attempt)
                continue
            try:
                return AccessToken(
                    str(body["access_token"]), started + int(body["expires_in"]), started
                )
            except (KeyError, TypeError, ValueError):
                raise BadResponse("gettoken answer without access_token/expires_in") from None

    # -- transport ----------------------------------------------------------------

    def _sleep_backoff(self, attempt: int) -> None:
        delay = min(self.backoff * (2 ** (attempt - 1)), 8.0)
        time.sleep(delay * (0.5 + random.random() / 2))  # jitter: retries must not align

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> dict[str, Any]:
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        content = headers = None
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = self._http.request(
                method, path, params=query, content=content, headers=headers
            )
        except httpx.TimeoutException:
            # ``from None``: httpx's exception repeats the URL, secret or token included.
            raise ApiTimeout(f"{method} {path}: no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path}: {type(exc).__name__}") from None
        if response.status_code != 200:
            error = BadResponse(f"{method} {path}: HTTP {response.status_code}")
            error.retryable = response.status_code >= 500
            raise error
        try:
            data = response.json()
        except ValueError:
            raise BadResponse(f"{method} {path}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise BadResponse(f"{method} {path}: answer is not a JSON object")
        errcode = int(data.get("errcode") or 0)
        if errcode:
            raise error_for(errcode, str(data.get("errmsg", "")), path, data)
        return data

    def _call(
        self,
        method: str,
        path: str,
        *,
        retry: bool,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> dict[str, Any]:
        """One call with the token: one refresh-and-repeat on a rejected token, and (when
        ``retry``) bounded retries with backoff on retryable failures."""
        attempt = 0
        token_replaced = False
        while True:
            token = self.access_token()
            try:
                return self._send_once(
                    method, path, token=token, params=params, json_body=json_body
                )
            except TokenInvalid:
                if token_replaced:
                    raise
                token_replaced = True
                log.info(
                    "WeCom access_token rejected for %s on %s; refreshing once", self.corp_id, path
                )
                self._replace_rejected_token(token)
            except ChannelError as exc:
                attempt += 1
                if not (retry and exc.retryable) or attempt > self.max_retries:
                    raise
                log.info("retrying %s after %s (attempt %d)", path, type(exc).__name__, attempt)
                self._sleep_backoff(attempt)

    @staticmethod
    def _page_limit(name: str, value: int, maximum: int) -> None:
        if not 1 <= value <= maximum:
            raise LimitRefused(name, f"limit {value}; 1–{maximum} per page")

    def _window(self, name: str, start: int, end: int, max_days: int) -> None:
        if end <= start or end - start > max_days * 86400:
            raise LimitRefused(name, f"start_time..end_time must be 0–{max_days} days apart")

    # -- external contacts ----------------------------------------------------------

    def follow_users(self) -> list[str]:
        """Members with the customer-contact feature (``get_follow_user_list``)."""
        body = self._call("GET", "/cgi-bin/externalcontact/get_follow_user_list", retry=True)
        return [str(u) for u in body.get("follow_user") or []]

    def list_contacts(self, userid: str) -> list[str]:
        """external_userids of one member's customers (``externalcontact/list``)."""
        body = self._call(
            "GET", "/cgi-bin/externalcontact/list", retry=True, params={"userid": userid}
        )
        return [str(u) for u in body.get("external_userid") or []]

    def get_contact(self, external_userid: str, cursor: str = "") -> ContactDetail:
        """One customer and their follow users (``externalcontact/get``)."""
        params = {"external_userid": external_userid}
        if cursor:
            params["cursor"] = cursor
        body = self._call("GET", "/cgi-bin/externalcontact/get", retry=True, params=params)
        return ContactDetail(
            dict(body.get("external_contact") or {}),
            list(body.get("follow_user") or []),
            str(body.get("next_cursor") or ""),
        )

    def contacts_by_users(
        self, userids: Sequence[str], cursor: str = "", limit: int = 100
    ) -> ContactPage:
        """One page of customers of up to 100 members (``batch/get_by_user``)."""
        most = self.limits.batch_get_by_user_users_max
        if not 1 <= len(userids) <= most:
            raise LimitRefused(
                "batch_get_by_user_users_max", f"{len(userids)} members; 1–{most} per call"
            )
        self._page_limit(
            "batch_get_by_user_page_max", limit, self.limits.batch_get_by_user_page_max
        )
        body = self._call(
            "POST",
            "/cgi-bin/externalcontact/batch/get_by_user",
            retry=True,
            json_body={"userid_list": list(userids), "cursor": cursor, "limit": limit},
        )
        return ContactPage(
            list(body.get("external_contact_list") or []), str(body.get("next_cursor") or "")
        )

    # -- corp tags ------------------------------------------------------------------

    def corp_tags(
        self, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Tag groups with their tags (``get_corp_tag_list``); all of them when no ids given."""
        payload: dict[str, Any] = {}
        if tag_ids:
            payload["tag_id"] = list(tag_ids)
        if group_ids:
            payload["group_id"] = list(group_ids)
        body = self._call(
            "POST", "/cgi-bin/externalcontact/get_corp_tag_list", retry=True, json_body=payload
        )
        return list(body.get("tag_group") or [])

    def mark_tag(
        self, userid: str, external_userid: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        """Add and remove corp tags on one member's customer (idempotent, so retried)."""
        if not add and not remove:
            raise LimitRefused("mark_tag", "nothing to add or remove")
        self._call(
            "POST",
            "/cgi-bin/externalcontact/mark_tag",
            retry=True,
            json_body={
                "userid": userid,
                "external_userid": external_userid,
                "add_tag": list(add),
                "remove_tag": list(remove),
            },
        )

    # -- mass messages ----------------------------------------------------------------

    def add_msg_template(
        self,
        external_userids: Sequence[str],
        text: str,
        *,
        attachments: Sequence[dict[str, Any]] = (),
        sender: str | None = None,
    ) -> MassTask:
        """Create a mass task to customers; each member confirms it in WeCom before anything
        is sent. Refused before calling when a customer already has today's mass message
        (the daily cap) or the call breaks a size limit. Not retried (see module doc)."""
        ids = list(dict.fromkeys(external_userids))
        most = self.limits.mass_external_userids_max
        if not 1 <= len(ids) <= most:
            raise LimitRefused(
                "mass_external_userids_max", f"{len(ids)} customers; 1–{most} per task"
            )
        if len(attachments) > self.limits.mass_attachments_max:
            raise LimitRefused(
                "mass_attachments_max", f"at most {self.limits.mass_attachments_max} attachments"
            )
        if not text.strip() and not attachments:
            raise LimitRefused("mass_content", "a mass message needs text or an attachment")
        day = platform_day()
        cap = self.limits.mass_per_customer_per_day
        over = sorted(u for u, n in self.ledger.mass_received(ids, day).items() if n >= cap)
        if over:
            raise LimitRefused(
                "mass_per_customer_per_day",
                f"{len(over)} customers already have {cap} mass message(s) today (e.g. {over[0]})",
            )
        payload: dict[str, Any] = {"chat_type": "single", "external_userid": ids}
        if text.strip():
            payload["text"] = {"content": text}
        if attachments:
            payload["attachments"] = list(attachments)
        if sender:
            payload["sender"] = sender
        body = self._call(
            "POST", "/cgi-bin/externalcontact/add_msg_template", retry=False, json_body=payload
        )
        task = MassTask(str(body["msgid"]), [str(u) for u in body.get("fail_list") or []])
        failed = set(task.fail_list)
        self.ledger.record("mass", task.msgid, [u for u in ids if u not in failed], day)
        return task

    def groupmsg_list(
        self,
        start_time: int,
        end_time: int,
        *,
        creator: str | None = None,
        filter_type: int = 2,
        cursor: str = "",
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], str]:
        """Mass tasks created in a window of at most a month (``get_groupmsg_list_v2``)."""
        self._window(
            "groupmsg_list_max_days", start_time, end_time, self.limits.groupmsg_list_max_days
        )
        self._page_limit("groupmsg_list_page_max", limit, self.limits.groupmsg_list_page_max)
        payload: dict[str, Any] = {
            "chat_type": "single",
            "start_time": start_time,
            "end_time": end_time,
            "filter_type": filter_type,
            "limit": limit,
        }
        if creator:
            payload["creator"] = creator
        if cursor:
            payload["cursor"] = cursor
        body = self._call(
            "POST", "/cgi-bin/externalcontact/get_groupmsg_list_v2", retry=True, json_body=payload
        )
        return list(body.get("group_msg_list") or []), str(body.get("next_cursor") or "")

    def groupmsg_tasks(
        self, msgid: str, cursor: str = "", limit: int = 1000
    ) -> tuple[list[dict[str, Any]], str]:
        """Per member: has they sent the task yet (status 0 no, 2 yes) (``get_groupmsg_task``)."""
        self._page_limit("groupmsg_result_page_max", limit, self.limits.groupmsg_result_page_max)
        payload: dict[str, Any] = {"msgid": msgid, "limit": limit}
        if cursor:
            payload["cursor"] = cursor
        body = self._call(
            "POST", "/cgi-bin/externalcontact/get_groupmsg_task", retry=True, json_body=payload
        )
        return list(body.get("task_list") or []), str(body.get("next_cursor") or "")

    def groupmsg_send_result(
        self, msgid: str, userid: str, cursor: str = "", limit: int = 1000
    ) -> tuple[list[dict[str, Any]], str]:
        """Per customer of one member: status 0 not sent, 1 sent, 2 not a contact, 3 already
        got a mass message (the platform's cap) (``get_groupmsg_send_result``)."""
        self._page_limit("groupmsg_result_page_max", limit, self.limits.groupmsg_result_page_max)
        payload: dict[str, Any] = {"msgid": msgid, "userid": userid, "limit": limit}
        if cursor:
            payload["cursor"] = cursor
        body = self._call(
            "POST",
            "/cgi-bin/externalcontact/get_groupmsg_send_result",
            retry=True,
            json_body=payload,
        )
        return list(body.get("send_list") or []), str(body.get("next_cursor") or "")

    # -- customer Moments -------------------------------------------------------------

    def add_moment_task(
        self,
        text: str,
        *,
        attachments: Sequence[dict[str, Any]] = (),
        user_list: Sequence[str] = (),
        department_list: Sequence[int] = (),
        tag_list: Sequence[str] = (),
    ) -> str:
        """Create a Moments task (members confirm and post it); return the async ``jobid``.
        Refused before calling past the daily Moments cap or a size limit. Not retried."""
        if len(text) > self.limits.moment_text_max_chars:
            raise LimitRefused(
                "moment_text_max_chars", f"at most {self.limits.moment_text_max_chars} characters"
            )
        if len(attachments) > self.limits.moment_attachments_max:
            raise LimitRefused(
                "moment_attachments_max",
                f"at most {self.limits.moment_attachments_max} attachments",
            )
        if not text.strip() and not attachments:
            raise LimitRefused("moment_content", "a Moments post needs text or an attachment")
        day = platform_day()
        cap = self.limits.moments_per_customer_per_day
        # Any customer may see every post of the day, so the cap counts the corp's posts.
        if self.ledger.moments_on(day) >= cap:
            raise LimitRefused("moments_per_customer_per_day", f"{cap} Moments posts already today")
        payload: dict[str, Any] = {}
        if text.strip():
            payload["text"] = {"content": text}
        if attachments:
            payload["attachments"] = list(attachments)
        visible: dict[str, Any] = {}
        if user_list or department_list:
            visible["sender_list"] = {
                "user_list": list(user_list),
                "department_list": list(department_list),
            }
        if tag_list:
            visible["external_contact_list"] = {"tag_list": list(tag_list)}
        if visible:
            payload["visible_range"] = visible
        body = self._call(
            "POST", "/cgi-bin/externalcontact/add_moment_task", retry=False, json_body=payload
        )
        jobid = str(body["jobid"])
        self.ledger.record("moment", jobid, [], day)
        return jobid

    def moment_task_result(self, jobid: str) -> MomentTaskResult:
        """The async result of :meth:`add_moment_task` (``get_moment_task_result``)."""
        body = self._call(
            "GET",
            "/cgi-bin/externalcontact/get_moment_task_result",
            retry=True,
            params={"jobid": jobid},
        )
        result = body.get("result") or {}
        invalid_senders = result.get("invalid_sender_list") or {}
        invalid_contacts = result.get("invalid_external_contact_list") or {}
        return MomentTaskResult(
            status=int(body.get("status") or 0),
            moment_id=str(result.get("moment_id") or ""),
            errcode=int(result.get("errcode") or 0),
            errmsg=str(result.get("errmsg") or ""),
            invalid_users=[str(u) for u in invalid_senders.get("user_list") or []],
            invalid_tags=[str(t) for t in invalid_contacts.get("tag_list") or []],
        )

    def moment_list(
        self,
        start_time: int,
        end_time: int,
        *,
        creator: str | None = None,
        filter_type: int = 2,
        cursor: str = "",
        limit: int = 20,
    ) -> tuple[list[dict[str, Any]], str]:
        """Moments posted in a window of at most 30 days (``get_moment_list``)."""
        self._window("moment_list_max_days", start_time, end_time, self.limits.moment_list_max_days)
        self._page_limit("moment_list_page_max", limit, self.limits.moment_list_page_max)
        payload: dict[str, Any] = {
            "start_time": start_time,
            "end_time": end_time,
            "filter_type": filter_type,
            "limit": limit,
        }
        if creator:
            payload["creator"] = creator
        if cursor:
            payload["cursor"] = cursor
        body = self._call(
            "POST", "/cgi-bin/externalcontact/get_moment_list", retry=True, json_body=payload
        )
        return list(body.get("moment_list") or []), str(body.get("next_cursor") or "")
