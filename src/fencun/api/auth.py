"""Token auth for the API, and the account a request may act on.

A token reaches only its own accounts: another account's objects answer 404, exactly as
objects that do not exist, so a token learns nothing about accounts beyond its own. A
read-only token is refused (403) on every method that could change something, before
the endpoint runs, so every endpoint is covered, later ones included.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer

from fencun.accounts import audit
from fencun.accounts.current import default_account
from fencun.accounts.models import Account
from fencun.api.models import ApiToken

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        row = ApiToken.authenticate(token)
        if row is None:
            return None
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        audit.set_actor(f"api:{row.name}")
        if request.method not in SAFE_METHODS and not row.can_write:
            raise HttpError(
                403,
                _(
                    "This API token is read-only: it cannot change anything. "
                    "Create one with --scope write to make changes."
                ),
            )
        return row


def token_account(request: HttpRequest, app_id: str | None) -> Account | None:
    """The account the request means, among its token's accounts: the one ``app_id``
    names, else the token's only account, else the installation's default account when
    the token reaches it. None when there is no such account or the token may not see it
    (the caller answers 404 either way)."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    allowed = token.accounts.all()
    if app_id:
        return allowed.filter(app_id=app_id).first()
    accounts = list(allowed.order_by("id")[:2])
    if len(accounts) == 1:
        return accounts[0]
    default = default_account()
    if default is not None and allowed.filter(pk=default.pk).exists():
        return default
    return None


def no_account() -> dict[str, str]:
    """The 404 body when the request names no account its token reaches."""
    return {
        "detail": _(
            "No such account for this token: name one of the token's accounts with "
            "account=<AppID>."
        )
    }
