"""Typed errors of Weibo's open API, one class per family of ``error_code``.

Weibo answers an error as HTTP 4xx/5xx with ``{"error", "error_code", "request"}``
(https://open.weibo.com/wiki/Error_code). The classes derive from the shared
:class:`~fencun.channels.wechat.errors.ChannelError`, so callers handle every channel with
one ``except``. Messages carry the code, Weibo's text and the API path, never the token.
"""

from __future__ import annotations

from typing import Any

from fencun.channels.wechat.errors import (  # noqa: F401 - re-exported for broadcast callers
    ApiTimeout,
    BadResponse,
    ChannelError,
    LimitRefused,
    TransportError,
)


class NotSent(TransportError):
    """The connection to Weibo was never made: the post certainly did not go out."""


class WeiboError(ChannelError):
    """Weibo answered with an ``error_code``."""

    def __init__(
        self, error_code: int, error: str, path: str, body: dict[str, Any] | None = None
    ) -> None:
        self.error_code = error_code
        self.error = error
        self.path = path
        self.body = body or {}
        super().__init__(f"Weibo {path} error_code {error_code}: {error}")


class SystemBusy(WeiboError):
    """10001/10002/10009: Weibo failed or is busy and refused the request; retry later."""

    retryable = True


class RateLimited(WeiboError):
    """10022/10023/10024 (IP, user, or per-API hourly limits) and 20016 (posting too
    fast): nothing was posted; try again after the hour turns."""

    retryable = True


class DuplicateContent(WeiboError):
    """20017/20019: the same (or nearly the same) text was already posted; reposting it
    will be refused again, so the post fails and the merchant edits it."""


class TokenExpired(WeiboError):
    """21314–21317, 21327, 21332: the access token is used up, expired, revoked or
    invalid; the merchant authorises the app again."""


class ContentRejected(WeiboError):
    """20012 (text too long) and 10017 (no URL of the app's safe domain, bad value)."""


class InvalidRequest(WeiboError):
    """Any other documented rejection; not worth retrying."""


_FAMILIES: dict[int, type[WeiboError]] = {
    10001: SystemBusy,
    10002: SystemBusy,
    10009: SystemBusy,
    10022: RateLimited,
    10023: RateLimited,
    10024: RateLimited,
    20016: RateLimited,
    20017: DuplicateContent,
    20019: DuplicateContent,
    21314: TokenExpired,
    21315: TokenExpired,
    21316: TokenExpired,
    21317: TokenExpired,
    21327: TokenExpired,
    21332: TokenExpired,
    20012: ContentRejected,
    10017: ContentRejected,
}


def error_for(
    error_code: int, error: str, path: str, body: dict[str, Any] | None = None
) -> WeiboError:
    """The typed error for a Weibo ``error_code``."""
    return _FAMILIES.get(error_code, InvalidRequest)(error_code, error, path, body)
