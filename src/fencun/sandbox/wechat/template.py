"""Template messages: ``message/template/send`` and ``template/get_all_private_template``
(service accounts only).

/doc/offiaccount/Message_Management/Template_Message_Interface.html. Sent as the platform
has shown them since 2023-05-04 (``content/data/template_rules.json``): without ``first``,
``remark``, colours and emoji, each field on one line and cut at 20 characters; the
result comes as the TEMPLATESENDJOBFINISH event.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fencun.content import rules_data, template_rules
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_limit
from fencun.sandbox.wechat.media import screen
from fencun.sandbox.wechat.routing import Route
from fencun.sandbox.wechat.user import follower

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform


def template_send(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    if not platform.limits["template_messages"]:
        raise ApiError(48001)
    record = follower(platform, payload.get("touser"))
    template_id = payload.get("template_id")
    if template_id not in platform.config.templates:
        raise ApiError(40037)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ApiError(47001)
    screen(platform, json.dumps(data, ensure_ascii=False))
    key = str(payload.get("client_msg_id") or "")
    now = platform.now()
    if key:
        seen = platform.template_keys.get((record.openid, key))
        if (
            seen is not None
            and now - seen[1] < float(platform.limits["clientmsgid_dedup_hours"]) * 3600
        ):
            return {"errcode": 0, "errmsg": "ok", "msgid": seen[0]}
    msg_id = platform.next_msg_id()
    if key:
        platform.template_keys[(record.openid, key)] = (msg_id, now)
    shown = template_rules.shown(data)
    status = _status(platform, record.openid, shown)
    if status == "success":
        title = platform.config.templates[str(template_id)]
        platform.deliver("template", record.openid, msg_id, key, "template", title, shown)
    platform.callback(
        "templatesendjobfinish",
        record.openid,
        {
            "MsgType": "event",
            "Event": "TEMPLATESENDJOBFINISH",
            "MsgID": msg_id,
            "Status": template_rules.load_template_rules().send_status[status],
        },
    )
    return {"errcode": 0, "errmsg": "ok", "msgid": msg_id}


def _status(platform: Platform, openid: str, shown: dict[str, str]) -> str:
    """How the send ends: a follower who refused the account's template messages is
    ``user_block``; a purely marketing message is intercepted (not delivered).

    The platform's classifier is not published: the lint's promotion words stand in for
    it. Neither announcement says what an intercepted send answers, so the call is
    accepted (errcode 0, a msgid) and the event reports ``failed: system failed``, the
    event's one other documented failure: unverified.
    """
    if openid in platform.template_blocked:
        return "user_block"
    words = rules_data.spam_patterns()["promotion"]
    if any(word in text for text in shown.values() for word in words):
        return "system_failed"
    return "success"


def block(platform: Platform, openid: str, blocked: bool = True) -> None:
    """The follower refuses (or accepts again) the account's template messages."""
    follower(platform, openid)
    if blocked:
        platform.template_blocked.add(openid)
    else:
        platform.template_blocked.discard(openid)


def get_all_private_template(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    """The account's templates (the sandbox's ``Config.templates``: id -> title)."""
    if not platform.limits["template_messages"]:
        raise ApiError(48001)
    industry = api_limit("template", "industry")
    return {
        "template_list": [
            {
                "template_id": template_id,
                "title": title,
                **industry,
                "content": "{{thing1.DATA}}\n{{time2.DATA}}",
                "example": f"{title}\n2026-01-01 10:00",
            }
            for template_id, title in platform.config.templates.items()
        ]
    }


ROUTES = {
    "/cgi-bin/message/template/send": Route(template_send, with_ok=False),
    "/cgi-bin/template/get_all_private_template": Route(
        get_all_private_template, json_body=False, with_ok=False
    ),
}
