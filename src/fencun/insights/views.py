"""HTTP entry points: tracked-link redirects and the orders webhook. Views parse, call
one domain function, answer."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from fencun import bodies, clock, inputs
from fencun.accounts.current import default_account
from fencun.accounts.models import Account
from fencun.insights import links, orders, webhooks

MAX_WEBHOOK_BODY = 1_000_000


@require_safe  # a HEAD (a link checker's) is redirected too, and records nothing
def follow_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = links.follow(token, clock.now(), links.Visit.of(request.META))
    except links.LinkError as exc:
        # In the follower's language (LocaleMiddleware: their browser's, else 简体中文).
        return HttpResponse(
            _("This link is not valid: %(reason)s") % {"reason": exc},
            status=404, content_type="text/plain; charset=utf-8",
        )
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _error(status: int, detail: str, **extra: object) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def orders_webhook(request: HttpRequest, secret: str) -> HttpResponse:
    if not webhooks.path_matches(secret):
        return _error(404, _("not found"))
    try:
        # From the environ, so a chunked body is read too, never more than the limit of it.
        body = bodies.read_body(request.META, MAX_WEBHOOK_BODY)
    except bodies.BodyTooLarge:
        return _error(413, _("body too large"))
    except bodies.LengthRequired:
        return _error(411, _("send Content-Length"))
    if not webhooks.verify(body, request.headers.get(webhooks.HEADER, "")):
        return _error(403, _("bad signature"))
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, _("body is not JSON"))
    items = data.get("orders") if isinstance(data, dict) and "orders" in data else [data]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return _error(400, _("expected an order object or {\"orders\": [...]}"))
    app_id = data.get("account") if isinstance(data, dict) else None
    if app_id is not None:
        # Looked up as given: a NUL or a non-string would fail the query itself (PostgreSQL
        # refuses NUL even in a lookup), so it is refused first, as the API's AppId is.
        try:
            if not isinstance(app_id, str):
                raise inputs.InputError(_("account must be an AppID"))
            inputs.check_text(app_id, "account", Account._meta.get_field("app_id").max_length)
        except inputs.InputError as exc:
            return _error(400, str(exc))
    account = Account.objects.filter(app_id=app_id).first() if app_id else default_account()
    if account is None:
        return _error(400, _("no account"))
    try:
        results = orders.import_orders(account, items)
    except orders.OrderError as exc:
        return _error(400, _("invalid orders"), errors=[{"row": r, "error": m} for r, m in exc.errors])
    return JsonResponse(
        {"orders": [{"order_id": r.order_id, "created": r.created, "campaign": r.campaign} for r in results]}
    )
