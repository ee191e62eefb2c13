"""Subscription notices (订阅通知): the template library (``wxaapi/newtmpl/*``), the send
(``message/subscribe/bizsend``) and the followers' consents.

A verified service account picks templates from the public library; a follower accepts
a template in a popup (an article or an H5 page), which the platform reports with
``subscribe_msg_popup_event``; each accept allows one notice (一次性订阅), and a send
without one answers 43101. The sandbox's popups are driven by tests and the demo
(:func:`popup`, ``POST /sandbox/notices/popup``).

/doc/service/Subscription_Messages/intro.html and the pages of each call; limits and
codes in ``channels/wechat/data/account_limits.json`` under "notice". The data check is
the product's own pure function (``channels/wechat/notices.py``) on the same table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fencun.channels.wechat.notices import check_data
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, api_limit
from fencun.sandbox.wechat.routing import Route
from fencun.sandbox.wechat.user import follower

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

CATEGORY = {"id": 1, "name": "家居"}
#: The public library the sandbox offers: tid -> (title, [(kid, name, rule, example)]).
LIBRARY: dict[int, tuple[str, list[tuple[int, str, str, str]]]] = {
    1001: ("订单发货提醒", [
        (1, "订单号", "character_string", "A20261207001"),
        (2, "商品名称", "thing", "北欧布艺沙发"),
        (3, "发货时间", "time", "2026-12-07 10:00"),
        (4, "快递公司", "thing", "顺丰速运"),
    ]),
    1002: ("预约成功通知", [
        (1, "预约项目", "thing", "上门量尺"),
        (2, "预约时间", "time", "2026-12-08 14:00"),
        (3, "门店", "thing", "惠州江北店"),
        (4, "联系电话", "phone_number", "0752-1234567"),
    ]),
}


@dataclass
class NoticeState:
    """The account's selected templates and the followers' unused accepts."""

    templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # priTmplId ->
    consents: Counter[tuple[str, str]] = field(default_factory=Counter)  # (openid, id) ->
    next_id: int = 1


def _verified_service(platform: Platform) -> None:
    if platform.config.account_type != "service" or not platform.config.verified:
        raise ApiError(api_errcode("notice", "verified_service_only"))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def get_category(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    _verified_service(platform)
    return {"data": [CATEGORY]}


def pub_titles(platform: Platform, query: dict[str, str], __: Any) -> dict[str, Any]:
    _verified_service(platform)
    start, limit = _int(query.get("start")) or 0, _int(query.get("limit")) or 30
    rows = [{"tid": t, "title": title, "type": 2, "categoryId": str(CATEGORY["id"])} for t, (title, _) in LIBRARY.items()]
    return {"count": len(rows), "data": rows[start : start + limit]}


def pub_keywords(platform: Platform, query: dict[str, str], __: Any) -> dict[str, Any]:
    _verified_service(platform)
    entry = LIBRARY.get(_int(query.get("tid")) or 0)
    if entry is None:
        raise ApiError(api_errcode("notice", "unknown_template"))
    rows = [{"kid": k, "name": n, "rule": r, "example": e} for k, n, r, e in entry[1]]
    return {"count": len(rows), "data": rows}


def add_template(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _verified_service(platform)
    entry = LIBRARY.get(_int(payload.get("tid")) or 0)
    if entry is None:
        raise ApiError(api_errcode("notice", "unknown_template"))
    kids = payload.get("kidList")
    by_kid = {k: (n, r) for k, n, r, _ in entry[1]}
    if (
        not isinstance(kids, list)
        or not api_limit("notice", "keywords_min") <= len(kids) <= api_limit("notice", "keywords_max")
        or any(_int(k) not in by_kid for k in kids)
        or len(set(kids)) != len(kids)
    ):
        raise ApiError(api_errcode("notice", "keywords_min"))
    scene = payload.get("sceneDesc")
    if not isinstance(scene, str) or not 0 < len(scene) <= api_limit("notice", "scene_desc_max_chars"):
        raise ApiError(api_errcode("notice", "scene_desc_max_chars"))
    state: NoticeState = platform.notices
    template_id = f"NT{state.next_id:04d}{platform.config.app_id[-6:]}"
    state.next_id += 1
    keywords = [(by_kid[int(k)][0], f"{by_kid[int(k)][1]}{i}") for i, k in enumerate(kids, 1)]
    state.templates[template_id] = {"title": entry[0], "keywords": keywords, "scene": scene}
    return {"priTmplId": template_id}


def get_templates(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    _verified_service(platform)
    rows = [
        {
            "priTmplId": tid,
            "title": t["title"],
            "content": "\n".join(f"{name}:{{{{{key}.DATA}}}}" for name, key in t["keywords"]),
            "example": "",
            "type": 2,
        }
        for tid, t in platform.notices.templates.items()
    ]
    return {"data": rows}


def del_template(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _verified_service(platform)
    if platform.notices.templates.pop(str(payload.get("priTmplId")), None) is None:
        raise ApiError(api_errcode("notice", "unknown_template"))
    return {}


def bizsend(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _verified_service(platform)
    record = follower(platform, payload.get("touser"), subscribed=False)
    template_id = str(payload.get("template_id") or "")
    template = platform.notices.templates.get(template_id)
    if template is None:
        raise ApiError(api_errcode("notice", "unknown_template"))
    key = (record.openid, template_id)
    if platform.notices.consents[key] <= 0:
        raise ApiError(api_errcode("notice", "one_send_per_consent"))
    if check_data(payload.get("data"), [k for _, k in template["keywords"]]):
        raise ApiError(api_errcode("notice", "value_invalid"))
    platform.notices.consents[key] -= 1
    msg_id = platform.next_msg_id()
    platform.deliver("notice", record.openid, msg_id, "", "notice", template["title"])
    platform.callback(
        "subscribe_msg_sent_event",
        record.openid,
        {
            "MsgType": "event",
            "Event": "subscribe_msg_sent_event",
            "SubscribeMsgSentEvent": {
                "List": {"TemplateId": template_id, "MsgID": msg_id, "ErrorCode": 0, "ErrorStatus": "success"}
            },
        },
    )
    return {"msgid": msg_id}


def popup(platform: Platform, openid: str, choices: dict[str, str], scene: int = 1) -> None:
    """A follower answers a subscription popup: ``{template_id: "accept" | "reject"}``;
    each accept allows one notice of that template. Posted as the platform posts it."""
    with platform.lock:
        for template_id, status in choices.items():
            if status == "accept":
                platform.notices.consents[(openid, template_id)] += 1
    platform.callback(
        "subscribe_msg_popup_event",
        openid,
        {
            "MsgType": "event",
            "Event": "subscribe_msg_popup_event",
            "SubscribeMsgPopupEvent": {
                "List": [
                    {"TemplateId": t, "SubscribeStatusString": s, "PopupScene": scene}
                    for t, s in choices.items()
                ]
            },
        },
    )


def refuse(platform: Platform, openid: str, template_ids: list[str]) -> None:
    """A follower turns notices off in their settings: the accepts left are void."""
    with platform.lock:
        for template_id in template_ids:
            platform.notices.consents.pop((openid, template_id), None)
    platform.callback(
        "subscribe_msg_change_event",
        openid,
        {
            "MsgType": "event",
            "Event": "subscribe_msg_change_event",
            "SubscribeMsgChangeEvent": {
                "List": [{"TemplateId": t, "SubscribeStatusString": "reject"} for t in template_ids]
            },
        },
    )


ROUTES = {
    "/wxaapi/newtmpl/getcategory": Route(get_category, json_body=False),
    "/wxaapi/newtmpl/getpubtemplatetitles": Route(pub_titles, json_body=False),
    "/wxaapi/newtmpl/getpubtemplatekeywords": Route(pub_keywords, json_body=False),
    "/wxaapi/newtmpl/addtemplate": Route(add_template),
    "/wxaapi/newtmpl/gettemplate": Route(get_templates, json_body=False),
    "/wxaapi/newtmpl/deltemplate": Route(del_template),
    "/cgi-bin/message/subscribe/bizsend": Route(bizsend),
}
