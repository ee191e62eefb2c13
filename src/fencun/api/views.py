"""The JSON API: token auth, followers and their events; orders, rules and insights in
their own modules."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import NinjaAPI, Query, Status
from ninja.security import HttpBearer

from fencun import inputs
from fencun.api.models import ApiToken
from fencun.api.schemas import AppId, ErrorOut, EventOut, FollowerOut, OpenId
from fencun.audience.models import Event, Follower
from fencun.channels.accounts import default_account
from fencun.channels.models import Account


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        row = ApiToken.authenticate(token)
        if row is not None:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        return row


api = NinjaAPI(
    title="fencun API",
    version="1",
    description="Followers and the event log of a fencun installation. `Authorization: Bearer <token>`; create one with `fencun api-token create --name N`.",
    auth=BearerToken(),
    urls_namespace="api",
    docs_url=None,
)


def _account(app_id: str | None) -> Account | None:
    if app_id:
        return Account.objects.filter(app_id=app_id).first()
    return default_account()


@api.get("/followers/{openid}", response={200: FollowerOut, 404: ErrorOut}, summary="One follower")
def get_follower(request: HttpRequest, openid: OpenId, account: AppId | None = None):  # type: ignore[no-untyped-def]
    acct = _account(account)
    follower = Follower.objects.filter(account=acct, openid=openid).first() if acct else None
    if follower is None:
        return Status(404, {"detail": f"no follower with openid {openid!r}"})
    return Status(200, follower)


@api.get(
    "/events",
    response={200: list[EventOut], 404: ErrorOut},
    summary="A follower's events, oldest first",
)
def list_events(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    openid: OpenId,
    account: AppId | None = None,
    offset: int = Query(0, ge=0, le=inputs.MAX_OFFSET, description="skip this many events (paging)"),
    limit: int = Query(500, ge=1, le=5000),
):
    acct = _account(account)
    if acct is None:
        return Status(404, {"detail": "no account"})
    rows = Event.objects.filter(account=acct, openid=openid).order_by("occurred_at", "id")[
        offset : offset + limit
    ]
    return Status(
        200,
        [
            {
                "id": e.id,
                "kind": e.kind,
                "at": e.occurred_at,
                "source": e.source,
                "payload": e.payload,
            }
            for e in rows
        ],
    )


api.add_router("", "fencun.api.orders.router")  # POST /api/orders
api.add_router("", "fencun.api.rules.router")  # GET, PATCH /api/rules
api.add_router("", "fencun.api.insights.router")  # GET /api/insights/control-lift
