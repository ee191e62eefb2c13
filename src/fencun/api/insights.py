"""``GET /api/insights/control-lift``: the long-run lift, the control group against everyone else."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from fencun.api.auth import no_account, token_account
from fencun.api.schemas import AppId, ErrorOut
from fencun.insights import control_lift

router = Router(tags=["insights"])


class GroupOut(Schema):
    followers: int = Field(description="followers who followed the account at any time in the period")
    orders: int
    revenue: float = Field(description="yuan")
    unfollowed: int = Field(description="followers who unfollowed in the period")
    orders_per_follower: float
    revenue_per_follower: float = Field(description="yuan")
    unfollow_rate: float = Field(description="unfollowed / followers (a share, 0-1)")


class DifferenceOut(Schema):
    estimate: float
    low: float = Field(description="lower end of the 95 % interval")
    high: float = Field(description="upper end of the 95 % interval")


class ControlLiftOut(Schema):
    start: datetime
    end: datetime
    days: int
    control_fraction: float = Field(description="the control group's share used for membership")
    control: GroupOut = Field(description="the control group: never sent marketing pushes")
    others: GroupOut = Field(description="everyone else")
    revenue_per_follower: DifferenceOut | None = Field(
        description="everyone else minus the control group, yuan per follower; null while a group is empty"
    )
    orders_per_follower: DifferenceOut | None
    unfollow_rate: DifferenceOut | None = Field(description="a difference of shares")
    incremental_revenue: DifferenceOut | None = Field(
        description="what marketing added in the period: everyone else's followers x the revenue difference, yuan"
    )
    method: str


@router.get(
    "/insights/control-lift",
    response={200: ControlLiftOut, 404: ErrorOut},
    summary="The long-run lift: the control group against everyone else, with 95 % intervals",
)
def get_control_lift(
    request: HttpRequest,
    account: AppId | None = None,
    days: int = Query(
        control_lift.DEFAULT_DAYS, ge=1, le=control_lift.MAX_DAYS, description="the period: the last N days"
    ),
):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    return Status(200, control_lift.control_lift(acct, days).as_dict())
