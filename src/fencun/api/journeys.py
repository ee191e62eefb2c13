"""Journeys through the API: create, change, start, pause and resume a triggered
follow-up, and read who is where in it.

Each endpoint calls the one domain function for its step (``fencun.campaigns.journeys``);
a refusal is a 400 whose ``detail`` says why in the caller's language, and changes
nothing. Tokens reach only their accounts' journeys, as with campaigns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from fencun import inputs
from fencun.api.auth import no_account, token_account
from fencun.api.schemas import AppId, ErrorOut, LongText, Text20, Text64, Text200
from fencun.campaigns import journeys
from fencun.campaigns.models import Journey

router = Router(tags=["journeys"])


class TriggerIn(Schema):
    kind: Text20 = Field(description="subscribe | order | keyword | location | inactive | link_click")
    scene: Text64 | None = Field(None, description="subscribe: the QR scene's value (with or without qrscene_); "
                                 "none: any subscribe")
    keyword: Text64 | None = Field(None, description="keyword: the text a message holds")
    km: float | None = Field(None, gt=0, le=1000, description="location: within this distance of a store")
    days: float | None = Field(None, ge=1, le=365, description="inactive: no interaction for this many days")


class SendIn(Schema):
    title: Text64 = ""
    body: LongText = Field("", description="the text message sent (default: the title)")
    category: Text64 = Field(description="a category's key in the account")
    products: list[Text64] = Field(default_factory=list, max_length=100, description="SKUs of the account")


class StepIn(Schema):
    """A send (the engine decides, follower by follower) or a wait."""

    send: SendIn | None = None
    wait_days: float | None = Field(None, gt=0, le=365)


class ExitIn(Schema):
    on_order: bool = Field(True, description="leave on an order after entering (the goal)")


class DefinitionIn(Schema):
    trigger: TriggerIn
    steps: list[StepIn] = Field(min_length=1, max_length=20)
    exit: ExitIn | None = Field(None, description="when a follower leaves before the last step; default: on an order")


class JourneyIn(Schema):
    account: AppId | None = Field(None, description="the account (AppID); default: the token's only account")
    name: Text200
    definition: DefinitionIn


class JourneyPatch(Schema):
    """Only the fields given change. A new definition applies to new entrants; followers
    inside keep their place only where their step is unchanged, else they leave unsent."""

    name: Text200 | None = None
    definition: DefinitionIn | None = None


class CountsOut(Schema):
    entered: int = Field(description="followers who entered (each once)")
    inside: int = Field(description="followers still in it")
    converted: int = Field(description="left on an order: the goal")
    unfollowed: int
    finished: int = Field(description="left after the last step")
    edited_out: int = Field(description="left because an edit removed or changed their step")


class StepOut(Schema):
    step: int = Field(description="the step's index in the definition")
    kind: str = Field(description="send | wait")
    waiting: int = Field(description="followers at this step now")
    sent: int = Field(description="followers it was sent to")
    held_back: int = Field(description="followers the engine held back from it (they skipped it)")


class JourneyOut(Schema):
    id: int
    name: str
    status: str = Field(description="draft → live ⇄ paused")
    version: int = Field(description="goes up with each change of the definition")
    definition: dict[str, Any] = Field(description="trigger, steps (products with their prices), exit")
    counts: CountsOut
    steps: list[StepOut]
    created_at: datetime
    updated_at: datetime


def _scoped(request: HttpRequest) -> QuerySet[Journey]:
    token = request.auth  # type: ignore[attr-defined]
    return Journey.objects.filter(account__in=token.accounts.all())


def _journey(request: HttpRequest, journey_id: int) -> Journey | None:
    """The journey if the token reaches its account; another account's is None, as a
    missing one is (404 either way)."""
    return _scoped(request).select_related("account").filter(pk=journey_id).first()


def _missing() -> dict[str, str]:
    return {"detail": _("No such journey for this token.")}


def _definition(body: DefinitionIn) -> dict[str, Any]:
    return body.model_dump(exclude_none=True)


def _out(j: Journey) -> dict[str, Any]:
    return {
        "id": j.pk, "name": j.name, "status": j.status, "version": j.version, "definition": j.definition,
        "counts": journeys.counts(j), "steps": journeys.step_counts(j),
        "created_at": j.created_at, "updated_at": j.updated_at,
    }


def _act(request: HttpRequest, journey_id: int, action: Callable[[Journey], object]) -> Status:
    journey = _journey(request, journey_id)
    if journey is None:
        return Status(404, _missing())
    try:
        action(journey)
    except ValueError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(200, _out(journey))


@router.get("/journeys", response={200: list[JourneyOut], 404: ErrorOut}, summary="The account's journeys, newest first")
def list_journeys(
    request: HttpRequest,
    account: AppId | None = None,
    offset: int = Query(0, ge=0, le=inputs.MAX_OFFSET),
    limit: int = Query(100, ge=1, le=500),
):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    rows = Journey.objects.filter(account=acct).order_by("-created_at", "-pk")[offset : offset + limit]
    return Status(200, [_out(j) for j in rows])


@router.post(
    "/journeys",
    response={201: JourneyOut, 400: ErrorOut, 404: ErrorOut},
    summary="Create a draft journey: a trigger, send and wait steps, an exit",
)
def post_journey(request: HttpRequest, body: JourneyIn):
    acct = token_account(request, body.account)
    if acct is None:
        return Status(404, no_account())
    try:
        journey = journeys.create_journey(acct, name=body.name, definition=_definition(body.definition))
    except ValueError as exc:
        return Status(400, {"detail": str(exc)})
    return Status(201, _out(journey))


@router.get(
    "/journeys/{journey_id}",
    response={200: JourneyOut, 404: ErrorOut},
    summary="One journey: who entered, who is at each step, sent, held back, converted",
)
def get_journey(request: HttpRequest, journey_id: int):
    journey = _journey(request, journey_id)
    if journey is None:
        return Status(404, _missing())
    return Status(200, _out(journey))


@router.patch(
    "/journeys/{journey_id}",
    response={200: JourneyOut, 400: ErrorOut, 404: ErrorOut},
    summary="Change a journey's name or definition (a live one too: see the rules)",
)
def patch_journey(request: HttpRequest, journey_id: int, body: JourneyPatch):
    changes = body.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        return Status(400, {"detail": _("name and definition must not be null")})
    definition = _definition(body.definition) if body.definition is not None else None
    return _act(request, journey_id, lambda j: journeys.update_journey(j, name=body.name, definition=definition))


@router.post(
    "/journeys/{journey_id}/start",
    response={200: JourneyOut, 400: ErrorOut, 404: ErrorOut},
    summary="Go live: followers whose events fire the trigger from now on enter",
)
def post_start(request: HttpRequest, journey_id: int):
    return _act(request, journey_id, journeys.start)


@router.post(
    "/journeys/{journey_id}/pause",
    response={200: JourneyOut, 400: ErrorOut, 404: ErrorOut},
    summary="Pause: nobody enters, nothing is sent; who is inside stays",
)
def post_pause(request: HttpRequest, journey_id: int):
    return _act(request, journey_id, journeys.pause)


@router.post(
    "/journeys/{journey_id}/resume",
    response={200: JourneyOut, 400: ErrorOut, 404: ErrorOut},
    summary="Live again: due steps go out; events of the pause enter nobody",
)
def post_resume(request: HttpRequest, journey_id: int):
    return _act(request, journey_id, journeys.resume)
