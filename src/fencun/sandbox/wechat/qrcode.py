"""Parametric QR codes: ``qrcode/create`` (temporary and permanent) and ``showqrcode``.

/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html; limits under
"qrcode" in the product's account table (``fencun/channels/wechat/data/
account_limits.json``), which ``limits.api_limits`` reads beside the sandbox's own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, api_limit
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

TEMPORARY = {"QR_SCENE": "scene_id", "QR_STR_SCENE": "scene_str"}
PERMANENT = {"QR_LIMIT_SCENE": "scene_id", "QR_LIMIT_STR_SCENE": "scene_str"}
#: What ``showqrcode`` answers for a valid ticket: a tiny JPEG (the sandbox draws no code).
IMAGE = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


@dataclass
class QrCode:
    ticket: str
    scene: int | str
    permanent: bool
    expires_at: float | None  # epoch seconds; None for a permanent code
    url: str


def _malformed() -> ApiError:
    return ApiError(api_errcode("qrcode", "malformed"))


def _scene(action: str, payload: dict[str, Any]) -> int | str:
    info = payload.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    field = {**TEMPORARY, **PERMANENT}[action]
    value = scene.get(field) if isinstance(scene, dict) else None
    if field == "scene_str":
        if not isinstance(value, str) or not 1 <= len(value) <= api_limit(
            "qrcode", "scene_str_max_chars"
        ):
            raise _malformed()
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed()
    high = api_limit(
        "qrcode", "permanent_scene_id_max" if action in PERMANENT else "temporary_scene_id_max"
    )
    if not 1 <= value <= high:
        raise _malformed()
    return value


def qrcode_create(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    action = payload.get("action_name")
    if action not in TEMPORARY and action not in PERMANENT:
        raise _malformed()
    scene = _scene(str(action), payload)
    if action in PERMANENT:
        # A permanent code is one per scene: asking again hands back the same ticket.
        for code in platform.qrcodes.values():
            if code.permanent and code.scene == scene:
                return {"ticket": code.ticket, "url": code.url}
        # The page names no code for the 100,001st permanent code; the general one here.
        if sum(c.permanent for c in platform.qrcodes.values()) >= api_limit(
            "qrcode", "permanent_codes_max"
        ):
            raise _malformed()
        expires_at = None
    else:
        seconds = payload.get(
            "expire_seconds", api_limit("qrcode", "temporary_expire_seconds_default")
        )
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
            raise _malformed()
        seconds = min(seconds, api_limit("qrcode", "temporary_expire_seconds_max"))
        expires_at = platform.now() + seconds
    ticket = "gQ" + secrets.token_urlsafe(48)
    code = QrCode(
        ticket=ticket,
        scene=scene,
        permanent=action in PERMANENT,
        expires_at=expires_at,
        url=f"http://weixin.qq.com/q/{secrets.token_urlsafe(16)}",
    )
    platform.qrcodes[ticket] = code
    answer: dict[str, Any] = {"ticket": ticket, "url": code.url}
    if expires_at is not None:
        answer["expire_seconds"] = int(round(expires_at - platform.now()))
    return answer


def show(platform: Platform, ticket: str) -> bytes | None:
    """``showqrcode?ticket=``: the code's image, or None (HTTP 404) for an unknown or
    expired ticket. Answered without an access_token, as the platform does."""
    with platform.lock:
        code = platform.qrcodes.get(ticket)
        if code is None or (code.expires_at is not None and platform.now() >= code.expires_at):
            return None
    return IMAGE


ROUTES = {
    "/cgi-bin/qrcode/create": Route(qrcode_create, with_ok=False),
}
