"""Which account the console shows a user, and what their role there lets them do.

Every console page shows one account, one the user is a member of (a superuser: any).
Changes need a role that allows them: ``RolesMiddleware`` checks every console view
before it runs, so a page added later is covered without a decorator to forget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from fencun.accounts import roles
from fencun.accounts.models import Account, Membership

SESSION_ACCOUNT = "fencun_account_id"

# Console views answered by POST that change nothing: choosing the account shown (kept in
# the session), and the lint of a draft as typed.
READ_ONLY_POSTS = frozenset({"console-account", "console-campaign-lint"})
# Console views that need more than the operator role whatever the method: the
# account's members, secrets and API tokens.
OWNER_VIEWS = frozenset({"console-members", "console-setup-connect"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def current_account(request: HttpRequest) -> Account | None:
    """The account chosen in this session when the user may still see it, else the
    first account they may see; None when they may see none."""
    if not hasattr(request, "_fencun_account"):
        visible = roles.accounts_for(request.user)
        chosen = request.session.get(SESSION_ACCOUNT)
        account = visible.filter(pk=chosen).first() if isinstance(chosen, int) else None
        request._fencun_account = account or visible.order_by("id").first()  # type: ignore[attr-defined]
    return request._fencun_account  # type: ignore[attr-defined]


def current_role(request: HttpRequest) -> str | None:
    """The user's role in the account shown (None: no account, or no role)."""
    if not hasattr(request, "_fencun_role"):
        request._fencun_role = roles.role_in(request.user, current_account(request))  # type: ignore[attr-defined]
    return request._fencun_role  # type: ignore[attr-defined]


def needed_role(url_name: str, method: str) -> str | None:
    """The least role a console view needs for ``method`` (None: any member)."""
    if url_name in OWNER_VIEWS:
        return Membership.Role.OWNER
    if method not in SAFE_METHODS and url_name not in READ_ONLY_POSTS:
        return Membership.Role.OPERATOR
    return None


def refused(request: HttpRequest, role: str | None, needed: str) -> HttpResponse:
    """403, saying in the page's language which role would be needed."""
    labels = dict(Membership.Role.choices)
    if role is None:
        message = _("You have no role in this account, so you cannot change anything here.")
    elif needed == Membership.Role.OWNER:
        message = _(
            "Only an owner of this account can do this (your role: %(role)s)."
        ) % {"role": labels.get(role, role)}
    else:
        message = _(
            "Your role in this account (%(role)s) is read-only: ask an owner or an operator "
            "to make this change."
        ) % {"role": labels.get(role, role)}
    return render(request, "console/forbidden.html", {"message": message}, status=403)


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes' answer to a login while its username and address are locked out:
    429, in the page's language, saying how long the lock lasts."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(
        request,
        "registration/locked_out.html",
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes},
        status=429,
    )


class RolesMiddleware:
    """Refuses (403) a console view the user's role in the shown account does not allow."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        name = (match.url_name or "") if match else ""
        user = getattr(request, "user", None)
        if not name.startswith("console-") or user is None or not user.is_authenticated:
            return None  # not a console page, or login_required sends them to log in
        needed = needed_role(name, request.method or "GET")
        if needed is None or user.is_superuser:
            return None  # a superuser is an owner everywhere, before any account exists too
        role = current_role(request)
        if roles.at_least(role, needed):
            return None
        return refused(request, role, needed)
