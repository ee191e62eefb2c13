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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from fencun import bodies
from fencun.accounts.current import default_account
from fencun.accounts.models import Account
from fencun.gateway import refusals
from fencun.gateway.callback import handle_message, verify_url
from fencun.protocol.errors import PayloadTooLarge, ProtocolError
from fencun.sealing import SecretUnreadable

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


def _read_body(environ: Mapping[str, Any]) -> bytes:
    # Never more than the limit in memory: an oversized body is refused, not buffered,
    # whether it states its length or comes in chunks.
    try:
        return bodies.read_body(environ, settings.CALLBACK_MAX_BYTES)
    except bodies.BodyTooLarge:
        raise PayloadTooLarge("body too large") from None


def _refuse(exc: ProtocolError, environ: Mapping[str, Any]) -> Answer:
    # The message names the check that failed, never a secret or the payload.
    log.info("callback refused: %s: %s", type(exc).__name__, exc)
    return Answer(exc.status, refusals.body(type(exc).__name__, str(exc), environ))


def answer(
    method: str,
    app_id: str | None,
    query: Mapping[str, str],
    environ: Mapping[str, Any],
) -> Answer:
    """``GET`` verifies the server URL; ``POST`` receives a message or event.

    ``environ`` is the request's WSGI environ, its body read from ``wsgi.input`` (with a
    ``Content-Length`` or in chunks, see :mod:`fencun.bodies`) only for a ``POST``.
    """
    if method not in ("GET", "POST"):
        return Answer(405, refusals.body("MethodNotAllowed", "method not allowed", environ),
                      headers=(("Allow", "GET, POST"),))
    account = account_for(app_id)
    if account is None:
        return Answer(404, refusals.body("NoAccount", "no WeChat account is configured", environ))
    try:
        if method == "GET":
            return Answer(200, verify_url(account, query).encode(), "text/plain")
        reply = handle_message(account, query, _read_body(environ))
    except ProtocolError as exc:
        return _refuse(exc, environ)
    except bodies.LengthRequired as exc:
        log.info("callback refused: %s", exc)
        return Answer(411, refusals.body("LengthRequired", "send Content-Length", environ))
    except SecretUnreadable as exc:
        # The server's key configuration, not the request: WeChat retries, and the
        # operator reads why in the log.
        log.error("callback not answered: %s", exc)
        return Answer(503, refusals.body(
            "SecretUnreadable", "the account's secrets cannot be decrypted", environ
        ))
    return Answer(200, reply.body.encode(), reply.content_type)
