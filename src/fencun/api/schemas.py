from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema


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


class ErrorOut(Schema):
    detail: str
