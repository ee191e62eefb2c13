"""WeCom callback events as the event log stores them.

Kinds are ``wecom_`` plus WeCom's ``ChangeType`` for ``change_external_contact`` (so
``wecom_add_external_contact``, ``wecom_del_follow_user``, ...) and ``wecom_`` plus the
``Event`` otherwise; unknown events are stored under their own name, never refused.
Their ``openid`` is empty: an external contact is not an Official Account follower; the
person is joined across channels by ``unionid`` (see ``ExternalContact``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fencun.protocol.errors import MalformedXml

PREFIX = "wecom_"
CHANGE_EXTERNAL_CONTACT = "change_external_contact"
ADD_EXTERNAL_CONTACT = "wecom_add_external_contact"
EDIT_EXTERNAL_CONTACT = "wecom_edit_external_contact"
ADD_HALF_EXTERNAL_CONTACT = "wecom_add_half_external_contact"
DEL_EXTERNAL_CONTACT = "wecom_del_external_contact"  # the member deleted the customer
DEL_FOLLOW_USER = "wecom_del_follow_user"  # the customer deleted the member
TRANSFER_FAIL = "wecom_transfer_fail"
#: Kinds after which the member is a contact of the customer / is no longer.
FOLLOW_KINDS = frozenset({ADD_EXTERNAL_CONTACT, EDIT_EXTERNAL_CONTACT, ADD_HALF_EXTERNAL_CONTACT})
UNFOLLOW_KINDS = frozenset({DEL_EXTERNAL_CONTACT, DEL_FOLLOW_USER})

_FIELDS = {
    "UserID": "userid",
    "ExternalUserID": "external_userid",
    "State": "state",
    "WelcomeCode": "welcome_code",
    "Source": "source",
    "FailReason": "fail_reason",
    "ChatId": "chat_id",
    "TagType": "tag_type",
    "Id": "id",
}


@dataclass(frozen=True)
class WecomEvent:
    """One decoded WeCom callback, ready for the event log."""

    kind: str
    occurred_at: datetime
    payload: dict[str, Any]
    dedup_key: str


def _text(message: dict[str, Any], field: str) -> str:
    value = message.get(field)
    return value.strip() if isinstance(value, str) else ""


def normalize(corp_id: str, message: dict[str, Any]) -> WecomEvent:
    """Map a decrypted WeCom callback to a :class:`WecomEvent`; :class:`MalformedXml` if unusable."""
    if _text(message, "MsgType").lower() != "event":
        raise MalformedXml("only events are accepted on the WeCom callback")
    event = _text(message, "Event").lower()
    if not event:
        raise MalformedXml("missing field Event")
    try:
        created = int(_text(message, "CreateTime"))
        occurred_at = datetime.fromtimestamp(created, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedXml("CreateTime is not a valid unix time") from None
    change_type = _text(message, "ChangeType").lower()
    if event == CHANGE_EXTERNAL_CONTACT:
        if not change_type:
            raise MalformedXml("missing field ChangeType")
        kind = PREFIX + change_type
    else:
        kind = PREFIX + event
    payload: dict[str, Any] = {"event": event, "change_type": change_type}
    for field, name in _FIELDS.items():
        value = _text(message, field)
        if value:
            payload[name] = value
    if event == CHANGE_EXTERNAL_CONTACT and not payload.get("external_userid"):
        raise MalformedXml("missing field ExternalUserID")
    if any(len(payload.get(k, "")) > 64 for k in ("userid", "external_userid")):
        raise MalformedXml("UserID or ExternalUserID too long")
    payload["raw"] = {k: v for k, v in message.items() if k not in ("ToUserName", "Encrypt")}
    # WeCom names no message id for events: the change, who, whom and when identify one.
    parts = [
        corp_id,
        event,
        change_type,
        payload.get("userid", ""),
        payload.get("external_userid", ""),
        payload.get("chat_id", ""),
        payload.get("id", ""),
        str(created),
    ]
    key = "wecom:" + ":".join(parts)
    if len(key) > 200:
        key = "wecom:" + hashlib.sha1(key.encode("utf-8")).hexdigest()  # noqa: S324 - a key, not security
    return WecomEvent(kind[:40], occurred_at, payload, key)
