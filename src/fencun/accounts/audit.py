"""The audit trail: who created, changed, approved, sent or erased what, and when.

Domain actions call :func:`record`; who acts is the request's (a console user, an API
token) or the command's, set once at the edge (:class:`ActorMiddleware`, the API's
token check, :func:`acting_as` in commands and workers) rather than passed through every
function. Entries are append-only (the model refuses changes and deletions).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from fencun.accounts.models import Account, AuditEntry

_ACTOR: ContextVar[str] = ContextVar("fencun_actor", default="system")


def actor() -> str:
    return _ACTOR.get()


def set_actor(name: str) -> None:
    """Who acts for the rest of this request (the API's token check)."""
    _ACTOR.set(name[:120])


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    token = _ACTOR.set(name[:120])
    try:
        yield
    finally:
        _ACTOR.reset(token)


class ActorMiddleware:
    """Each request acts as its console user (or anonymously until a token says who)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = f"user:{user.get_username()}" if user is not None and user.is_authenticated else "anonymous"
        with acting_as(name):
            return self.get_response(request)


def pseudonym(openid: str) -> str:
    """How the trail names a follower: never the openid itself (an erased follower must
    not remain in it), but the same follower the same way."""
    return "f:" + hashlib.sha256(openid.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def record(account: Account, action: str, target: Model | None = None, **detail: Any) -> AuditEntry:
    """Append one entry: ``action`` on ``target`` (a model instance) by the current actor."""
    return AuditEntry.objects.create(
        account=account, actor=actor(), action=action,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        detail=detail,
    )


def trail(account: Account, target: Model | None = None) -> QuerySet[AuditEntry]:
    """The account's entries (of one target), oldest first."""
    rows = AuditEntry.objects.filter(account=account)
    if target is not None:
        rows = rows.filter(target_type=target._meta.model_name, target_id=str(target.pk))
    return rows.order_by("id")
