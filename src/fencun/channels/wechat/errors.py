"""Typed errors of the WeChat Official Account API, one class per family of codes.

Callers decide by class, not by number: retry a :class:`SystemBusy`, pause a campaign on
:class:`QuotaExceeded`, drop a recipient on :class:`InvalidRecipient`. Messages carry the
code, WeChat's text and the API path, never a URL with its query (that is where the
AppSecret and access_token travel).
"""

from __future__ import annotations

from typing import Any

from fencun.logredact import redact


class ChannelError(Exception):
    """Base class of everything the WeChat client raises."""

    #: Whether the same request may be repeated (after a backoff) with a chance of success.
    retryable = False
    #: Whether the platform may have acted on the request although no answer says so: the
    #: request may have reached it and the answer was lost (a timeout, a reset connection).
    #: An ``errcode`` answer means it did not act; a refused connection, that it never knew.
    may_have_acted = False
    #: The API path of the request that failed ("" when raised before any request).
    path = ""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class TransportError(ChannelError):
    """The request did not get an answer: connection refused, reset, DNS, TLS."""

    retryable = True
    may_have_acted = True


class NotConnected(TransportError):
    """No connection was made (refused, unreachable, no free connection): the request
    never left, so the platform cannot have acted on it."""

    may_have_acted = False


class ApiTimeout(TransportError):
    """No answer within the timeout. WeChat may or may not have acted on the request, so a
    send must be retried with the same idempotency key (``clientmsgid``/``client_msg_id``)."""


class BadResponse(ChannelError):
    """An answer that is not WeChat's JSON (a proxy's error page, a truncated body)."""

    retryable = True
    may_have_acted = True


class OutcomeUnknown(ChannelError):
    """A send whose request may have reached the platform without its answer coming back,
    on an API that takes no idempotency key and cannot be asked what it did (or has
    forgotten the key): sending again could reach people twice, so it is not repeated."""


class LimitRefused(ChannelError):
    """Refused by the client before calling: the call would break a platform limit."""

    def __init__(self, limit: str, message: str) -> None:
        self.limit = limit
        super().__init__(f"{limit}: {message}")


class PlatformError(ChannelError):
    """An ``errcode`` API (WeChat's or WeCom's) answered with a non-zero ``errcode``."""

    #: Names the platform in the message.
    platform = ""

    def __init__(
        self, errcode: int, errmsg: str, path: str, body: dict[str, Any] | None = None
    ) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        self.body = body or {}
        super().__init__(f"{self.platform} {path} errcode {errcode}: {errmsg}")


class WeChatError(PlatformError):
    """WeChat answered with a non-zero ``errcode``."""

    platform = "WeChat"


class TokenInvalid(WeChatError):
    """40001/40014/42001/41001: the access_token is invalid, not the latest, or expired."""


class CredentialError(WeChatError):
    """The AppID/AppSecret or the server's IP is not accepted; fix the configuration."""


class CredentialUnreadable(ChannelError, ValueError):
    """The stored secret does not open under ``FENCUN_SECRET_KEY`` (see fencun.sealing);
    a ValueError too, like a secret that is not configured at all."""


class SystemBusy(WeChatError):
    """-1: WeChat is busy; retry after a short backoff."""

    retryable = True


class QuotaExceeded(WeChatError):
    """45009: the API's daily call quota is used up (resets at midnight or by clear_quota)."""


class RateLimited(WeChatError):
    """45011 (per-minute quota) or 45066 (same clientmsgid retried too fast): retry later."""

    retryable = True


class MassQuotaExhausted(WeChatError):
    """45028: no mass-send quota left (subscription: one per day; service: four per month)."""


class OutOfWindow(WeChatError):
    """45015 (outside the 48 h customer-service window) or 45047 (too many in the window)."""


class InvalidRecipient(WeChatError):
    """40003 invalid openid, 43004 not a follower, 43101 the follower refused the message."""


class ContentRejected(WeChatError):
    """The message itself was refused: sizes, media, template, or a content-safety hit."""


class Unauthorized(WeChatError):
    """48001/48004/50001…: this account (type, verification) may not use the API."""


class TagLimit(WeChatError):
    """Tag rules: too many tags (45056/45059), duplicate or long name, system tag, big tag."""


class ApiRetired(WeChatError):
    """45103/45106 "This API has been unsupported": the platform has retired the API
    (``material/add_news``, ``media/uploadnews``: articles are drafts now)."""


class InvalidRequest(WeChatError):
    """Any other documented rejection of the request itself; not worth retrying."""


_FAMILIES: dict[int, type[WeChatError]] = {
    -1: SystemBusy,
    40001: TokenInvalid,
    40014: TokenInvalid,
    41001: TokenInvalid,
    42001: TokenInvalid,
    40002: CredentialError,
    40013: CredentialError,
    40125: CredentialError,
    40164: CredentialError,
    41002: CredentialError,
    41004: CredentialError,
    45009: QuotaExceeded,
    45011: RateLimited,
    45066: RateLimited,
    45028: MassQuotaExhausted,
    45015: OutOfWindow,
    45047: OutOfWindow,
    40003: InvalidRecipient,
    43004: InvalidRecipient,
    43101: InvalidRecipient,
    40004: ContentRejected,
    40005: ContentRejected,
    40006: ContentRejected,
    40007: ContentRejected,
    40008: ContentRejected,
    40009: ContentRejected,
    40010: ContentRejected,
    40011: ContentRejected,
    40012: ContentRejected,
    41039: ContentRejected,
    45110: ContentRejected,
    45166: ContentRejected,
    53503: ContentRejected,
    40037: ContentRejected,
    45002: ContentRejected,
    45003: ContentRejected,
    45004: ContentRejected,
    45005: ContentRejected,
    45006: ContentRejected,
    45007: ContentRejected,
    45008: ContentRejected,
    45027: ContentRejected,
    87014: ContentRejected,
    88000: Unauthorized,
    45103: ApiRetired,
    45106: ApiRetired,
    48001: Unauthorized,
    48004: Unauthorized,
    50001: Unauthorized,
    50002: Unauthorized,
    45056: TagLimit,
    45057: TagLimit,
    45058: TagLimit,
    45059: TagLimit,
    45157: TagLimit,
    45158: TagLimit,
}

#: Codes that mean "refresh the token once and repeat the call".
TOKEN_CODES = frozenset(code for code, cls in _FAMILIES.items() if cls is TokenInvalid)

#: 45065: a mass send with this clientmsgid already exists; the body carries its msg_id.
ALREADY_SENT = 45065


#: Codes a page words its own way: freepublish/get answers 40002 "invalid argument" for a
#: publish_id it does not know, which is no credential problem there.
_BY_PATH: dict[tuple[str, int], type[WeChatError]] = {
    ("/cgi-bin/freepublish/get", 40002): InvalidRequest,
}


def error_for(
    errcode: int, errmsg: str, path: str, body: dict[str, Any] | None = None
) -> WeChatError:
    """The typed error for a WeChat ``errcode`` (on ``path``)."""
    family = _BY_PATH.get((path, errcode)) or _FAMILIES.get(errcode, InvalidRequest)
    return family(errcode, errmsg, path, body)
