"""Sending: mass sends (``message/mass/sendall``, ``send``, ``preview``, ``get``), the
jobs that deliver them, and customer-service messages (``message/custom/send``).

/doc/offiaccount/Message_Management/Batch_Sends_and_Originality_Checks.html,
/doc/offiaccount/Customer_Service/Customer_Service_Messages.html; the limits come from
the platform limits table, what is particular to articles from ``data/api_limits.json``
("mass"). An article (``mpnews``) is a draft's media_id (or a legacy ``uploadnews`` one);
a mass send takes the draft out of the box, a preview leaves it there.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, api_limit
from fencun.sandbox.wechat.media import screen
from fencun.sandbox.wechat.routing import Route
from fencun.sandbox.wechat.state import MassJob
from fencun.sandbox.wechat.user import follower

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

#: A text message's content: at most 2048 bytes.
TEXT_MAX_BYTES = 2048
#: The star-group system tag (星标组) may be a mass send's target.
STAR_TAG = 2


def message_part(
    platform: Platform, payload: dict[str, Any], *, mass: bool
) -> tuple[str, dict[str, Any], str]:
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
        screen(platform, text)
        title = text  # a text message's whole text, so tests can read what was sent
    elif msgtype == "mpnews":
        media_id = str(content.get("media_id", ""))
        media = platform.drafts.get(media_id) or platform.media.get(media_id)
        if media is None or media.get("type", "news") != "news":
            raise ApiError(api_errcode("mass", "draft_media_id"))
        title = str(media["articles"][0]["title"])
    elif msgtype in ("image", "voice", "mpvideo", "video"):
        ids = content.get("media_ids") or [content.get("media_id")]
        if not all(str(i) in platform.media for i in ids):
            raise ApiError(40007)
    elif msgtype == "news" and not mass:
        articles = content.get("articles")
        if not isinstance(articles, list) or not articles:
            raise ApiError(47001)
        title = str(articles[0].get("title", ""))
        screen(platform, title + str(articles[0].get("description", "")))
    elif msgtype == "wxcard" or (msgtype in ("miniprogrampage", "msgmenu") and not mass):
        pass
    else:
        raise ApiError(40008)
    return msgtype, content, title


def _clientmsgid(platform: Platform, payload: dict[str, Any]) -> str:
    clientmsgid = payload.get("clientmsgid")
    if clientmsgid is None:
        # WeChat derives one from the target and content when none is given.
        clientmsgid = "auto:" + json.dumps(payload, sort_keys=True, ensure_ascii=False)[:200]
    clientmsgid = str(clientmsgid)
    if not clientmsgid.startswith("auto:") and len(clientmsgid.encode()) > int(
        platform.limits["clientmsgid_max_bytes"]
    ):
        raise ApiError(45067)
    seen = platform.clientmsgids.get(clientmsgid)
    now = platform.now()
    if (
        seen is not None
        and now - seen[1] < float(platform.limits["clientmsgid_dedup_hours"]) * 3600
    ):
        if now - seen[1] < platform.config.retry_too_fast_seconds:
            raise ApiError(45066)
        raise ApiError(45065, msg_id=seen[0])
    return clientmsgid


def _verified(platform: Platform) -> None:
    """48001 for an unverified account: the mass API is a verified account's."""
    if api_limit("mass", "verified_only") and not platform.config.verified:
        raise ApiError(api_errcode("mass", "verified_only"))


def _reprint_flag(payload: dict[str, Any]) -> int:
    flag = payload.get("send_ignore_reprint", 0)
    if isinstance(flag, bool) or flag not in api_limit("mass", "send_ignore_reprint"):
        raise ApiError(47001)
    return int(flag)


def _accept_mass(
    platform: Platform, kind: str, payload: dict[str, Any], clientmsgid: str, **target: Any
) -> dict[str, Any]:
    msgtype, content, title = message_part(platform, payload, mass=True)
    now = platform.now()
    msg_id = platform.next_msg_id()
    job = MassJob(
        msg_id=msg_id,
        msg_data_id=2_247_483_000 + msg_id % 1_000_000,
        kind=kind,
        clientmsgid=clientmsgid,
        message={
            "msgtype": msgtype,
            "title": title,
            "send_ignore_reprint": _reprint_flag(payload),
        },
        accepted_at=now,
        **target,
    )
    platform.jobs[job.msg_id] = job
    platform.clientmsgids[clientmsgid] = (job.msg_id, now)
    if msgtype == "mpnews":
        sent = platform.drafts.pop(str(content.get("media_id", "")), None)  # sent: out of the box
        if sent is not None:  # the articles as they went out, for tests to read
            job.message["articles"] = sent["articles"]
    platform.enqueue_job(job)
    answer: dict[str, Any] = {
        "errcode": 0,
        "errmsg": "send job submission success",
        "msg_id": job.msg_id,
    }
    if msgtype == "mpnews":
        answer["msg_data_id"] = job.msg_data_id
    return answer


def mass_sendall(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _verified(platform)
    flt = payload.get("filter")
    if not isinstance(flt, dict):
        raise ApiError(47001)
    to_all = bool(flt.get("is_to_all"))
    tag_id = None
    if not to_all:
        try:
            raw: Any = flt.get("tag_id")  # missing: int(None) raises TypeError, refused below
            tag_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError(47001) from None
        if tag_id not in platform.tags and tag_id != STAR_TAG:
            raise ApiError(45159)
    # The clientmsgid first: a repeat answers the earlier msg_id (45065) even when its
    # draft has left the box since.
    clientmsgid = _clientmsgid(platform, payload)
    message_part(platform, payload, mass=True)
    per_day = platform.limits["mass_sends_per_day_account"]
    if per_day is not None and platform.mass_days[platform.day()] >= int(per_day):
        raise ApiError(45028)
    platform.mass_days[platform.day()] += 1
    return _accept_mass(platform, "sendall", payload, clientmsgid, tag_id=tag_id, to_all=to_all)


def mass_send(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _verified(platform)
    if not platform.limits["openid_list_send"]:
        raise ApiError(48001)
    touser = payload.get("touser")
    low, high = int(platform.limits["openid_list_min"]), int(platform.limits["openid_list_max"])
    if not isinstance(touser, list) or not low <= len(touser) <= high:
        raise ApiError(40032)
    # As the platform: one openid that is not a current follower of this account (never
    # one, or unfollowed since) refuses the whole list with 40003, naming none of them
    # (global return codes: "请开发者确认 OpenID（该用户）是否已关注公众号，或是否是
    # 其他公众号的 OpenID").
    for openid in touser:
        record = platform.population.get(openid) if isinstance(openid, str) else None
        if record is None or not record.subscribed:
            raise ApiError(40003)
    clientmsgid = _clientmsgid(platform, payload)
    message_part(platform, payload, mass=True)
    return _accept_mass(platform, "send", payload, clientmsgid, openids=list(dict.fromkeys(touser)))


def mass_preview(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    record = follower(platform, payload.get("touser"))
    msgtype, _, title = message_part(platform, payload, mass=True)
    msg_id = platform.next_msg_id()
    platform.deliver("preview", record.openid, msg_id, "", msgtype, title)
    return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}


def mass_get(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    try:
        msg_id: Any = payload.get("msg_id")  # missing: int(None) raises TypeError
        job = platform.jobs[int(msg_id)]
    except (KeyError, TypeError, ValueError):
        raise ApiError(47001) from None
    return {"msg_id": job.msg_id, "msg_status": job.status}


def run_job(platform: Platform, job: MassJob) -> None:
    """Deliver one accepted mass send, then post its MASSSENDJOBFINISH callback."""
    with platform.lock:
        if job.kind == "send":
            targets = [
                r
                for o in job.openids
                if (r := platform.population.get(o)) is not None and r.subscribed
            ]
        else:
            targets = [
                r for r in platform.population.subscribed() if job.to_all or job.tag_id in r.tags
            ]
        total = len(targets)
        per_follower = platform.limits["mass_sends_per_month_per_follower"]
        month = platform.mass_months[platform.month(job.accepted_at)]
        sent = 0
        for record in targets:
            if per_follower is not None and month[record.openid] >= int(per_follower):
                continue  # over this follower's monthly mass count: filtered out
            month[record.openid] += 1
            platform.deliver(
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
    platform.callback(
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


def custom_send(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    record = follower(platform, payload.get("touser"))
    msgtype, _, title = message_part(platform, payload, mass=False)
    limits = platform.limits
    now = platform.now()
    message_window = float(limits["customer_service_window_hours"]) * 3600
    event_window = float(limits["customer_service_event_window_minutes"]) * 60
    mutable = platform.population.mutable(record.openid)
    assert mutable is not None
    in_message = (
        mutable.last_message_at is not None and now - mutable.last_message_at <= message_window
    )
    in_event = mutable.last_event_at is not None and now - mutable.last_event_at <= event_window
    if in_message and mutable.sent_since_message < int(limits["customer_service_per_message"]):
        mutable.sent_since_message += 1
    elif in_event and mutable.sent_since_event < int(limits["customer_service_per_event"]):
        mutable.sent_since_event += 1
    elif in_message or in_event:
        raise ApiError(45047)
    else:
        raise ApiError(45015)
    platform.deliver("custom", record.openid, None, "", msgtype, title)
    return {}


ROUTES = {
    "/cgi-bin/message/mass/sendall": Route(mass_sendall, with_ok=False),
    "/cgi-bin/message/mass/send": Route(mass_send, with_ok=False),
    "/cgi-bin/message/mass/preview": Route(mass_preview, with_ok=False),
    "/cgi-bin/message/mass/get": Route(mass_get, with_ok=False),
    "/cgi-bin/message/custom/send": Route(custom_send),
}
