"""The WeChat callback endpoint: parse the HTTP request, call the protocol, answer."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from fencun.channels.accounts import default_account
from fencun.channels.models import Account
from fencun.gateway.callback import handle_message, verify_url
from fencun.protocol.errors import PayloadTooLarge, ProtocolError

log = logging.getLogger(__name__)

_ACCOUNT_CACHE_SECONDS = 5.0
_accounts: dict[str, tuple[float, Account | None]] = {}
_accounts_lock = threading.Lock()


def _account(app_id: str | None) -> Account | None:
    # Looked up on every callback; a short per-process cache keeps it off the hot path.
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


def _read_body(request: HttpRequest) -> bytes:
    limit = settings.CALLBACK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge("body too large")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge("body too large")
    return body


def _refuse(exc: ProtocolError) -> HttpResponse:
    # The message names the check that failed, never a secret or the payload.
    log.info("callback refused: %s: %s", type(exc).__name__, exc)
    return HttpResponse(
        f"{type(exc).__name__}: {exc}", status=exc.status, content_type="text/plain; charset=utf-8"
    )


@csrf_exempt
def callback(request: HttpRequest, app_id: str | None = None) -> HttpResponse:
    """``GET`` verifies the server URL; ``POST`` receives a message or event."""
    response = _callback(request, app_id)
    # Served without middleware (see fencun.wsgi): state the length, so keep-alive
    # clients are not answered in chunks.
    response["Content-Length"] = str(len(response.content))
    return response


def _callback(request: HttpRequest, app_id: str | None) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    account = _account(app_id)
    if account is None:
        return HttpResponse(
            "no WeChat account is configured", status=404, content_type="text/plain"
        )
    query = {k: request.GET.get(k, "") for k in request.GET}
    try:
        if request.method == "GET":
            return HttpResponse(verify_url(account, query), content_type="text/plain")
        reply = handle_message(account, query, _read_body(request))
    except ProtocolError as exc:
        return _refuse(exc)
    return HttpResponse(reply.body, content_type=reply.content_type)
