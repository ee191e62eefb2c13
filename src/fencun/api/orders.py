"""``POST /api/orders``: import orders (all or none) and attribute them to campaigns."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from fencun.api.auth import no_account, token_account
from fencun.api.schemas import AppId, ErrorOut
from fencun.insights import orders

router = Router(tags=["orders"])


class OrderIn(Schema):
    order_id: str
    amount: str | float
    ordered_at: datetime | str
    openid: str | None = None
    unionid: str | None = None
    product: str | None = None
    coupon: str | None = None
    scene: str | None = None


class OrdersIn(Schema):
    orders: list[OrderIn] = Field(min_length=1)
    account: AppId | None = None


class OrderOut(Schema):
    order_id: str
    created: bool
    openid: str
    campaign: int | None
    attributed_by: str | None


class OrderErrorOut(Schema):
    detail: str
    errors: list[dict]


@router.post(
    "/orders",
    response={200: list[OrderOut], 400: OrderErrorOut, 404: ErrorOut},
    summary="Import orders; every one valid or none stored",
)
def post_orders(request: HttpRequest, body: OrdersIn):
    account = token_account(request, body.account)
    if account is None:
        return Status(404, no_account())
    try:
        results = orders.import_orders(account, [o.dict() for o in body.orders])
    except orders.OrderError as exc:
        return Status(400, {"detail": "invalid orders", "errors": [{"row": r, "error": m} for r, m in exc.errors]})
    return Status(200, [r.__dict__ for r in results])
