"""Typed errors of the WeCom API, one class per family of ``errcode``.

Transport failures, non-JSON answers and limit refusals are the WeChat client's classes
(:mod:`fencun.channels.wechat.errors`), so callers handle every channel with one
``except ChannelError``. Messages carry the code, WeCom's text and the API path, never a
URL with its query (``gettoken`` takes the secret there, every other call the token).
"""

from __future__ import annotations

from typing import Any

from fencun.channels.wechat.errors import (  # noqa: F401 - re-exported for WeCom callers
    ApiTimeout,
    BadResponse,
    ChannelError,
    LimitRefused,
    PlatformError,
    TransportError,
)


class WeComError(PlatformError):
    """WeCom answered with a non-zero ``errcode``."""

    platform = "WeCom"


class TokenInvalid(WeComError):
    """40014/41001/42001: the access_token is invalid, missing or expired."""


class CredentialError(WeComError):
    """40001 (secret), 40013 (corpid), 41004 (no secret), 60020 (server IP not trusted):
    fix the configuration."""


class SystemBusy(WeComError):
    """-1: WeCom is busy; retry after a short backoff."""

    retryable = True


class FrequencyLimited(WeComError):
    """45009: over the API's frequency (per minute, hour or day); WeCom blocks the caller
    for the rest of that period, so a quick retry only extends the block."""


class ConcurrencyLimited(WeComError):
    """45033 (too many concurrent calls) or 41063 (the mass task is still being
    dispatched): retry shortly."""

    retryable = True


class NotAContact(WeComError):
    """84061 (no contact relationship), 40096 (invalid external_userid), 60111 (unknown
    member userid), 41048 (no customer to send to)."""


class ContentRejected(WeComError):
    """The message itself: empty or too long text, bad attachments or media."""


class Unauthorized(WeComError):
    """48002/60011/48001...: the secret's app may not use this API or this member."""


class TagError(WeComError):
    """40068: a tag id that does not exist (or was deleted)."""


class WelcomeCodeRefused(WeComError):
    """41049 (no welcome_code), 41050 (invalid or expired), 41051 (already used: the
    customer has started chatting). A WelcomeCode lives 20 s and serves once, so this is
    never retried (see ``data/contact_way_limits.json`` for which codes are verified)."""


class InvalidRequest(WeComError):
    """Any other documented rejection of the request itself; not worth retrying."""


_FAMILIES: dict[int, type[WeComError]] = {
    -1: SystemBusy,
    40014: TokenInvalid,
    41001: TokenInvalid,
    42001: TokenInvalid,
    40001: CredentialError,
    40013: CredentialError,
    41002: CredentialError,
    41004: CredentialError,
    60020: CredentialError,
    45009: FrequencyLimited,
    45033: ConcurrencyLimited,
    41063: ConcurrencyLimited,
    84061: NotAContact,
    40096: NotAContact,
    60111: NotAContact,
    41048: NotAContact,
    44004: ContentRejected,
    45002: ContentRejected,
    40007: ContentRejected,
    40006: ContentRejected,
    48001: Unauthorized,
    48002: Unauthorized,
    60011: Unauthorized,
    40068: TagError,
    41049: WelcomeCodeRefused,
    41050: WelcomeCodeRefused,
    41051: WelcomeCodeRefused,
}

#: Codes that mean "refresh the token once and repeat the call".
TOKEN_CODES = frozenset(code for code, cls in _FAMILIES.items() if cls is TokenInvalid)


def error_for(
    errcode: int, errmsg: str, path: str, body: dict[str, Any] | None = None
) -> WeComError:
    """The typed error for a WeCom ``errcode``."""
    return _FAMILIES.get(errcode, InvalidRequest)(errcode, errmsg, path, body)
