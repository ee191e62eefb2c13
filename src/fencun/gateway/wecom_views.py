"""The WeCom callback endpoint: parse the HTTP request, call the protocol, answer."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from fencun import bodies
from fencun.channels.models import WecomCorp
from fencun.channels.wecom.corps import default_corp
from fencun.gateway import refusals
from fencun.gateway.wecom_callback import handle_event, verify_url
from fencun.protocol.errors import PayloadTooLarge, ProtocolError
from fencun.sealing import SecretUnreadable

log = logging.getLogger(__name__)


def _read_body(request: HttpRequest) -> bytes:
    # From the environ, so a chunked body is read too (see fencun.bodies), and never more
    # than the limit of it.
    try:
        return bodies.read_body(request.META, settings.CALLBACK_MAX_BYTES)
    except bodies.BodyTooLarge:
        raise PayloadTooLarge("body too large") from None


def _text(body: str | bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def _refused(request: HttpRequest, kind: str, message: str, status: int) -> HttpResponse:
    """A refusal in the caller's language (``Accept-Language``; WeCom sends none and reads
    简体中文), the error's type first for machines to match."""
    return _text(refusals.body(kind, message, request.META), status)


@csrf_exempt
def callback(request: HttpRequest, corp_id: str | None = None) -> HttpResponse:
    """``GET`` verifies the URL (answers the decrypted ``echostr``); ``POST`` receives an event."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    try:
        corp = (
            WecomCorp.objects.select_related("account").filter(corp_id=corp_id).first()
            if corp_id
            else default_corp()
        )
    except ValueError as exc:
        log.error("wecom callback: configuration: %s", exc)
        return _refused(request, "Configuration", "the WeCom configuration is invalid", 500)
    if corp is None:
        return _refused(request, "NoCorp", "no WeCom corp is configured", 404)
    query = {k: request.GET.get(k, "") for k in request.GET}
    try:
        if request.method == "GET":
            return _text(verify_url(corp, query))
        handle_event(corp, query, _read_body(request))
    except ProtocolError as exc:
        # Names the check that failed, never a secret or the payload.
        log.info("wecom callback refused: %s: %s", type(exc).__name__, exc)
        return _refused(request, type(exc).__name__, str(exc), exc.status)
    except bodies.LengthRequired:
        return _refused(request, "LengthRequired", "send Content-Length", 411)
    except SecretUnreadable as exc:
        log.error("wecom callback not answered: %s", exc)
        return _refused(request, "SecretUnreadable", "the corp's secrets cannot be decrypted", 503)
    # WeCom takes an empty 200 as "received" and expects no passive reply here.
    return _text("")
