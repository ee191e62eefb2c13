"""A local WeCom (企业微信) customer-contact platform speaking the real protocol over HTTP.

Standalone like the Official Account sandbox: no Django, and nothing shared with the
product's WeCom client or callback except the crypto and signature primitives. Start it
in-process::

    with WeComSandbox(contacts=30, callback_url=url) as box:
        client = WeComClient(box.config.corp_id, box.config.secret, api_base=box.api_base)
        task = client.add_msg_template(ids, "周末到店有礼")
        box.confirm_mass(task.msgid)          # members confirm in WeCom: the sends happen
        box.add_contact("lisi", unionid=...)   # a customer adds a member: callback posted
        box.flush()                            # callbacks and Moments jobs are done

What it models: ``gettoken`` (7,200 s tokens on the sandbox clock; fetching again within
that returns the same token), external contacts with follow users and corp tags
(``get_follow_user_list``, ``list``, ``get``, ``batch/get_by_user`` with cursors,
``get_corp_tag_list``, ``mark_tag``), mass tasks that members confirm
(``add_msg_template``; results through ``get_groupmsg_list_v2``, ``get_groupmsg_task``,
``get_groupmsg_send_result``, where a customer past the daily cap gets status 3),
Moments tasks as async jobs (``add_moment_task``, ``get_moment_task_result``,
``get_moment_list``), "contact me" codes (``add_contact_way``, ``get_contact_way``,
``del_contact_way``) and new-customer welcomes (``send_welcome_msg``: a WelcomeCode serves
once within 20 s of the sandbox clock; delivered ones in ``platform.welcomes``), WeCom's
error codes, injected faults, and ``change_external_contact`` callbacks posted signed and
encrypted to the product (an add carries a fresh WelcomeCode, and the code's State when
made through one). Limits are read from the same data files as the product
(``engine/data/wecom_limits.json``, ``channels/wecom/data/contact_way_limits.json``),
parsed here on their own.

Admin endpoints (JSON): ``GET /sandbox/wecom/state``; ``POST /sandbox/wecom/confirm``
``{"msgid", "userid"?}``; ``POST /sandbox/wecom/contacts`` ``{"userid", "external_userid"?,
"unionid"?, "name"?}`` (a customer adds a member); ``POST /sandbox/wecom/delete``
``{"userid", "external_userid", "by": "customer"|"member"}``; ``POST /sandbox/wecom/scan``
``{"config_id", "userid"?, "external_userid"?}`` (a customer adds through a "contact me"
code); ``POST /sandbox/wecom/callbacks/hold`` and ``.../release`` (callbacks wait, as when
WeCom's push is late); ``POST /sandbox/wecom/faults``
``{"rules": [{"path", "errcode", "times"}]}``, ``DELETE`` clears; ``POST
/sandbox/wecom/tokens/invalidate``; ``POST /sandbox/wecom/clock`` ``{"advance": seconds}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import queue
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fencun.engine.clock import SHANGHAI
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.signatures import sign
from fencun.sandbox.callbacks import to_xml
from fencun.sandbox.http import JsonHandler, JsonServer, ServedSandbox

log = logging.getLogger(__name__)

MAX_BODY = 2 << 20
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

ERRMSG = {
    -1: "system busy",
    40001: "invalid secret",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40058: "invalid parameter",
    40068: "invalid tagid",
    40096: "invalid external userid",
    41001: "access_token missing",
    41037: "missing contact way type",
    41048: "no available external contact",
    41049: "missing welcome_code",
    41050: "invalid welcome code",
    41051: "externaluser has started chatting",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    48002: "api forbidden",
    60111: "invalid userid",
    84061: "not external contact",
}

GENERATED_TAG_GROUPS = (
    (
        "etGROUPLEVEL0000000000000000",
        "客户等级",
        (("etLEVELHIGH00000000000000000", "高意向"), ("etLEVELBUYER0000000000000000", "已成交")),
    ),
    (
        "etGROUPINTEREST0000000000000",
        "兴趣",
        (("etINTERESTSOFA00000000000000", "沙发"), ("etINTERESTBED000000000000000", "床垫")),
    ),
)


def load_limits() -> dict[str, Any]:
    """WeCom limit values, read from the same data file as the product."""
    text = resources.files("fencun.engine").joinpath("data/wecom_limits.json").read_text("utf-8")
    return {k: v["value"] for k, v in json.loads(text)["limits"].items()}


def load_contact_limits() -> dict[str, Any]:
    """The "contact me" and welcome table (entries with value and errcode), read from the
    same data file as the product."""
    text = (
        resources.files("fencun.channels.wecom")
        .joinpath("data/contact_way_limits.json")
        .read_text("utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


class ApiError(Exception):
    def __init__(self, errcode: int, detail: str = "") -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.detail = detail


def _error(exc: ApiError) -> dict[str, Any]:
    message = ERRMSG.get(exc.errcode, "invalid request")
    if exc.detail:
        message += f", {exc.detail}"
    hint = secrets.token_hex(4)
    return {"errcode": exc.errcode, "errmsg": f"{message}, hint: [{hint}]"}


@dataclass
class WeComConfig:
    """One simulated corp and how the sandbox behaves."""

    corp_id: str = "ww5a4db0c0a7f0e0c1"
    secret: str = "sandbox-wecom-secret-0123456789abcdef"  # noqa: S105 - public dev default
    token: str = "sandboxwecomtoken"  # noqa: S105 - public dev default
    aes_key: str = "fencunSandboxWeComAesKey0123456789abcdefghi"
    agent_id: str = "1000002"
    callback_url: str | None = None
    contacts: int = 30
    members: tuple[str, ...] = ("zhangsan", "lisi", "wangwu")
    #: Given to the first contacts in order: the unionids of Official Account followers
    #: who are also WeCom customers (one person on two channels).
    shared_unionids: tuple[str, ...] = ()
    seed: int = 1
    #: Seconds a Moments job takes before its result is ready.
    moment_job_seconds: float = 0.2


@dataclass
class FaultRule:
    path: str = "*"
    errcode: int = -1
    times: int | None = None

    def matches(self, path: str) -> bool:
        return self.path in ("*", path) or (
            self.path.endswith("*") and path.startswith(self.path[:-1])
        )


@dataclass
class Contact:
    external_userid: str
    name: str
    unionid: str
    contact_type: int = 1
    gender: int = 0
    #: userid -> follow info (remark, createtime, tag ids, add_way).
    follows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "external_userid": self.external_userid,
            "name": self.name,
            "type": self.contact_type,
            "avatar": "",
            "gender": self.gender,
        }
        if self.unionid:
            data["unionid"] = self.unionid
        return data


@dataclass
class MassTask:
    msgid: str
    create_time: int
    creator: str
    text: dict[str, Any]
    attachments: list[dict[str, Any]]
    #: userid -> customers that member is asked to send to.
    targets: dict[str, list[str]]
    #: userid -> send_time once the member confirmed.
    sent: dict[str, int] = field(default_factory=dict)
    #: (userid, external_userid) -> (status, send_time).
    results: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)


@dataclass
class ContactWay:
    """A "contact me" code: who it adds to and the state its adds carry."""

    config_id: str
    way_type: int
    scene: int
    state: str
    users: list[str]
    remark: str = ""
    skip_verify: bool = True
    qr_code: str = ""
    next_user: int = 0

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "config_id": self.config_id,
            "type": self.way_type,
            "scene": self.scene,
            "remark": self.remark,
            "skip_verify": self.skip_verify,
            "state": self.state,
            "user": list(self.users),
            "party": [],
        }
        if self.qr_code:
            data["qr_code"] = self.qr_code
        return data


@dataclass
class WelcomeCode:
    """A WelcomeCode handed out with an add_external_contact callback."""

    code: str
    userid: str
    external_userid: str
    issued: float
    used: bool = False


@dataclass
class MomentJob:
    jobid: str
    created: float
    payload: dict[str, Any]
    moment_id: str = ""
    result: dict[str, Any] | None = None


class WeComPlatform:
    """All state of the simulated corp, guarded by one lock."""

    def __init__(self, config: WeComConfig) -> None:
        self.config = config
        self.limits = load_limits()
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.calls: Counter[str] = Counter()
        self.token_fetches = 0
        self.tokens: dict[str, float] = {}
        self.current_token: str | None = None
        self.faults: list[FaultRule] = []
        self.tag_groups: list[dict[str, Any]] = [
            {
                "group_id": gid,
                "group_name": gname,
                "create_time": 1_600_000_000,
                "order": 0,
                "tag": [
                    {"id": tid, "name": tname, "create_time": 1_600_000_000, "order": 0}
                    for tid, tname in tags
                ],
            }
            for gid, gname, tags in GENERATED_TAG_GROUPS
        ]
        self.contacts: dict[str, Contact] = {}
        self.mass: dict[str, MassTask] = {}
        self.mass_received: Counter[tuple[str, str]] = Counter()  # (external_userid, day)
        self.jobs: dict[str, MomentJob] = {}
        self.moments: list[dict[str, Any]] = []
        self.moment_views: Counter[tuple[str, str]] = Counter()  # (external_userid, day)
        self.contact_table = load_contact_limits()
        self.contact_ways: dict[str, ContactWay] = {}
        self.welcome_codes: dict[str, WelcomeCode] = {}
        #: Welcome messages delivered: welcome_code, userid, external_userid, text, attachments.
        self.welcomes: list[dict[str, Any]] = []
        self._generate()
        self.poster = WeComCallbackPoster(config)

    # -- time and identity ----------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def day(self, at: float | None = None) -> str:
        return datetime.fromtimestamp(self.now() if at is None else at, SHANGHAI).strftime(
            "%Y-%m-%d"
        )

    def _digest(self, *parts: object) -> bytes:
        return hashlib.blake2b(
            ":".join(map(str, (self.config.seed, *parts))).encode(), digest_size=24
        ).digest()

    def _external_userid(self, index: int) -> str:
        return (
            "wm"
            + "".join(_ALPHABET[b % 62] for b in self._digest("contact", index)[:22])
            + "AAAAAAAA"
        )

    def _generate(self) -> None:
        tag_ids = [t["id"] for g in self.tag_groups for t in g["tag"]]
        members = self.config.members
        base = int(self.now()) - 86400 * 200
        for i in range(self.config.contacts):
            d = self._digest("contact", i)
            if i < len(self.config.shared_unionids):
                unionid = self.config.shared_unionids[i]
            else:
                unionid = "ow" + "".join(_ALPHABET[b % 62] for b in d[10:24]) + "WeCom0000000"
            contact = Contact(self._external_userid(i), f"客户{i:03d}", unionid, gender=d[3] % 3)
            followers = {members[i % len(members)]}
            if i % 3 == 0 and len(members) > 1:
                followers.add(members[(i + 1) % len(members)])
            for k, userid in enumerate(sorted(followers)):
                contact.follows[userid] = {
                    "userid": userid,
                    "remark": "",
                    "createtime": base + (int.from_bytes(d[:3], "big") % (86400 * 180)) + k,
                    "tag_id": [t for j, t in enumerate(tag_ids) if d[4 + j + k] < 70],
                    "add_way": 1,
                }
            self.contacts[contact.external_userid] = contact

    # -- request entry --------------------------------------------------------------

    def _fault(self, path: str) -> FaultRule | None:
        for rule in self.faults:
            if rule.matches(path) and (rule.times is None or rule.times > 0):
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        """Answer one API call as WeCom would (errors as ``{"errcode", "errmsg"}``)."""
        route = ROUTES.get(path)
        with self.lock:
            self.calls[path] += 1
            try:
                rule = self._fault(path)
                if rule is not None:
                    raise ApiError(rule.errcode)
                if route is None:
                    raise ApiError(48002)
                if path != "/cgi-bin/gettoken":
                    self._check_token(query.get("access_token", ""))
                payload: dict[str, Any] = {}
                if method == "POST":
                    try:
                        payload = json.loads(body.decode("utf-8") or "{}")
                    except (UnicodeDecodeError, ValueError):
                        raise ApiError(47001) from None
                    if not isinstance(payload, dict):
                        raise ApiError(47001)
                return {"errcode": 0, "errmsg": "ok", **route(self, query, payload)}
            except ApiError as exc:
                return _error(exc)

    def _check_token(self, token: str) -> None:
        if not token:
            raise ApiError(41001)
        expiry = self.tokens.get(token)
        if expiry is None:
            raise ApiError(40014)
        if self.now() >= expiry:
            raise ApiError(42001)

    # -- tokens ---------------------------------------------------------------------

    def gettoken(self, query: dict[str, str], _: Any) -> dict[str, Any]:
        if query.get("corpid") != self.config.corp_id:
            raise ApiError(40013)
        if not secrets.compare_digest(
            query.get("corpsecret", "").encode(), self.config.secret.encode()
        ):
            raise ApiError(40001)
        self.token_fetches += 1
        now = self.now()
        current = self.current_token
        # Within its validity, gettoken hands back the same token.
        if current is None or self.tokens.get(current, 0) <= now:
            current = self.current_token = secrets.token_urlsafe(48)
            self.tokens[current] = now + int(self.limits["access_token_seconds"])
        return {"access_token": current, "expires_in": int(self.tokens[current] - now)}

    def invalidate_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.current_token = None

    # -- contacts -------------------------------------------------------------------

    def _member(self, userid: Any) -> str:
        if not isinstance(userid, str) or userid not in self.config.members:
            raise ApiError(60111)
        return userid

    def _contact(self, external_userid: Any) -> Contact:
        if not isinstance(external_userid, str) or not external_userid.startswith(("wm", "wo")):
            raise ApiError(40096)
        contact = self.contacts.get(external_userid)
        if contact is None or not contact.follows:
            raise ApiError(84061)
        return contact

    def follow_user_list(self, _: dict[str, str], __: Any) -> dict[str, Any]:
        return {"follow_user": list(self.config.members)}

    def contact_list(self, query: dict[str, str], _: Any) -> dict[str, Any]:
        userid = self._member(query.get("userid"))
        ids = [c.external_userid for c in self.contacts.values() if userid in c.follows]
        if not ids:
            raise ApiError(84061)
        return {"external_userid": ids}

    def contact_get(self, query: dict[str, str], _: Any) -> dict[str, Any]:
        contact = self._contact(query.get("external_userid"))
        follow_user = []
        for _userid, follow in sorted(contact.follows.items()):
            tags = [self._tag_info(t) for t in follow["tag_id"]]
            follow_user.append({**{k: v for k, v in follow.items() if k != "tag_id"}, "tags": tags})
        return {"external_contact": contact.info(), "follow_user": follow_user}

    def _tag_info(self, tag_id: str) -> dict[str, Any]:
        for group in self.tag_groups:
            for tag in group["tag"]:
                if tag["id"] == tag_id:
                    return {
                        "group_name": group["group_name"],
                        "tag_name": tag["name"],
                        "tag_id": tag_id,
                        "type": 1,
                    }
        return {"tag_id": tag_id, "type": 1}

    def batch_get_by_user(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        userids = payload.get("userid_list")
        if (
            not isinstance(userids, list)
            or not userids
            or len(userids) > self.limits["batch_get_by_user_users_max"]
        ):
            raise ApiError(40058, "userid_list")
        for userid in userids:
            self._member(userid)
        limit = payload.get("limit") or 50
        if (
            not isinstance(limit, int)
            or not 1 <= limit <= self.limits["batch_get_by_user_page_max"]
        ):
            raise ApiError(40058, "limit")
        pairs = [
            (userid, contact)
            for userid in userids
            for contact in sorted(self.contacts.values(), key=lambda c: c.external_userid)
            if userid in contact.follows
        ]
        start = self._cursor(payload.get("cursor"))
        page = pairs[start : start + limit]
        items = [
            {"external_contact": contact.info(), "follow_info": dict(contact.follows[userid])}
            for userid, contact in page
        ]
        end = start + len(page)
        return {
            "external_contact_list": items,
            "next_cursor": self._encode_cursor(end) if end < len(pairs) else "",
        }

    @staticmethod
    def _encode_cursor(position: int) -> str:
        return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode()

    @staticmethod
    def _cursor(value: Any) -> int:
        if not value:
            return 0
        try:
            text = base64.urlsafe_b64decode(str(value).encode()).decode()
            return max(0, int(text.removeprefix("pos:")))
        except ValueError:
            raise ApiError(40058, "cursor") from None

    def corp_tag_list(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        tag_ids = set(payload.get("tag_id") or [])
        group_ids = set(payload.get("group_id") or [])
        groups = []
        for group in self.tag_groups:
            if group_ids and group["group_id"] not in group_ids:
                continue
            tags = [t for t in group["tag"] if not tag_ids or t["id"] in tag_ids]
            if tags:
                groups.append({**group, "tag": tags})
        return {"tag_group": groups}

    def mark_tag(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        userid = self._member(payload.get("userid"))
        contact = self._contact(payload.get("external_userid"))
        follow = contact.follows.get(userid)
        if follow is None:
            raise ApiError(84061)
        known = {t["id"] for g in self.tag_groups for t in g["tag"]}
        add, remove = payload.get("add_tag") or [], payload.get("remove_tag") or []
        if any(t not in known for t in [*add, *remove]):
            raise ApiError(40068)
        follow["tag_id"] = sorted((set(follow["tag_id"]) | set(add)) - set(remove))
        return {}

    # -- mass messages ----------------------------------------------------------------

    def add_msg_template(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("chat_type", "single") != "single":
            raise ApiError(40058, "chat_type")
        ids = payload.get("external_userid")
        if not isinstance(ids, list) or len(ids) > self.limits["mass_external_userids_max"]:
            raise ApiError(40058, "external_userid")
        text = payload.get("text") or {}
        attachments = payload.get("attachments") or []
        if not str(text.get("content") or "").strip() and not attachments:
            raise ApiError(44004)
        if len(attachments) > self.limits["mass_attachments_max"]:
            raise ApiError(40058, "attachments")
        for attachment in attachments:
            kind = attachment.get("msgtype") if isinstance(attachment, dict) else None
            if kind not in ("image", "link", "miniprogram", "video", "file"):
                raise ApiError(40058, "attachments.msgtype")
            if kind == "link" and not all((attachment.get("link") or {}).get(k) for k in ("title", "url")):
                raise ApiError(40058, "attachments.link")
        sender = payload.get("sender")
        if sender is not None:
            self._member(sender)
        targets: dict[str, list[str]] = {}
        fail_list = []
        for external_userid in dict.fromkeys(ids):
            contact = (
                self.contacts.get(external_userid) if isinstance(external_userid, str) else None
            )
            if contact is None or not contact.follows or (sender and sender not in contact.follows):
                fail_list.append(external_userid)
                continue
            # The task goes to one member per customer: the sender, or the first follow user.
            userid = sender or sorted(contact.follows)[0]
            targets.setdefault(userid, []).append(external_userid)
        if not targets:
            raise ApiError(41048)
        msgid = "msg" + "".join(_ALPHABET[b % 62] for b in secrets.token_bytes(24))
        self.mass[msgid] = MassTask(
            msgid, int(self.now()), sender or "", dict(text), list(attachments), targets
        )
        return {"fail_list": fail_list, "msgid": msgid}

    def confirm_mass(self, msgid: str, userid: str | None = None) -> None:
        """Members confirm the task in WeCom: their customers receive it now, except those
        no longer contacts (status 2) and those past the daily cap (status 3)."""
        with self.lock:
            task = self.mass.get(msgid)
            if task is None:
                raise KeyError(f"no mass task {msgid}")
            now = int(self.now())
            day = self.day(now)
            cap = int(self.limits["mass_per_customer_per_day"])
            for member, customers in task.targets.items():
                if (userid and member != userid) or member in task.sent:
                    continue
                task.sent[member] = now
                for external_userid in customers:
                    contact = self.contacts.get(external_userid)
                    if contact is None or member not in contact.follows:
                        task.results[(member, external_userid)] = (2, 0)
                    elif self.mass_received[(external_userid, day)] >= cap:
                        task.results[(member, external_userid)] = (3, 0)
                    else:
                        self.mass_received[(external_userid, day)] += 1
                        task.results[(member, external_userid)] = (1, now)

    def _window(self, payload: dict[str, Any], max_days: int) -> tuple[int, int]:
        try:
            start, end = int(payload["start_time"]), int(payload["end_time"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(40058, "start_time/end_time") from None
        if end <= start or end - start > max_days * 86400:
            raise ApiError(40058, "time range")
        return start, end

    def groupmsg_list(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        start, end = self._window(payload, int(self.limits["groupmsg_list_max_days"]))
        limit = payload.get("limit") or 50
        if not isinstance(limit, int) or not 1 <= limit <= self.limits["groupmsg_list_page_max"]:
            raise ApiError(40058, "limit")
        found = [t for t in self.mass.values() if start <= t.create_time <= end]
        if payload.get("creator"):
            found = [t for t in found if t.creator == payload["creator"]]
        found.sort(key=lambda t: (t.create_time, t.msgid))
        position = self._cursor(payload.get("cursor"))
        page = found[position : position + limit]
        items = [
            {
                "msgid": t.msgid,
                "creator": t.creator,
                "create_time": str(t.create_time),
                "create_type": 0,
                "text": t.text,
                "attachments": t.attachments,
            }
            for t in page
        ]
        done = position + len(page)
        return {
            "group_msg_list": items,
            "next_cursor": self._encode_cursor(done) if done < len(found) else "",
        }

    def _task(self, payload: dict[str, Any]) -> MassTask:
        task = self.mass.get(str(payload.get("msgid") or ""))
        if task is None:
            raise ApiError(40058, "msgid")
        return task

    def _result_page(
        self, rows: list[dict[str, Any]], payload: dict[str, Any], key: str
    ) -> dict[str, Any]:
        limit = payload.get("limit") or 500
        if not isinstance(limit, int) or not 1 <= limit <= self.limits["groupmsg_result_page_max"]:
            raise ApiError(40058, "limit")
        position = self._cursor(payload.get("cursor"))
        page = rows[position : position + limit]
        done = position + len(page)
        return {key: page, "next_cursor": self._encode_cursor(done) if done < len(rows) else ""}

    def groupmsg_task(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        task = self._task(payload)
        rows = [
            {
                "userid": member,
                "status": 2 if member in task.sent else 0,
                "send_time": task.sent.get(member, 0),
            }
            for member in sorted(task.targets)
        ]
        return self._result_page(rows, payload, "task_list")

    def groupmsg_send_result(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        task = self._task(payload)
        member = self._member(payload.get("userid"))
        rows = []
        for external_userid in task.targets.get(member, []):
            status, at = task.results.get((member, external_userid), (0, 0))
            row = {"external_userid": external_userid, "userid": member, "status": status}
            if at:
                row["send_time"] = at
            rows.append(row)
        return self._result_page(rows, payload, "send_list")

    # -- "contact me" codes and welcomes ------------------------------------------------

    def _contact_rule(self, family: str, name: str) -> tuple[Any, int]:
        """A limit's value and the errcode WeCom answers when it is broken."""
        found = self.contact_table[family][name]
        return found["value"], int(found.get("errcode") or 40058)

    def add_contact_way(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        types, type_code = self._contact_rule("contact_way", "types")
        way_type = payload.get("type")
        if not isinstance(way_type, int) or way_type not in types.values():
            raise ApiError(type_code)
        scenes, scene_code = self._contact_rule("contact_way", "scenes")
        scene = payload.get("scene")
        if not isinstance(scene, int) or scene not in scenes.values():
            raise ApiError(scene_code, "scene")
        state = self._short_text(payload, "state", "state_max_chars")
        remark = self._short_text(payload, "remark", "remark_max_chars")
        users = self._way_users(payload.get("user"), way_type == types["single"])
        most, _code = self._contact_rule("contact_way", "per_corp_max")
        if len(self.contact_ways) >= most:
            raise ApiError(40058, "too many contact ways")
        config_id = secrets.token_hex(16)
        qr_code = ""
        if scene == scenes["qrcode"]:
            qr_code = f"https://wework.qpic.cn/wwpic/{secrets.token_hex(10)}/0"
        skip_verify = bool(payload.get("skip_verify", True))
        self.contact_ways[config_id] = ContactWay(
            config_id, way_type, scene, state, users, remark, skip_verify, qr_code
        )
        return {"config_id": config_id, **({"qr_code": qr_code} if qr_code else {})}

    def _short_text(self, payload: dict[str, Any], field: str, rule: str) -> str:
        most, code = self._contact_rule("contact_way", rule)
        value = payload.get(field, "")
        if not isinstance(value, str) or len(value) > most:
            raise ApiError(code, field)
        return value

    def _way_users(self, users: Any, single: bool) -> list[str]:
        if not isinstance(users, list):
            raise ApiError(40058, "user")
        count, single_code = self._contact_rule("contact_way", "single_users")
        most, multi_code = self._contact_rule("contact_way", "multi_users_max")
        if single and len(users) != count:
            raise ApiError(single_code, "user")
        if not single and not 1 <= len(users) <= most:
            raise ApiError(multi_code, "user")
        return [self._member(u) for u in users]

    def _way(self, payload: dict[str, Any]) -> ContactWay:
        way = self.contact_ways.get(str(payload.get("config_id") or ""))
        if way is None:
            raise ApiError(self._contact_rule("contact_way", "unknown_config_id")[1], "config_id")
        return way

    def get_contact_way(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        return {"contact_way": self._way(payload).info()}

    def del_contact_way(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        del self.contact_ways[self._way(payload).config_id]
        return {}

    def _issue_welcome_code(self, userid: str, external_userid: str) -> str:
        code = secrets.token_urlsafe(24)
        self.welcome_codes[code] = WelcomeCode(code, userid, external_userid, self.now())
        return code

    def send_welcome_msg(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        issued = self._welcome_code(payload.get("welcome_code"))
        text = str((payload.get("text") or {}).get("content") or "")
        attachments = payload.get("attachments") or []
        self._check_welcome(text, attachments)
        issued.used = True
        self.welcomes.append(
            {
                "welcome_code": issued.code,
                "userid": issued.userid,
                "external_userid": issued.external_userid,
                "text": text,
                "attachments": list(attachments),
                "sent_at": int(self.now()),
            }
        )
        return {}

    def _welcome_code(self, code: Any) -> WelcomeCode:
        errors = {k: int(v["value"]) for k, v in self.contact_table["welcome_errors"].items()}
        if not isinstance(code, str) or not code:
            raise ApiError(errors["missing"])
        issued = self.welcome_codes.get(code)
        if issued is None:
            raise ApiError(errors["invalid"])
        if issued.used:
            raise ApiError(errors["used"])
        seconds, expired_code = self._contact_rule("welcome", "code_seconds")
        if self.now() - issued.issued > seconds:
            raise ApiError(expired_code, "welcome_code expired")
        return issued

    def _check_welcome(self, text: str, attachments: Any) -> None:
        if not isinstance(attachments, list):
            raise ApiError(40058, "attachments")
        if not text.strip() and not attachments:
            raise ApiError(self._contact_rule("welcome", "empty")[1])
        most_bytes, bytes_code = self._contact_rule("welcome", "text_max_bytes")
        if len(text.encode("utf-8")) > most_bytes:
            raise ApiError(bytes_code, "text")
        most, code = self._contact_rule("welcome", "attachments_max")
        if len(attachments) > most:
            raise ApiError(code, "attachments")
        for attachment in attachments:
            kind = attachment.get("msgtype") if isinstance(attachment, dict) else None
            if kind not in ("image", "link", "miniprogram", "video", "file"):
                raise ApiError(40058, "attachments.msgtype")

    # -- Moments ----------------------------------------------------------------------

    def add_moment_task(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        text = str((payload.get("text") or {}).get("content") or "")
        attachments = payload.get("attachments") or []
        if not text.strip() and not attachments:
            raise ApiError(44004)
        if len(text) > self.limits["moment_text_max_chars"]:
            raise ApiError(45002, "invalid text size")
        if len(attachments) > self.limits["moment_attachments_max"]:
            raise ApiError(40058, "invalid attachments size")
        jobid = "job" + secrets.token_hex(12)
        self.jobs[jobid] = MomentJob(jobid, self.now(), payload)
        return {"jobid": jobid}

    def _finish_job(self, job: MomentJob) -> None:
        visible = job.payload.get("visible_range") or {}
        users = list((visible.get("sender_list") or {}).get("user_list") or self.config.members)
        tags = list((visible.get("external_contact_list") or {}).get("tag_list") or [])
        known_tags = {t["id"] for g in self.tag_groups for t in g["tag"]}
        invalid_users = [u for u in users if u not in self.config.members]
        invalid_tags = [t for t in tags if t not in known_tags]
        senders = [u for u in users if u in self.config.members]
        job.moment_id = "mom" + secrets.token_hex(12)
        job.result = {
            "errcode": 0,
            "errmsg": "ok",
            "moment_id": job.moment_id,
            "invalid_sender_list": {"user_list": invalid_users, "department_list": []},
            "invalid_external_contact_list": {"tag_list": invalid_tags},
        }
        now = int(self.now())
        day = self.day(now)
        cap = int(self.limits["moments_per_customer_per_day"])
        for userid in senders:
            self.moments.append(
                {
                    "moment_id": job.moment_id,
                    "creator": userid,
                    "create_time": now,
                    "create_type": 0,
                    "visible_type": 1,
                    "text": job.payload.get("text") or {},
                }
            )
            for contact in self.contacts.values():
                follow = contact.follows.get(userid)
                if follow is None or (tags and not set(tags) & set(follow["tag_id"])):
                    continue
                # Past the cap, WeCom folds the post away: the customer does not see it.
                if self.moment_views[(contact.external_userid, day)] < cap:
                    self.moment_views[(contact.external_userid, day)] += 1

    def moment_task_result(self, query: dict[str, str], _: Any) -> dict[str, Any]:
        job = self.jobs.get(query.get("jobid", ""))
        if job is None:
            raise ApiError(40058, "jobid")
        if job.result is None and self.now() - job.created >= self.config.moment_job_seconds:
            self._finish_job(job)
        if job.result is None:
            return {"status": 1, "type": "add_moment_task"}
        return {"status": 2, "type": "add_moment_task", "result": job.result}

    def moment_list(self, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
        start, end = self._window(payload, int(self.limits["moment_list_max_days"]))
        for job in self.jobs.values():  # jobs finish on the platform's time, asked or not
            if job.result is None and self.now() - job.created >= self.config.moment_job_seconds:
                self._finish_job(job)
        limit = payload.get("limit") or 20
        if not isinstance(limit, int) or limit > self.limits["moment_list_page_max"]:
            limit = int(self.limits["moment_list_page_max"])  # WeCom falls back to its default
        found = [m for m in self.moments if start <= m["create_time"] <= end]
        if payload.get("creator"):
            found = [m for m in found if m["creator"] == payload["creator"]]
        filter_type = payload.get("filter_type", 2)
        if filter_type in (0, 1):
            found = [m for m in found if m["create_type"] == filter_type]
        position = self._cursor(payload.get("cursor"))
        page = found[position : position + limit]
        done = position + len(page)
        return {
            "moment_list": page,
            "next_cursor": self._encode_cursor(done) if done < len(found) else "",
        }

    # -- customers act (callbacks) ------------------------------------------------------

    def add_contact(
        self,
        userid: str,
        external_userid: str | None = None,
        unionid: str = "",
        name: str = "新客户",
        state: str = "",
    ) -> str:
        """A customer adds a member: the relation exists now and WeCom posts the callback
        with a fresh WelcomeCode (and ``state`` when added through a "contact me" code)."""
        with self.lock:
            self._member(userid)
            if external_userid is None:
                external_userid = self._external_userid(len(self.contacts) + 10_000)
            contact = self.contacts.get(external_userid)
            if contact is None:
                contact = self.contacts[external_userid] = Contact(external_userid, name, unionid)
            now = int(self.now())
            contact.follows[userid] = {
                "userid": userid,
                "remark": "",
                "createtime": now,
                "tag_id": [],
                "add_way": 1,
                **({"state": state} if state else {}),
            }
            extra = {"WelcomeCode": self._issue_welcome_code(userid, external_userid)}
            if state:
                extra["State"] = state
        self._post("add_external_contact", userid, external_userid, now, **extra)
        return external_userid

    def scan_contact_way(
        self,
        config_id: str,
        userid: str | None = None,
        external_userid: str | None = None,
        **customer: str,
    ) -> tuple[str, str]:
        """A customer adds a member through a "contact me" code: the code's member (of a
        multi-member code: ``userid``, else the next in turn). Returns (userid,
        external_userid)."""
        with self.lock:
            way = self.contact_ways.get(config_id)
            if way is None:
                raise KeyError(f"no contact way {config_id}")
            if userid is None:
                userid = way.users[way.next_user % len(way.users)]
                way.next_user += 1
            elif userid not in way.users:
                raise ValueError(f"{userid} is not a member of contact way {config_id}")
            state = way.state
        return userid, self.add_contact(
            userid, external_userid=external_userid, state=state, **customer
        )

    def delete_contact(self, userid: str, external_userid: str, by: str = "customer") -> None:
        """The customer deletes the member (``del_follow_user``) or the member deletes the
        customer (``del_external_contact``)."""
        with self.lock:
            contact = self.contacts.get(external_userid)
            if contact is None or contact.follows.pop(userid, None) is None:
                raise KeyError(f"{external_userid} is not a contact of {userid}")
            now = int(self.now())
        self._post(
            "del_follow_user" if by == "customer" else "del_external_contact",
            userid,
            external_userid,
            now,
        )

    def _post(
        self, change_type: str, userid: str, external_userid: str, at: int, **extra: str
    ) -> None:
        fields: dict[str, Any] = {
            "ToUserName": self.config.corp_id,
            "FromUserName": "sys",
            "CreateTime": at,
            "MsgType": "event",
            "Event": "change_external_contact",
            "ChangeType": change_type,
            "UserID": userid,
            "ExternalUserID": external_userid,
            **extra,
        }
        self.poster.post(fields, int(self.now()))

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "corp_id": self.config.corp_id,
                "contacts": sum(1 for c in self.contacts.values() if c.follows),
                "members": list(self.config.members),
                "calls": dict(self.calls),
                "token_fetches": self.token_fetches,
                "mass_tasks": len(self.mass),
                "moment_jobs": len(self.jobs),
                "contact_ways": len(self.contact_ways),
                "welcomes": len(self.welcomes),
                "callbacks": Counter(r["outcome"] for r in self.poster.records),
            }


class WeComCallbackPoster:
    """Posts callbacks to the product in order, as WeCom does: always encrypted, signed
    with ``msg_signature``, retried 3 times when the product fails or is slow (5 s)."""

    RETRIES = 3
    REPLY_SECONDS = 5.0

    def __init__(self, config: WeComConfig) -> None:
        if config.callback_url and not config.callback_url.startswith(("http://", "https://")):
            raise ValueError("the callback URL must be http(s)")
        self.config = config
        self.crypto = MessageCrypto(config.aes_key, config.corp_id)
        self.records: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[dict[str, Any], dict[str, Any], int] | None] = queue.Queue()
        self._open = threading.Event()  # cleared: callbacks wait (a late push)
        self._open.set()
        self._thread = threading.Thread(
            target=self._run, name="sandbox-wecom-callbacks", daemon=True
        )
        self._thread.start()

    def post(self, fields: dict[str, Any], now: int) -> dict[str, Any]:
        record = {
            "seq": len(self.records) + 1,
            "change_type": fields.get("ChangeType"),
            "outcome": "pending",
            "status": None,
            "attempts": 0,
            "fields": fields,
        }
        self.records.append(record)
        self._queue.put((record, fields, now))
        return record

    def signed(self, fields: dict[str, Any], now: int) -> tuple[str, bytes]:
        """The URL and body WeCom would post for these fields."""
        encrypt = self.crypto.encrypt(to_xml(fields))
        timestamp, nonce = str(now), str(secrets.randbelow(10**10))
        query = {
            "msg_signature": sign(self.config.token, timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        body = to_xml(
            {"ToUserName": self.config.corp_id, "Encrypt": encrypt, "AgentID": self.config.agent_id}
        )
        url = self.config.callback_url or ""
        return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}", body.encode("utf-8")

    def flush(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def hold(self) -> None:
        """Keep callbacks back until :meth:`release`, as when WeCom's push is late."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def stop(self) -> None:
        self._open.set()
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._open.wait()
                self._deliver(*item)
            except Exception:  # a broken product must not stop the sandbox
                log.exception("WeCom callback failed")
            finally:
                self._queue.task_done()

    def _deliver(self, record: dict[str, Any], fields: dict[str, Any], now: int) -> None:
        if not self.config.callback_url:
            record["outcome"] = "no-url"
            return
        url, body = self.signed(fields, now)
        record["outcome"] = "failed"
        for attempt in range(1 + self.RETRIES):
            record["attempts"] += 1
            try:
                request = urllib.request.Request(  # noqa: S310 - http(s) checked in __init__
                    url,
                    data=body,
                    method="POST",
                    headers={"Content-Type": "text/xml; charset=utf-8"},
                )
                with urllib.request.urlopen(request, timeout=self.REPLY_SECONDS) as response:  # noqa: S310
                    response.read()
                    record["status"] = response.status
                record["outcome"] = "delivered"
                return
            except urllib.error.HTTPError as exc:
                record["status"] = exc.code
                if exc.code < 500:
                    return  # refused: a retry would get the same answer
            except (OSError, TimeoutError):
                record["status"] = None
            if attempt < self.RETRIES:
                time.sleep(0.2 * (attempt + 1))


ROUTES: dict[str, Any] = {
    "/cgi-bin/gettoken": WeComPlatform.gettoken,
    "/cgi-bin/externalcontact/get_follow_user_list": WeComPlatform.follow_user_list,
    "/cgi-bin/externalcontact/list": WeComPlatform.contact_list,
    "/cgi-bin/externalcontact/get": WeComPlatform.contact_get,
    "/cgi-bin/externalcontact/batch/get_by_user": WeComPlatform.batch_get_by_user,
    "/cgi-bin/externalcontact/get_corp_tag_list": WeComPlatform.corp_tag_list,
    "/cgi-bin/externalcontact/mark_tag": WeComPlatform.mark_tag,
    "/cgi-bin/externalcontact/add_msg_template": WeComPlatform.add_msg_template,
    "/cgi-bin/externalcontact/get_groupmsg_list_v2": WeComPlatform.groupmsg_list,
    "/cgi-bin/externalcontact/get_groupmsg_task": WeComPlatform.groupmsg_task,
    "/cgi-bin/externalcontact/get_groupmsg_send_result": WeComPlatform.groupmsg_send_result,
    "/cgi-bin/externalcontact/add_contact_way": WeComPlatform.add_contact_way,
    "/cgi-bin/externalcontact/get_contact_way": WeComPlatform.get_contact_way,
    "/cgi-bin/externalcontact/del_contact_way": WeComPlatform.del_contact_way,
    "/cgi-bin/externalcontact/send_welcome_msg": WeComPlatform.send_welcome_msg,
    "/cgi-bin/externalcontact/add_moment_task": WeComPlatform.add_moment_task,
    "/cgi-bin/externalcontact/get_moment_task_result": WeComPlatform.moment_task_result,
    "/cgi-bin/externalcontact/get_moment_list": WeComPlatform.moment_list,
}


class _Server(JsonServer):
    sandbox: WeComSandbox


class _Handler(JsonHandler):
    server: _Server
    content_type = "application/json; charset=UTF-8"
    max_body = MAX_BODY

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            body = self._body()
        except ValueError:
            self._refuse_too_large({"errcode": 40058, "errmsg": "body too large"})
            return
        box = self.server.sandbox
        if parts.path.startswith("/cgi-bin/"):
            self._send(200, box.platform.handle(method, parts.path, query, body))
        elif parts.path.startswith("/sandbox/wecom/"):
            try:
                self._send(200, box.admin(method, parts.path, body))
            except (ValueError, KeyError, TypeError, ApiError) as exc:
                self._send(400, {"error": f"{type(exc).__name__}: {exc}"})
        else:
            self._send(404, {"errcode": 404, "errmsg": "not found"})


class WeComSandbox(ServedSandbox):
    """A running WeCom sandbox: ``WeComSandbox(contacts=30).start()``; ``api_base`` for the client."""

    _thread_name = "sandbox-wecom-http"

    def __init__(
        self,
        config: WeComConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **overrides: Any,
    ) -> None:
        self.config = replace(config or WeComConfig(), **overrides)
        self.platform = WeComPlatform(self.config)
        self._server = _Server((host, port), _Handler)
        self._server.sandbox = self
        self._thread: threading.Thread | None = None

    def stop(self) -> None:
        super().stop()
        self.platform.poster.stop()

    # -- in-process helpers (the same as the admin endpoints) -----------------------------

    def confirm_mass(self, msgid: str, userid: str | None = None) -> None:
        self.platform.confirm_mass(msgid, userid)

    def add_contact(self, userid: str, **kwargs: Any) -> str:
        return self.platform.add_contact(userid, **kwargs)

    def delete_contact(self, userid: str, external_userid: str, by: str = "customer") -> None:
        self.platform.delete_contact(userid, external_userid, by)

    def scan_contact_way(self, config_id: str, **kwargs: Any) -> tuple[str, str]:
        return self.platform.scan_contact_way(config_id, **kwargs)

    def hold_callbacks(self) -> None:
        self.platform.poster.hold()

    def release_callbacks(self) -> None:
        self.platform.poster.release()

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        with self.platform.lock:
            self.platform.faults = [FaultRule(**r) for r in rules]

    def clear_faults(self) -> None:
        self.set_faults([])

    def advance_clock(self, seconds: float) -> None:
        with self.platform.lock:
            self.platform.clock_offset += seconds

    def flush(self, timeout: float = 30.0) -> None:
        self.platform.poster.flush(timeout)

    def admin(self, method: str, path: str, body: bytes) -> dict[str, Any]:
        data = json.loads(body.decode("utf-8") or "{}") if body else {}
        name = path.removeprefix("/sandbox/wecom/")
        if method == "GET" and name == "state":
            return self.platform.summary()
        if method == "POST" and name == "confirm":
            self.confirm_mass(str(data["msgid"]), data.get("userid"))
            return {"ok": True}
        if method == "POST" and name == "contacts":
            external_userid = self.add_contact(
                str(data["userid"]),
                external_userid=data.get("external_userid"),
                unionid=str(data.get("unionid") or ""),
                name=str(data.get("name") or "新客户"),
            )
            return {"external_userid": external_userid}
        if method == "POST" and name == "delete":
            self.delete_contact(
                str(data["userid"]), str(data["external_userid"]), str(data.get("by") or "customer")
            )
            return {"ok": True}
        if method == "POST" and name == "scan":
            userid, external_userid = self.scan_contact_way(
                str(data["config_id"]),
                userid=data.get("userid"),
                external_userid=data.get("external_userid"),
            )
            return {"userid": userid, "external_userid": external_userid}
        if method == "POST" and name in ("callbacks/hold", "callbacks/release"):
            (self.hold_callbacks if name.endswith("hold") else self.release_callbacks)()
            return {"ok": True}
        if name == "faults":
            self.set_faults(list(data.get("rules") or []) if method == "POST" else [])
            return {"ok": True}
        if method == "POST" and name == "tokens/invalidate":
            self.platform.invalidate_tokens()
            return {"ok": True}
        if method == "POST" and name == "clock":
            self.advance_clock(float(data["advance"]))
            return {"ok": True}
        raise KeyError(f"unknown admin endpoint {method} {path}")
