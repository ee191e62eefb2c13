"""``GET /api/campaigns/{id}/delivery``: how a campaign's delivery stands, and why rows
failed, ended of unknown outcome or wait (the console's campaign page, as JSON)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from fencun.api.schemas import ErrorOut
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.services import delivery_counts, delivery_reasons

router = Router(tags=["campaigns"])


class ReasonOut(Schema):
    status: str = Field(description="failed | unknown | pending (waiting rows)")
    code: str = Field(description="the reason's code, stable across languages")
    label: str = Field(description="the reason in the request's language (Accept-Language; 简体中文 by default)")
    rows: int
    recipients: int
    example: str = Field(description="one row's detail, in the platform's own words")


class DeliveryOut(Schema):
    campaign: int
    status: str
    rows: dict[str, int] = Field(description="outbox rows by status: pending, claimed, sent, failed, unknown, held")
    recipients_sent: int
    recipients_failed: int
    recipients_unknown: int = Field(
        description="recipients the platform may or may not have reached: the answer to their send was lost and "
        "the platform cannot be asked; never sent again"
    )
    reasons: list[ReasonOut]


@router.get(
    "/campaigns/{campaign_id}/delivery",
    response={200: DeliveryOut, 404: ErrorOut},
    summary="A campaign's delivery: recipients sent, failed and of unknown outcome, with the reasons",
)
def get_delivery(request: HttpRequest, campaign_id: int):
    token = request.auth  # type: ignore[attr-defined]
    campaign = Campaign.objects.filter(pk=campaign_id, account__in=token.accounts.all()).first()
    if campaign is None:
        # Another account's campaign answers as one that does not exist.
        return Status(404, {"detail": _("No such campaign for this token.")})
    counts = delivery_counts(campaign)
    return Status(200, {
        "campaign": campaign.pk,
        "status": campaign.status,
        "rows": {s.value: counts[s.value] for s in OutboxItem.Status},
        "recipients_sent": counts["recipients_sent"],
        "recipients_failed": counts["recipients_failed"],
        "recipients_unknown": counts["recipients_unknown"],
        "reasons": [vars(g) for g in delivery_reasons(campaign)],
    })
