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

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import httpx

from fencun import clock
from fencun.channels.http import Secret, TokenClient
from fencun.channels.wechat.tokens import AccessToken, TokenStore
from fencun.channels.wecom.contact_limits import limit as contact_limit
from fencun.channels.wecom.errors import (
    LimitRefused,
    TokenInvalid,
    error_for,
)
from fencun.engine.clock import SHANGHAI
from fencun.engine.limits import WeComLimits, load_wecom_limits

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"


def platform_day(at: datetime | None = None) -> date:
    """The WeCom day (Beijing time) containing ``at`` (default: now on the product's clock)."""
    return (at or clock.now()).astimezone(SHANGHAI).date()


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


@dataclass(frozen=True)
class ContactWay:
    """An accepted ``add_contact_way``: the code's id and, for a QR code, its picture's URL."""

    config_id: str
    qr_code: str = ""


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


class WeComClient(TokenClient):
    """Calls WeCom's customer-contact API for one corp (corpid + secret)."""

    _token_invalid = TokenInvalid
    _error_for = staticmethod(error_for)
    _log_platform = "WeCom "

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
        super().__init__(
            corp_id,
            api_base or _configured_api_base(),
            token_store=token_store,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            backoff=backoff,
            transport=transport,
        )
        self.corp_id = corp_id
        self._secret = Secret(secret)
        self.limits: WeComLimits = load_wecom_limits()
        self.ledger: DispatchLedger = ledger or MemoryDispatchLedger()

    def __repr__(self) -> str:
        return f"<WeComClient {self.corp_id} {self.api_base}>"

    @property
    def token_key(self) -> str:
        """The token store's key for this corp (beside Official Account appids)."""
        return f"wecom:{self.corp_id}"

    # -- access token -------------------------------------------------------------

    def _fetcher(self, reject: str | None) -> Callable[[], AccessToken]:
        return self._fetch_token  # gettoken has no "force": a refresh is just a new call

    def _fetch_token(self) -> AccessToken:
        return self._request_token(
            lambda: self._send_once(
                "GET",
                "/cgi-bin/gettoken",
                token=None,
                params={"corpid": self.corp_id, "corpsecret": self._secret.reveal()},
            ),
            "gettoken",
        )

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

    # -- "contact me" codes and welcome messages ---------------------------------------

    def add_contact_way(
        self,
        users: Sequence[str],
        *,
        state: str,
        scene: str = "qrcode",
        remark: str = "",
        skip_verify: bool = True,
    ) -> ContactWay:
        """Create a "contact me" code (联系我) for one member (type single) or several (multi)
        whose adds carry ``state``. Refused before calling past a limit of
        ``data/contact_way_limits.json``. Not retried: WeCom takes no idempotency key."""
        _check_contact_way(list(users), state, remark)
        scenes = contact_limit("contact_way", "scenes")
        if scene not in scenes:
            raise LimitRefused("contact_way_scenes", f"scene is one of {', '.join(scenes)}")
        types = contact_limit("contact_way", "types")
        payload: dict[str, Any] = {
            "type": types["single"] if len(users) == 1 else types["multi"],
            "scene": scenes[scene],
            "skip_verify": skip_verify,
            "state": state,
            "user": list(users),
        }
        if remark:
            payload["remark"] = remark
        body = self._call(
            "POST", "/cgi-bin/externalcontact/add_contact_way", retry=False, json_body=payload
        )
        return ContactWay(str(body["config_id"]), str(body.get("qr_code") or ""))

    def get_contact_way(self, config_id: str) -> dict[str, Any]:
        """One code as WeCom keeps it (``get_contact_way``)."""
        body = self._call(
            "POST",
            "/cgi-bin/externalcontact/get_contact_way",
            retry=True,
            json_body={"config_id": config_id},
        )
        return dict(body.get("contact_way") or {})

    def delete_contact_way(self, config_id: str) -> None:
        """Delete a code: its QR code stops adding (``del_contact_way``). Not retried: a
        repeat after a lost answer would be refused for a config_id already gone."""
        self._call(
            "POST",
            "/cgi-bin/externalcontact/del_contact_way",
            retry=False,
            json_body={"config_id": config_id},
        )

    def send_welcome_msg(
        self, welcome_code: str, text: str, attachments: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Welcome a new customer with the WelcomeCode of their add_external_contact
        callback. Never retried: the code serves once and lives 20 s."""
        if not welcome_code:
            raise LimitRefused("welcome_code", "no welcome_code: the member has a console welcome")
        _check_welcome(text, attachments)
        payload: dict[str, Any] = {"welcome_code": welcome_code}
        if text.strip():
            payload["text"] = {"content": text}
        if attachments:
            payload["attachments"] = list(attachments)
        self._call(
            "POST", "/cgi-bin/externalcontact/send_welcome_msg", retry=False, json_body=payload
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


def _check_contact_way(users: list[str], state: str, remark: str) -> None:
    most_state = contact_limit("contact_way", "state_max_chars")
    if not 1 <= len(state) <= most_state:
        raise LimitRefused("contact_way_state_max_chars", f"state has 1–{most_state} characters")
    most_remark = contact_limit("contact_way", "remark_max_chars")
    if len(remark) > most_remark:
        raise LimitRefused("contact_way_remark_max_chars", f"at most {most_remark} characters")
    most_users = contact_limit("contact_way", "multi_users_max")
    if not 1 <= len(users) <= most_users or len(set(users)) != len(users):
        raise LimitRefused(
            "contact_way_multi_users_max", f"1–{most_users} different members per code"
        )


def _check_welcome(text: str, attachments: Sequence[dict[str, Any]]) -> None:
    most_bytes = contact_limit("welcome", "text_max_bytes")
    if len(text.encode("utf-8")) > most_bytes:
        raise LimitRefused("welcome_text_max_bytes", f"at most {most_bytes} bytes of text")
    most = contact_limit("welcome", "attachments_max")
    if len(attachments) > most:
        raise LimitRefused("welcome_attachments_max", f"at most {most} attachments")
    if not text.strip() and not attachments:
        raise LimitRefused("welcome_empty", "a welcome needs text or an attachment")
