"""The callback endpoint, apart from any web framework: one request in, one answer out.

Both ways of serving ``/wechat/callback`` call :func:`answer`: the lean WSGI callable
that production uses (:mod:`fencun.gateway.wsgi`) and the Django view (``views.py``, for
the URL conf and Django's test client). So they answer alike by construction: same
checks in the same order, same statuses, same bodies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.conf import settings

from fencun.channels.accounts import default_account
from fencun.channels.models import Account
from fencun.gateway.callback import handle_message, verify_url
from fencun.protocol.errors import PayloadTooLarge, ProtocolError

log = logging.getLogger(__name__)

_ACCOUNT_CACHE_SECONDS = 5.0
_accounts: dict[str, tuple[float, Account | None]] = {}
_accounts_lock = threading.Lock()

TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body, its content type and any extra headers."""

    status: int
    body: bytes
    content_type: str = TEXT
    headers: tuple[tuple[str, str], ...] = ()


def account_for(app_id: str | None) -> Account | None:
    """The account a callback is for (``/wechat/callback/<app_id>``, else the default one).

    Looked up on every callback; a short per-process cache keeps it off the hot path.
    """
    key = app_id or ""
    now = time.monotonic()
    with _accounts_lock:
        hit = _accounts.get(key)
        if hit and now - hit[0] < _ACCOUNT_CACHE_SECONDS:
            return hit[1]
    account = Account.objects.filter(app_id=app_id).first() if app_id else default_account()
    with _accounts_lock:
        _accounts[key] = (now, account)
    return account


def forget_cached_accounts() -> None:
    with _accounts_lock:
        _accounts.clear()


def declared_length(value: str | None) -> int:
    """``CONTENT_LENGTH`` as a number of bytes (0 when absent or not a number)."""
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def _read_body(declared: int, read: Callable[[int], bytes]) -> bytes:
    # Never read more than the limit: an oversized body is refused, not buffered.
    limit = settings.CALLBACK_MAX_BYTES
    if declared > limit:
        raise PayloadTooLarge("body too large")
    body = read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge("body too large")
    return body


def _refuse(exc: ProtocolError) -> Answer:
    # The message names the check that failed, never a secret or the payload.
    log.info("callback refused: %s: %s", type(exc).__name__, exc)
    return Answer(exc.status, f"{type(exc).__name__}: {exc}".encode())


def answer(
    method: str,
    app_id: str | None,
    query: Mapping[str, str],
    declared: int,
    read: Callable[[int], bytes],
) -> Answer:
    """``GET`` verifies the server URL; ``POST`` receives a message or event.

    ``declared`` is the request's Content-Length; ``read(n)`` returns at most ``n`` bytes
    of its body (and never more than ``declared``).
    """
    if method not in ("GET", "POST"):
        return Answer(405, b"method not allowed", headers=(("Allow", "GET, POST"),))
    account = account_for(app_id)
    if account is None:
        return Answer(404, b"no WeChat account is configured")
    try:
        if method == "GET":
            return Answer(200, verify_url(account, query).encode(), "text/plain")
        reply = handle_message(account, query, _read_body(declared, read))
    except ProtocolError as exc:
        return _refuse(exc)
    return Answer(200, reply.body.encode(), reply.content_type)
