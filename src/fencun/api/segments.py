"""Saved segments through the API: named audience filters in the segment language, with
their live counts, as on the console's segments page (``fencun.campaigns.segments``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from fencun.api.auth import no_account, token_account
from fencun.api.schemas import AppId, ErrorOut, LongText, Text100
from fencun.audience.models import Segment
from fencun.campaigns import segments as service

router = Router(tags=["segments"])


class SegmentOut(Schema):
    id: int
    name: str
    text: str = Field(description="the filter, in the segment language")
    matched: int | None = Field(description="subscribed followers it selects now; null when it no longer parses")
    subscribed: int | None = Field(description="all subscribed followers of the account")
    error: str | None = Field(description="why the filter no longer counts (e.g. a category since deleted)")
    created_at: datetime
    updated_at: datetime


class SegmentIn(Schema):
    account: AppId | None = Field(None, description="the account (AppID); default: the token's only account")
    name: Text100
    text: LongText = Field(description="the filter, e.g. `interest:沙发 and distance<30km`")


class SegmentPatch(Schema):
    """Only the fields given change."""

    name: Text100 | None = None
    text: LongText | None = None


class CountOut(Schema):
    matched: int = Field(description="subscribed followers the filter selects now")
    subscribed: int = Field(description="all subscribed followers of the account")


def _scoped(request: HttpRequest) -> QuerySet[Segment]:
    token = request.auth  # type: ignore[attr-defined]
    return Segment.objects.filter(account__in=token.accounts.all()).select_related("account")


def _missing() -> dict[str, str]:
    return {"detail": _("No such segment for this token.")}


def _out(segment: Segment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": segment.pk, "name": segment.name, "text": segment.text,
        "created_at": segment.created_at, "updated_at": segment.updated_at,
        "matched": None, "subscribed": None, "error": None,
    }
    try:
        count = service.count(segment.account, segment.text)
    except service.SegmentInputError as exc:
        out["error"] = str(exc)
    else:
        out.update(matched=count.matched, subscribed=count.subscribed)
    return out


@router.get("/segments", response={200: list[SegmentOut], 404: ErrorOut}, summary="The account's saved segments, with counts")
def list_segments(request: HttpRequest, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    return Status(200, [_out(s) for s in service.segments_of(acct).select_related("account")[:500]])


@router.post(
    "/segments", response={201: SegmentOut, 400: ErrorOut, 404: ErrorOut}, summary="Save a named segment"
)
def post_segment(request: HttpRequest, body: SegmentIn):
    acct = token_account(request, body.account)
    if acct is None:
        return Status(404, no_account())
    try:
        segment = service.save(acct, body.name, body.text)
    except service.SegmentInputError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(201, _out(segment))


@router.get(
    "/segments/count",
    response={200: CountOut, 400: ErrorOut, 404: ErrorOut},
    summary="Preview: how many subscribed followers a filter selects now, before saving it",
)
def count_segment(
    request: HttpRequest,
    text: str = Query(..., max_length=100_000, description="the filter, in the segment language"),
    account: AppId | None = None,
):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    try:
        count = service.count(acct, text)
    except service.SegmentInputError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(200, {"matched": count.matched, "subscribed": count.subscribed})


@router.get("/segments/{segment_id}", response={200: SegmentOut, 404: ErrorOut}, summary="One saved segment, with its count")
def get_segment(request: HttpRequest, segment_id: int):
    segment = _scoped(request).filter(pk=segment_id).first()
    if segment is None:
        return Status(404, _missing())
    return Status(200, _out(segment))


@router.patch(
    "/segments/{segment_id}",
    response={200: SegmentOut, 400: ErrorOut, 404: ErrorOut},
    summary="Rename a saved segment or change its filter",
)
def patch_segment(request: HttpRequest, segment_id: int, body: SegmentPatch):
    segment = _scoped(request).filter(pk=segment_id).first()
    if segment is None:
        return Status(404, _missing())
    try:
        service.update(segment, name=body.name, text=body.text)
    except service.SegmentInputError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(200, _out(segment))


@router.delete("/segments/{segment_id}", response={204: None, 404: ErrorOut}, summary="Delete a saved segment")
def delete_segment(request: HttpRequest, segment_id: int):
    segment = _scoped(request).filter(pk=segment_id).first()
    if segment is None:
        return Status(404, _missing())
    service.delete(segment)
    return Status(204, None)
