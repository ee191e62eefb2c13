"""The audit trail through the API: one campaign's history, and the account's trail for
export (who created, changed, approved, sent or erased what, and when)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from fencun.accounts import audit
from fencun.accounts.models import AuditEntry
from fencun.api.auth import no_account, token_account
from fencun.api.campaigns import _campaign, _missing
from fencun.api.schemas import AppId, ErrorOut

router = Router(tags=["audit"])
EXPORT_MAX = 10_000


class AuditOut(Schema):
    id: int
    at: datetime
    actor: str = Field(description="user:NAME (console), api:TOKEN NAME, cli or system")
    action: str = Field(description="e.g. campaign.approved, menu.published, follower.erased")
    target_type: str
    target_id: str
    detail: dict[str, Any] = Field(description="what the action was about: an approval carries the plan's reach and hold-backs by reason")


def _out(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk, "at": entry.at, "actor": entry.actor, "action": entry.action,
        "target_type": entry.target_type, "target_id": entry.target_id, "detail": entry.detail,
    }


@router.get("/campaigns/{campaign_id}/audit", response={200: list[AuditOut], 404: ErrorOut}, summary="One campaign's history: who created, changed, approved, cancelled and sent it")
def campaign_audit(request: HttpRequest, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    return Status(200, [_out(e) for e in audit.trail(campaign.account, campaign)])


@router.get("/audit", response={200: list[AuditOut], 404: ErrorOut}, summary="The account's audit trail, oldest first (for export)")
def account_audit(
    request: HttpRequest,
    account: AppId | None = None,
    after: int = Query(0, ge=0, description="entries after this id (paging)"),
    limit: int = Query(1000, ge=1, le=EXPORT_MAX),
):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    rows = audit.trail(acct).filter(pk__gt=after)[:limit]
    return Status(200, [_out(e) for e in rows])
