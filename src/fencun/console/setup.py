"""The first-run checklist: what a new console still needs (a password of one's own, the
Official Account connected, followers, stores, products, a first campaign), each with
the way to do it, and a test of the connection that asks WeChat itself."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fencun.accounts import roles
from fencun.accounts.connect import ConnectError, Connection, connect, managed_by_environment
from fencun.accounts.models import Account
from fencun.audience.models import Follower, Store
from fencun.campaigns.models import Campaign
from fencun.catalog.models import Product
from fencun.channels.services import wechat_client
from fencun.channels.wechat.errors import (
    ChannelError,
    CredentialError,
    PlatformError,
    TransportError,
)
from fencun.console.access import SESSION_ACCOUNT, current_account, current_role
from fencun.operations import menus
from fencun.operations.models import Menu

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wechat/callback"


@dataclass(frozen=True)
class Step:
    key: str
    done: bool
    count: int | None = None


def callback_url(request: HttpRequest) -> str:
    """The URL to paste into the WeChat admin: under ``FENCUN_PUBLIC_URL`` when it is set
    (the address the internet reaches), else as this page was reached."""
    public = getattr(settings, "PUBLIC_URL", "") or ""
    return public.rstrip("/") + CALLBACK_PATH if public else request.build_absolute_uri(CALLBACK_PATH)


def connection_test(account: Account) -> tuple[bool, str]:
    """Ask WeChat for the account's follower list: it proves the AppID, the AppSecret and
    this server's address on the IP allow-list at once. ``(ok, what to tell the merchant)``."""
    try:
        with wechat_client(account) as client:
            total = client.get_followers().total
    except CredentialError as exc:
        if exc.errcode == 40164:
            return False, _("WeChat refused this server's IP address: add it to the IP allow-list "
                            "(设置与开发 → 基本配置 → IP白名单) and test again.")
        return False, _("WeChat refused the AppID or the AppSecret (error %(code)s): check them and "
                        "restart fencun.") % {"code": exc.errcode}
    except PlatformError as exc:
        return False, _("WeChat answered with error %(code)s: %(message)s") % {
            "code": exc.errcode, "message": exc.errmsg}
    except TransportError:
        return False, _("WeChat could not be reached from this server: check its network and try again.")
    except (ChannelError, ValueError):
        return False, _("No AppSecret is configured or it cannot be read: set WECHAT_APP_SECRET and "
                        "restart fencun.")
    return True, _("Connected: WeChat answers, and the account has %(total)s followers.") % {"total": f"{total:,}"}


@login_required
@require_POST
def connect_account(request: HttpRequest) -> HttpResponse:
    """Connect the Official Account (a superuser, before any exists) or change its secrets
    (an owner): checked field by field, nothing stored on a refusal."""
    account = current_account(request)
    post = request.POST
    wanted = Connection(
        app_id=post.get("app_id", "").strip(), account_type=post.get("account_type", "").strip(),
        app_secret=post.get("app_secret", "").strip(), token=post.get("token", "").strip(),
        aes_key=post.get("aes_key", "").strip(),
    )
    try:
        if account is None and not request.user.is_superuser:
            raise ConnectError({"form": _("Only the administrator fencun set up can connect a new account.")})
        account = connect(wanted, account=account)
    except ConnectError as exc:
        return setup(request, errors=exc.errors, form=wanted)
    request.session[SESSION_ACCOUNT] = account.pk
    import_menus_once(account)
    return redirect("console-setup")


def import_menus_once(account: Account) -> None:
    """Record the menus the account has, the first time it is connected: setting fencun's
    server address switches the admin panel's menu off, so it becomes a draft to publish.
    Best effort: the connection stands whatever WeChat answers (the Menu page imports again)."""
    if Menu.objects.filter(account=account).exists():
        return
    try:
        with wechat_client(account, max_retries=0, backoff=0.0, timeout=5.0, connect_timeout=3.0) as client:
            menus.import_menus(account, client)
    except (menus.MenuError, ChannelError, ValueError) as exc:
        log.info("menus of %s not imported on connecting: %s", account.app_id, exc)


@login_required
def setup(
    request: HttpRequest, errors: dict[str, str] | None = None, form: Connection | None = None
) -> HttpResponse:
    account = current_account(request)
    tested: tuple[bool, str] | None = None
    if request.method == "POST" and account is not None and errors is None:
        tested = connection_test(account)
    steps: list[Step] = []
    if account is not None:
        followers = Follower.objects.filter(account=account, subscribed=True).count()
        stores = Store.objects.filter(account=account).count()
        products = Product.objects.filter(account=account).count()
        campaigns = Campaign.objects.filter(account=account).count()
        steps = [
            Step("connect", bool(account.app_secret and account.token)),
            Step("followers", followers > 0, followers),
            Step("stores", stores > 0, stores),
            Step("products", products > 0, products),
            Step("campaign", campaigns > 0, campaigns),
        ]
    return render(request, "console/setup.html", {
        "account": account, "steps": {s.key: s for s in steps}, "nav": "setup",
        "callback_url": callback_url(request), "tested": tested,
        "left": sum(not s.done for s in steps),
        "from_environment": managed_by_environment(account), "errors": errors or {},
        "form": form or Connection(), "account_types": Account.Type.choices,
        "may_connect": roles.can_manage(current_role(request)) or request.user.is_superuser,
        "panel_draft": account is not None and Menu.objects.filter(
            account=account, status=Menu.Status.DRAFT, origin=Menu.Origin.PANEL).exists(),
    }, status=400 if errors or (tested is not None and not tested[0]) else 200)
