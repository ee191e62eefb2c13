"""The owner's page of an account: its members and their roles, and its API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from fencun.accounts import roles
from fencun.accounts.models import Membership
from fencun.api.models import ApiToken
from fencun.console.access import current_account


def _grant(request, account) -> str:
    """Give an existing user a role here; the reason when refused."""
    username = request.POST.get("username", "").strip()
    role = request.POST.get("role", "")
    if role not in Membership.Role.values:
        return _("Choose a role: owner, operator or analyst.")
    user = get_user_model().objects.filter(username=username, is_active=True).first() if username else None
    if user is None:
        return _("No user %(username)s: create them with fencun member grant.") % {"username": username}
    if user == request.user:
        return _("You cannot change your own role; another owner can.")
    roles.grant(user, account, role)
    return ""


def _remove(request, account) -> str:
    membership = get_object_or_404(Membership, pk=request.POST.get("membership") or 0, account=account)
    if membership.user_id == request.user.pk:
        return _("You cannot change your own role; another owner can.")
    roles.remove(membership)
    return ""


def _revoke(request, account) -> str:
    """Take this account from a token; a token left with no account is revoked."""
    token = get_object_or_404(ApiToken, pk=request.POST.get("token") or 0, accounts=account)
    token.withdraw(account)
    return ""


@login_required
def members(request):
    """Members and API tokens of the account shown (owners only: see ``access.OWNER_VIEWS``)."""
    account = current_account(request)
    error, new_token = "", None
    if request.method == "POST" and account is not None:
        action = request.POST.get("action")
        if action == "grant":
            error = _grant(request, account)
        elif action == "remove":
            error = _remove(request, account)
        elif action == "revoke":
            error = _revoke(request, account)
        elif action == "token":
            scope = request.POST.get("scope", ApiToken.Scope.READ)
            try:
                new_token = ApiToken.issue(request.POST.get("name", ""), [account], scope)[1]
            except ValueError:
                error = _("A token needs a name, and its scope is read or write.")
        else:
            error = _("Unknown action.")
    rows = Membership.objects.filter(account=account).select_related("user").order_by("user__username")
    tokens = ApiToken.objects.filter(accounts=account, revoked=False).order_by("-created_at")
    return render(request, "console/members.html", {
        "account": account, "members": rows, "tokens": tokens, "roles": Membership.Role.choices,
        "scopes": ApiToken.Scope.choices, "error": error, "new_token": new_token, "nav": "members",
    }, status=400 if error else 200)
