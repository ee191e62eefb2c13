"""Turning one decoded WeChat callback message into one event of the log."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fencun.audience import kinds
from fencun.engine import geo
from fencun.inputs import clip
from fencun.protocol.errors import MalformedXml

# The LOCATION event reports the phone's GPS fix (WGS-84); a location *message* is a
# point picked on WeChat's built-in Tencent map (GCJ-02). Both are stored in GCJ-02.
_LOCATION_EVENT_DATUM = geo.WGS84
_LOCATION_MESSAGE_DATUM = geo.GCJ02

_QR_PREFIX = "qrscene_"

# Column widths of what a callback writes (``audience.models``: Event.openid, kind and
# dedup_key; Follower.subscribe_scene_value, which the projection copies from the
# payload). Kept here so the gateway needs no models at import; a test holds them equal.
OPENID_LENGTH = 64
KIND_LENGTH = 40
DEDUP_KEY_LENGTH = 200
SCENE_VALUE_LENGTH = 64


@dataclass(frozen=True)
class Incoming:
    """A callback message as the event log stores it."""

    kind: str
    openid: str
    occurred_at: datetime
    payload: dict[str, Any]
    dedup_key: str
    to_user: str


def _require(message: dict[str, Any], field: str) -> str:
    value = message.get(field)
    if not isinstance(value, str) or not value.strip():
        raise MalformedXml(f"missing field {field}")
    return value.strip()


def _float(message: dict[str, Any], field: str) -> float:
    try:
        return float(_require(message, field))
    except ValueError:
        raise MalformedXml(f"{field} is not a number") from None


def _location(lat: float, lng: float, datum: str) -> dict[str, Any]:
    if not geo.valid_point(lat, lng):
        raise MalformedXml("coordinates out of range")
    g_lat, g_lng = geo.to_gcj02(lat, lng, datum)
    return {"lat": g_lat, "lng": g_lng, "datum": geo.GCJ02, "raw_datum": datum}


def _event_payload(event: str, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    event_key = message.get("EventKey")
    key = event_key if isinstance(event_key, str) else ""
    kind = event.lower()
    if kind == kinds.SUBSCRIBE:
        if key and key.startswith(_QR_PREFIX):
            value = clip(key[len(_QR_PREFIX) :], SCENE_VALUE_LENGTH)
            return kind, {"scene": "ADD_SCENE_QR_CODE", "scene_value": value}
        return kind, {"scene": "ADD_SCENE_OTHERS"}
    if kind == kinds.SCAN:
        return kind, {"scene_value": clip(key, SCENE_VALUE_LENGTH)}
    if kind == "location":
        return kinds.LOCATION, _location(
            _float(message, "Latitude"), _float(message, "Longitude"), _LOCATION_EVENT_DATUM
        ) | {"precision": message.get("Precision", "")}
    if kind in (kinds.CLICK, kinds.VIEW):
        return kind, {"key": key}
    if kind in (kinds.MASS_SEND_FINISHED, kinds.TEMPLATE_SEND_FINISHED):
        return kind, {
            "msg_id": message.get("MsgID") or message.get("MsgId", ""),
            "status": message.get("Status", ""),
        }
    if kind == kinds.PUBLISH_FINISHED:
        return kind, _publish_payload(message.get("PublishEventInfo"))
    if kind in kinds.NOTICE_EVENTS:
        return kind, {"templates": _notice_templates(message)}
    return clip(kind, KIND_LENGTH), {"key": key} if key else {}


#: Where a subscription-notice event lists its templates (the change event is documented
#: under both names).
_NOTICE_LISTS = ("SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent", "SubscribeMsgSentEvent")


def _notice_templates(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Each template of a subscription-notice event: ``template_id``, ``status``
    (accept / reject, or the send's ``ErrorStatus``), and for a popup its ``scene`` (1 an
    H5 page, 2 an article), for a send its ``msg_id`` and ``error`` code."""
    found: list[dict[str, Any]] = []
    for name in _NOTICE_LISTS:
        box = message.get(name)
        items = _as_list(box.get("List")) if isinstance(box, dict) else []
        for item in items:
            if not isinstance(item, dict) or not item.get("TemplateId"):
                continue
            entry: dict[str, Any] = {
                "template_id": clip(str(item["TemplateId"]), 128),
                "status": clip(str(item.get("SubscribeStatusString") or item.get("ErrorStatus") or ""), 32),
            }
            for field, source in (("scene", "PopupScene"), ("msg_id", "MsgID"), ("error", "ErrorCode")):
                if item.get(source) not in (None, ""):
                    entry[field] = _int(item[source])
            found.append(entry)
    return found


def _as_list(value: Any) -> list[Any]:
    """A repeated XML element as a list: one occurrence parses as the value itself."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _publish_payload(info: Any) -> dict[str, Any]:
    """PUBLISHJOBFINISH's ``PublishEventInfo``: publish_id, publish_status, and on success
    article_id and each article's permanent URL, on failure the failed articles (first 1)
    (/doc/subscription/api/public/api_freepublish_submit.html). A field missing or not a
    number is left empty: the event is stored as it came (the raw message stays in the
    payload), not refused."""
    info = info if isinstance(info, dict) else {}
    detail = info.get("article_detail")
    items = _as_list(detail.get("item")) if isinstance(detail, dict) else []
    fail_idx = [_int(i) for i in _as_list(info.get("fail_idx"))]
    return {
        "publish_id": clip(str(info.get("publish_id") or "").strip(), 64),
        "publish_status": _int(info.get("publish_status", "")),
        "article_id": str(info.get("article_id") or "").strip(),
        "article_urls": [
            str(i.get("article_url") or "").strip() for i in items if isinstance(i, dict)
        ],
        "fail_idx": [i for i in fail_idx if i is not None],
    }


def _dedup_key(key: str) -> str:
    """``key`` if it fits its column, else a prefix and a digest of the whole key, so two
    over-long keys that differ only past the cut still differ."""
    if len(key) <= DEDUP_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{key[: DEDUP_KEY_LENGTH - len(digest) - 1]}#{digest}"


def _message_payload(msg_type: str, message: dict[str, Any]) -> dict[str, Any]:
    if msg_type == kinds.TEXT:
        return {"content": message.get("Content") or ""}
    if msg_type == kinds.LOCATION:
        return _location(
            _float(message, "Location_X"), _float(message, "Location_Y"), _LOCATION_MESSAGE_DATUM
        ) | {"label": message.get("Label", "")}
    if msg_type == kinds.LINK:
        return {"title": message.get("Title", ""), "url": message.get("Url", "")}
    if msg_type == kinds.VOICE:
        return {
            "media_id": message.get("MediaId", ""),
            "recognition": message.get("Recognition", ""),
        }
    return {"media_id": message.get("MediaId", "")} if message.get("MediaId") else {}


def normalize(message: dict[str, Any]) -> Incoming:
    """Map WeChat's fields to an :class:`Incoming`; raise :class:`MalformedXml` if unusable.

    De-duplication keys follow WeChat's advice: FromUserName+MsgId for messages,
    FromUserName+CreateTime+Event for events. Every string the event log stores is cut
    to its column's width (the raw message, in the payload, keeps the whole of it); an
    openid too long to be one is refused, since cutting it would merge two followers.
    """
    openid = _require(message, "FromUserName")
    to_user = _require(message, "ToUserName")
    msg_type = _require(message, "MsgType").lower()
    try:
        created = int(_require(message, "CreateTime"))
        occurred_at = datetime.fromtimestamp(created, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedXml("CreateTime is not a valid unix time") from None
    if len(openid) > OPENID_LENGTH:
        raise MalformedXml("FromUserName too long")

    if msg_type == "event":
        event = _require(message, "Event")
        kind, payload = _event_payload(event, message)
        dedup = f"wx:{openid}:{created}:{event}"
        if kind in (kinds.MASS_SEND_FINISHED, kinds.TEMPLATE_SEND_FINISHED):
            dedup += f":{payload['msg_id']}"
        elif kind == kinds.PUBLISH_FINISHED:
            dedup += f":{payload['publish_id']}"
        elif kind in kinds.NOTICE_EVENTS:
            dedup += ":" + ",".join(f"{t['template_id']}/{t.get('msg_id', '')}" for t in payload["templates"])
    else:
        kind = clip(msg_type, KIND_LENGTH)
        payload = _message_payload(msg_type, message)
        msg_id = message.get("MsgId") or message.get("MsgID")
        dedup = f"wx:{openid}:{msg_id}" if msg_id else f"wx:{openid}:{created}:{msg_type}"
    payload["raw"] = {k: v for k, v in message.items() if k not in ("ToUserName", "Encrypt")}
    if kind in (kinds.MASS_SEND_FINISHED, kinds.PUBLISH_FINISHED):
        openid = ""  # sent by the platform's mass-send assistant, not by a follower
    return Incoming(kind, openid, occurred_at, payload, _dedup_key(dedup), to_user)
