"""Console page for subscription notices (订阅通知): the templates the account selected,
selecting one from the library, what was sent and refused, and one follower's accepts.

Notices are sent by the shop's systems through the API (an order shipped, an
appointment made), one per accept the follower gave; the page shows that they work."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fencun.accounts.models import Account
from fencun.channels.services import wechat_client
from fencun.channels.wechat.errors import ChannelError
from fencun.console.views import _account
from fencun.operations import notices as service
from fencun.operations.models import NoticeSend

RECENT = 50


def _from_wechat(account: Account) -> dict[str, Any]:
    """The account's templates and the library, or why they cannot be read now."""
    try:
        with wechat_client(account) as client:
            return {"templates": client.notice_templates(), "library": client.notice_library()}
    except (ChannelError, ValueError) as exc:
        return {"templates": [], "library": [], "unreachable": str(exc)}


@login_required
def notices(request: HttpRequest, errors: list[str] | None = None) -> HttpResponse:
    account = _account(request)
    context: dict[str, Any] = {"account": account, "nav": "notices", "errors": errors or []}
    if account is not None:
        context["service"] = account.account_type == Account.Type.SERVICE
        if context["service"]:
            context.update(_from_wechat(account))
        counts = service.counts(account)
        context["count_rows"] = [(label, counts.get(value, 0)) for value, label in NoticeSend.Status.choices]
        context["recent"] = NoticeSend.objects.filter(account=account)[:RECENT]
        openid = request.GET.get("openid", "").strip()[:64]
        if openid:
            context["openid"] = openid
            context["consents"] = service.consents(account, openid)
    return render(request, "console/notices.html", context, status=400 if errors else 200)


@login_required
@require_POST
def notice_template_add(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    if account is None:
        return redirect("console-notices")
    try:
        tid = int(request.POST.get("tid", ""))
        kids = [int(k) for k in request.POST.get("kids", "").replace("，", ",").split(",") if k.strip()]
    except ValueError:
        return notices(request, [_("The template and its keywords are numbers, e.g. 1001 and 1,2,3.")])
    try:
        with wechat_client(account) as client:
            service.add_template(client, tid, kids, request.POST.get("scene", "").strip())
    except service.NoticeError as exc:
        return notices(request, [m for ms in exc.errors.values() for m in ms])
    except ValueError:
        return notices(request, [_("The account is not connected to WeChat yet (no AppSecret, or it cannot be read).")])
    return redirect("console-notices")
