from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, Field, StringConstraints

from fencun import inputs

# Every string the API takes in: no NUL (PostgreSQL refuses it, even in a lookup) and no
# longer than the column it is looked up in, so a bad one is a 422 naming the field.
OpenId = Annotated[str, StringConstraints(max_length=64), AfterValidator(inputs.no_nul)]
AppId = Annotated[str, StringConstraints(max_length=32), AfterValidator(inputs.no_nul)]
Text20 = Annotated[str, StringConstraints(max_length=20), AfterValidator(inputs.no_nul)]
Text64 = Annotated[str, StringConstraints(max_length=64), AfterValidator(inputs.no_nul)]
Text100 = Annotated[str, StringConstraints(max_length=100), AfterValidator(inputs.no_nul)]
Text200 = Annotated[str, StringConstraints(max_length=200), AfterValidator(inputs.no_nul)]
Text500 = Annotated[str, StringConstraints(max_length=500), AfterValidator(inputs.no_nul)]
LongText = Annotated[str, StringConstraints(max_length=100_000), AfterValidator(inputs.no_nul)]


class Location(Schema):
    lat: float
    lng: float


class FollowerOut(Schema):
    openid: str
    unionid: str
    subscribed: bool
    subscribed_at: datetime | None
    unsubscribed_at: datetime | None
    subscribe_scene: str
    subscribe_scene_value: str = Field(
        description="the QR code's scene the follower subscribed through: store42 for EventKey qrscene_store42"
    )
    opted_out: bool = Field(description="replied 退订 or TD (and not 订阅 since): no marketing push")
    personalised: bool = Field(
        description="false: the follower chose no personalisation; the engine decides on non-personal rules only"
    )
    tags: list[int]
    location: Location | None
    location_at: datetime | None
    last_interaction_at: datetime | None


class EventOut(Schema):
    id: int
    kind: str
    at: datetime
    source: str
    payload: dict[str, Any]


class DeliveryOut(Schema):
    campaign_id: int
    arm: str = Field(description="the variant sent, or holdout")
    at: datetime
    read: bool
    clicked: bool
    orders: int
    revenue: float
    unfollowed: bool


class FollowerRecordOut(Schema):
    """Everything fencun holds about one follower (the right of access)."""

    profile: FollowerOut
    events: list[EventOut]
    orders: list[EventOut]
    deliveries: list[DeliveryOut]


class PreferencesIn(Schema):
    personalised: bool = Field(description="false: no personalisation (PIPL art. 24)")


class ErasedOut(Schema):
    erased: dict[str, int] = Field(description="rows removed or made anonymous, per kind of data")


class ErrorOut(Schema):
    detail: str


class FieldErrorOut(Schema):
    """Values refused, by field (``__all__`` for the whole): nothing was saved."""

    detail: str
    errors: dict[str, list[str]]
