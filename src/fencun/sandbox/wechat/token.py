"""Access tokens: ``token`` (classic) and ``stable_token``.

Classic: /doc/service/en/Basic_Information/Get_access_token.html; stable:
/doc/service/api/base/api_getstableaccesstoken.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

TOKEN_SECONDS = 7200
#: A replaced token keeps working this long (classic fetch) — WeChat's 5 minutes.
TOKEN_GRACE_SECONDS = 300
#: Stable tokens rotate this long before expiry in normal mode.
STABLE_EARLY_SECONDS = 300
#: Paths answered without an access_token.
TOKEN_FREE = frozenset({"/cgi-bin/token", "/cgi-bin/stable_token"})


def check_token(platform: Platform, token: str) -> None:
    """Refuse a call whose access_token is missing (41001), unknown (40001) or expired (42001)."""
    if not token:
        raise ApiError(41001)
    expiry = platform.tokens.get(token)
    if expiry is None:
        raise ApiError(40001)
    if platform.now() >= expiry:
        raise ApiError(42001)


def _check_credentials(platform: Platform, appid: str, secret: str) -> None:
    if appid != platform.config.app_id:
        raise ApiError(40013)
    if not secrets.compare_digest(secret.encode(), platform.config.app_secret.encode()):
        raise ApiError(40125)


def _mint() -> str:
    return secrets.token_urlsafe(96)


def classic_token(platform: Platform, query: dict[str, str], _: Any) -> dict[str, Any]:
    if query.get("grant_type") != "client_credential":
        raise ApiError(40002)
    _check_credentials(platform, query.get("appid", ""), query.get("secret", ""))
    now = platform.now()
    # A new classic token leaves the previous ones 5 more minutes.
    for value, expiry in list(platform.tokens.items()):
        if value != platform.stable_current:
            platform.tokens[value] = min(expiry, now + TOKEN_GRACE_SECONDS)
    value = _mint()
    platform.tokens[value] = now + TOKEN_SECONDS
    return {"access_token": value, "expires_in": TOKEN_SECONDS}


def stable_token(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("grant_type") != "client_credential":
        raise ApiError(40002)
    _check_credentials(platform, str(payload.get("appid", "")), str(payload.get("secret", "")))
    now = platform.now()
    current = platform.stable_current
    today = [t for t in platform.forced_refreshes if platform.day(t) == platform.day(now)]
    # "强制刷新模式每天限用20次且需间隔30秒": a forced refresh within 30 s of the last
    # one does not refresh (the current token comes back), it is not an error.
    if payload.get("force_refresh") and not (today and now - today[-1] < 30):
        if len(today) >= 20:
            raise ApiError(45009)
        platform.forced_refreshes.append(now)
        if current is not None:
            platform.tokens.pop(current, None)  # forced: the previous token stops at once
        current = None
    elif current is not None:
        expiry = platform.tokens.get(current)
        if expiry is None or expiry - now <= STABLE_EARLY_SECONDS:
            current = None  # rotated early; the old one still runs to its own expiry
    if current is None:
        current = _mint()
        platform.tokens[current] = now + TOKEN_SECONDS
        platform.stable_current = current
    return {"access_token": current, "expires_in": int(platform.tokens[current] - now)}


ROUTES = {
    "/cgi-bin/token": Route(classic_token, json_body=False, with_ok=False),
    "/cgi-bin/stable_token": Route(stable_token, with_ok=False),
}
