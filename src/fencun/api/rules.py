"""``GET`` and ``PATCH /api/rules``: the merchant's rules of one account, as on the console."""

from __future__ import annotations

from typing import Any, TypedDict

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from fencun.api.auth import no_account, token_account
from fencun.api.schemas import AppId, ErrorOut
from fencun.campaigns.models import Rules
from fencun.campaigns.services import HHMM, RULE_FIELDS, RulesError, rules_for, update_rules
from fencun.engine.rules import MAX_CONTROL_FRACTION

router = Router(tags=["rules"])

_HHMM = f"^{HHMM}$"


class _Bounds(TypedDict, total=False):
    ge: float
    le: float


def _bounds(name: str) -> _Bounds:
    """``ge``/``le`` of a rule from the model's validators: the document says what is checked."""
    out: _Bounds = {}
    field = Rules._meta.get_field(name)
    assert isinstance(field, models.Field)  # a rule is a column of Rules, not a relation
    for v in field.validators:
        if isinstance(v, MinValueValidator):
            out["ge"] = float(v.limit_value)
        elif isinstance(v, MaxValueValidator):
            out["le"] = float(v.limit_value)
    return out


def _optional_rule(name: str, description: str | None = None) -> Any:
    """The field of an optional rule in a request, bounded as the model bounds it."""
    if description is None:
        return Field(None, **_bounds(name))
    return Field(None, description=description, **_bounds(name))


class RulesOut(Schema):
    quiet_start: str = Field(description="quiet hours start, HH:MM Asia/Shanghai")
    quiet_end: str = Field(description="quiet hours end, HH:MM Asia/Shanghai")
    weekly_cap: int = Field(description="pushes per follower per rolling 7 days")
    category_cooldown_days: float = Field(description="no second push of one category within this, days")
    min_gap_hours: float = Field(description="between any two pushes to one follower, hours")
    holdout_fraction: float = Field(description="share of each campaign's chosen recipients kept back to measure it")
    control_fraction: float = Field(
        description="share of all followers in the long-run control group: never sent marketing, "
        "so the long-run lift can be measured"
    )
    follower_value_yuan: float | None = Field(
        description="the dial: what keeping one follower is worth, yuan; null lets the engine learn it"
    )


class RulesIn(Schema):
    """Only the rules given change; ``follower_value_yuan: null`` lets the engine learn it."""

    quiet_start: str | None = Field(None, pattern=_HHMM)
    quiet_end: str | None = Field(None, pattern=_HHMM)
    weekly_cap: int | None = Field(None, ge=0, le=32767)
    category_cooldown_days: float | None = _optional_rule("category_cooldown_days")
    min_gap_hours: float | None = _optional_rule("min_gap_hours")
    holdout_fraction: float | None = _optional_rule("holdout_fraction")
    control_fraction: float | None = _optional_rule(
        "control_fraction",
        description=f"0 to {MAX_CONTROL_FRACTION}; followers in it never get marketing pushes",
    )
    follower_value_yuan: float | None = _optional_rule("follower_value_yuan")


class RulesErrorOut(Schema):
    """Values the rules refuse, by field (the model's and the engine's checks)."""

    detail: str
    errors: dict[str, list[str]]


class SchemaErrorOut(Schema):
    """The body does not match ``RulesIn`` (a type, a range or a pattern): each problem's
    ``loc`` names the field, ``msg`` says why."""

    detail: list[dict]


def _out(rules: Rules) -> dict:
    return {name: getattr(rules, name) for name in RULE_FIELDS}


@router.get("/rules", response={200: RulesOut, 404: ErrorOut}, summary="The account's rules")
def get_rules(request: HttpRequest, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    return Status(200, _out(rules_for(acct)))


@router.patch(
    "/rules",
    response={200: RulesOut, 400: RulesErrorOut, 404: ErrorOut, 422: SchemaErrorOut},
    summary="Change some of the account's rules; all or nothing",
)
def patch_rules(request: HttpRequest, body: RulesIn, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name != "follower_value_yuan":
            return Status(400, {"detail": "invalid rules", "errors": {name: ["must not be null"]}})
    try:
        rules = update_rules(acct, **changes)
    except RulesError as exc:
        return Status(400, {"detail": "invalid rules", "errors": exc.errors})
    return Status(200, _out(rules))
