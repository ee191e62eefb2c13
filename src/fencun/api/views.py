"""The JSON API: token auth, followers and their events; orders, rules and insights in
their own modules."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Status

from fencun import inputs
from fencun.api.auth import BearerToken, no_account, token_account
from fencun.api.openapi import DocumentedAPI
from fencun.api.schemas import (
    AppId,
    ErasedOut,
    ErrorOut,
    EventOut,
    FollowerOut,
    FollowerRecordOut,
    OpenId,
    PreferencesIn,
)
from fencun.audience import erasure, preferences
from fencun.audience.models import Event, Follower
from fencun.insights.follower_record import follower_record

api = DocumentedAPI(
    title="fencun API",
    version="1",
    description="Followers and the event log of a fencun installation, and the console's actions: campaigns "
    "(create, lint, plan, approve, cancel, results), saved segments, products and stores. `Authorization: Bearer <token>`; "
    "create one with `fencun api-token create --name N [--account APPID] [--scope read|write]`. A token "
    "reaches only its accounts (another account's objects answer 404); a read-only token gets 403 on "
    "every change. Endpoints taking `account` (an AppID) act on that account, else on the token's only "
    "account (or the default one).",
    auth=BearerToken(),
    urls_namespace="api",
    docs_url=None,
)


@api.get("/followers/{openid}", response={200: FollowerOut, 404: ErrorOut}, summary="One follower")
def get_follower(request: HttpRequest, openid: OpenId, account: AppId | None = None):
    acct = token_account(request, account)
    follower = Follower.objects.filter(account=acct, openid=openid).first() if acct else None
    if follower is None:
        return Status(404, {"detail": f"no follower with openid {openid!r}"})
    return Status(200, follower)


@api.get(
    "/followers/{openid}/export",
    response={200: FollowerRecordOut, 404: ErrorOut},
    summary="Everything held about one follower (the right of access)",
)
def export_follower(request: HttpRequest, openid: OpenId, account: AppId | None = None):
    acct = token_account(request, account)
    record = follower_record(acct, openid) if acct else None
    if record is None:
        return Status(404, {"detail": f"no follower with openid {openid!r}"})
    return Status(200, record)


@api.post(
    "/followers/{openid}/preferences",
    response={200: FollowerOut, 404: ErrorOut},
    summary="Record a follower's choice of no personalisation (or of personalisation again)",
)
def follower_preferences(request: HttpRequest, openid: OpenId, body: PreferencesIn, account: AppId | None = None):
    acct = token_account(request, account)
    follower = preferences.set_personalised(acct, openid, body.personalised) if acct else None
    if follower is None:
        return Status(404, {"detail": f"no follower with openid {openid!r}"})
    return Status(200, follower)


@api.delete(
    "/followers/{openid}",
    response={200: ErasedOut, 404: ErrorOut},
    summary="Erase a follower: everything held about them, in every table (the right to erasure)",
)
def erase_follower(request: HttpRequest, openid: OpenId, account: AppId | None = None):
    acct = token_account(request, account)
    counts = erasure.erase_follower(acct, openid) if acct else None
    if counts is None:
        return Status(404, {"detail": f"no follower with openid {openid!r}"})
    return Status(200, {"erased": counts})


@api.get(
    "/events",
    response={200: list[EventOut], 404: ErrorOut},
    summary="A follower's events, oldest first",
)
def list_events(
    request: HttpRequest,
    openid: OpenId,
    account: AppId | None = None,
    offset: int = Query(0, ge=0, le=inputs.MAX_OFFSET, description="skip this many events (paging)"),
    limit: int = Query(500, ge=1, le=5000),
):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
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
api.add_router("", "fencun.api.campaigns.router")  # /api/campaigns: create, plan, approve, cancel, results
api.add_router("", "fencun.api.segments.router")  # /api/segments: saved audience filters
api.add_router("", "fencun.api.catalog.products")  # /api/products
api.add_router("", "fencun.api.catalog.stores")  # /api/stores
api.add_router("", "fencun.api.operations.router")  # /api/qr-channels, /api/menus, /api/notices
api.add_router("", "fencun.api.audit.router")  # /api/audit, /api/campaigns/{id}/audit
api.add_router("", "fencun.api.journeys.router")  # /api/journeys: create, change, start, pause, resume
