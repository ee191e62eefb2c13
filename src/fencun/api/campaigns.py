"""Campaigns through the API: the console's wizard as JSON.

Create a draft (the content lint's findings come back at once), change it while it is
not yet approved, lint it, make the dry-run plan, approve that plan with a send time,
cancel, and read the results and the delivery. Each endpoint calls the one domain
function the console calls for the same step (``fencun.campaigns.services`` and
``fencun.campaigns.planning``); a refusal is a 400 whose ``detail`` says why, in the
caller's language where the domain has the words, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from fencun import inputs
from fencun.accounts.models import Account
from fencun.api.auth import no_account, token_account
from fencun.api.schemas import AppId, ErrorOut, LongText, Text20, Text64, Text200
from fencun.campaigns import plan_words, planning
from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot
from fencun.campaigns.preview import preview
from fencun.campaigns.services import (
    archive_campaign,
    campaigns_of,
    cancel,
    check_send_at,
    create_campaign,
    delete_campaign,
    delivery_counts,
    delivery_reasons,
    lint_campaign,
    lint_text,
    pause,
    publication_offer,
    publish_copy,
    resume,
    unarchive_campaign,
    update_campaign,
)
from fencun.catalog.models import Category, Product
from fencun.insights.article_stats import campaign_article_stats
from fencun.insights.report_words import report_words
from fencun.insights.services import campaign_report

router = Router(tags=["campaigns"])


Channel = Annotated[
    Text20, Field(description="mass | customer_service | wecom | publish (an article on the account's page, pushed to nobody)")
]


class FindingOut(Schema):
    code: str = Field(description="the lint rule, stable across languages")
    severity: str = Field(description="error (blocks the campaign) | warning (needs acknowledging) | info")
    field: str = Field(description="title or body")
    span: list[int] = Field(description="[start, end) in characters of the field's text")
    message: str = Field(description="in the request's language (Accept-Language; 简体中文 by default)")
    fix: str = Field(description="how to fix it, in the request's language")


class HeldBackOut(Schema):
    reason: str = Field(description="the engine's reason code, stable across languages")
    label: str = Field(description="the reason in the request's language")
    followers: int


class PlanOut(Schema):
    """A dry run: what the engine would send now, beside sending to everyone."""

    id: int = Field(description="name it in `approve` to approve exactly this plan")
    created_at: datetime
    planned_for: datetime = Field(description="the send time the plan was made for")
    warnings: list[str] = Field(
        description="what that send time costs, in sentences: quiet hours, and followers held back by the caps "
        "and the 48-hour window"
    )
    audience: int = Field(description="followers the campaign's segment selects")
    reach: int = Field(description="followers the plan sends to")
    held_back: list[HeldBackOut] = Field(description="followers held back, by reason, most first")
    predicted: dict[str, Any] = Field(
        description="this plan's predicted figures: reach, orders, revenue (yuan) and unfollows, each the "
        "uplift against not sending, with `<key>_ci` [low, high] 95 % intervals"
    )
    send_to_all: dict[str, Any] = Field(description="the same figures if the whole segment were sent to")
    dial: list[dict[str, Any]] = Field(
        description="the plan at other values of a kept follower (follower_value_yuan): reach and predictions; "
        "`current` marks the rules' value"
    )
    delivery_method: str = Field(description="openid_list | tag | customer_service | wecom_mass | none")
    delivery: str = Field(description="how the plan goes out and what that costs on the platform, in words")
    follower_value_yuan: float = Field(description="what keeping one follower is worth in this plan, yuan")
    approved_at: datetime | None = Field(description="when this plan was approved; null if it was not")


class CampaignOut(Schema):
    id: int
    name: str
    status: str = Field(
        description="draft → linted → planned → scheduled → sending → done; approved, paused, cancelled"
    )
    category: str = Field(description="the category's key")
    segment: str = Field(description="the audience in the segment language; empty: every follower")
    channel: str
    message_type: str
    title: str
    body: str
    products: list[str] = Field(description="SKUs")
    urgent: bool
    ai_generated: bool = Field(description="the content was made by AI (the lint asks for its label)")
    deadline: datetime | None
    title_variants: list[str] = Field(description="A/B test: the other titles")
    variant_split: float = Field(description="A/B test: the share of the audience in the test (0-1)")
    winner_rule: str
    pause_reason: str
    approved_by: str
    approved_at: datetime | None
    scheduled_for: datetime | None
    archived_at: datetime | None = Field(description="when it was archived; null: in the list")
    publish_offer: int = Field(
        description="followers the latest plan held back because a push would cost them more than it adds, "
        "when the campaign is a mass-sent article: publishing it too (POST …/publication) reaches them at no "
        "cost in attention; 0 otherwise"
    )
    created_at: datetime
    updated_at: datetime
    plan: PlanOut | None = Field(description="the latest dry run; null before the first")


class CampaignIn(Schema):
    account: AppId | None = Field(None, description="the account (AppID); default: the token's only account")
    name: Text200
    category: Text64 = Field(description="a category's key in the account")
    segment: LongText = Field("", description="the audience in the segment language; empty: every follower")
    channel: Channel = "mass"
    message_type: Text20 = Field("text", description="text | news | image | template")
    title: Text64 = ""
    body: LongText = ""
    products: list[Text64] = Field(default_factory=list, max_length=100, description="SKUs of the account")
    urgent: bool = False
    ai_generated: bool = Field(False, description="the content was made by AI: the lint then asks for its label")
    deadline: datetime | None = None
    title_variants: list[Text64] = Field(default_factory=list, max_length=4, description="A/B test: other titles")
    variant_split: float = Field(0.0, ge=0, le=1, description="A/B test: the share of the audience in the test")
    winner_rule: Text20 = Field("read_rate", description="read_rate | click_rate | order_rate")


class CampaignPatch(Schema):
    """Only the fields given change; the campaign goes back to draft (lint and plan again)."""

    name: Text200 | None = None
    category: Text64 | None = Field(None, description="a category's key in the account")
    segment: LongText | None = None
    channel: Channel | None = None
    message_type: Text20 | None = None
    title: Text64 | None = None
    body: LongText | None = None
    products: list[Text64] | None = Field(None, max_length=100, description="SKUs of the account")
    urgent: bool | None = None
    ai_generated: bool | None = None
    deadline: datetime | None = None
    title_variants: list[Text64] | None = Field(None, max_length=4)
    variant_split: float | None = Field(None, ge=0, le=1)
    winner_rule: Text20 | None = None


class CreatedOut(Schema):
    campaign: CampaignOut
    findings: list[FindingOut] = Field(description="the content lint of the draft as written")


class LintIn(Schema):
    acknowledge_warnings: bool = Field(False, description="go on despite warnings (errors always block)")


class LintOut(Schema):
    campaign: CampaignOut = Field(description="linted when nothing blocks it, else still a draft")
    findings: list[FindingOut]


class ApproveIn(Schema):
    plan: int | None = Field(None, ge=1, le=2**63 - 1, description="the dry run approved; default: the latest")
    send_at: datetime | None = Field(
        None,
        description="when to send (ISO 8601; without an offset: Asia/Shanghai); default: the time the plan "
        "was made for (now if that has passed); not in the past",
    )
    quiet_hours_ok: bool = Field(False, description="send even though send_at falls in the quiet hours")


class ApprovedOut(Schema):
    campaign: CampaignOut
    outbox_rows: int = Field(description="outbox rows written: one per recipient batch")


class PreviewIn(Schema):
    openid: Text64 = Field(description="a follower of the account, e.g. the operator's own OpenID")


class PreviewOut(Schema):
    msg_id: int | None = Field(description="the platform's id of the preview message")


class ArmOut(Schema):
    arm: str = Field(description="A, B… (a title variant), rest:X, or holdout")
    members: int
    read: int
    clicked: int
    converters: int
    orders: int
    revenue: float = Field(description="yuan")
    unfollowed: int
    read_rate: float
    click_rate: float
    conversion_rate: float
    conversion_ci: list[float] = Field(description="Wilson 95 % interval")
    revenue_per_follower: float = Field(description="yuan")


class ArticleStatsDayOut(Schema):
    day: date
    read_users: int = Field(description="readers WeChat counted that day (int_page_read_user)")
    reads: int = Field(description="article page reads WeChat counted that day")
    shares: int
    favourites: int
    tracked_reads: int = Field(description="opens of the campaign's tracked article page that day")
    tracked_clicks: int = Field(description="clicks on the campaign's tracked links that day")
    orders: int = Field(description="orders attributed to the campaign that day")
    revenue: float = Field(description="yuan")


class ArticleStatsOut(Schema):
    """The campaign's articles as WeChat's analytics counted them (read back daily, up to
    yesterday), beside fencun's own tracked reads, clicks and orders."""

    reported: bool = Field(description="whether WeChat has reported on the articles yet")
    sends: list[int] = Field(description="msg_data_id of each mass send of the campaign's articles")
    articles: list[str] = Field(description="the platform's msgids reported: {msg_data_id}_{index}")
    recipients: int | None = Field(description="followers WeChat delivered the articles to (target_user)")
    read_users: int | None = Field(description="readers, each once, over the week after each send")
    read_rate: float | None = Field(description="read_users / recipients")
    reads: int
    share_users: int | None
    shares: int
    favourites: int
    tracked_reads: int
    tracked_clicks: int
    orders: int
    revenue: float = Field(description="yuan, orders attributed to the campaign")
    days: list[ArticleStatsDayOut]
    synced_through: date | None = Field(description="the last day the account's figures were read for")
    synced_at: datetime | None


class LiftOut(Schema):
    """Recipients minus holdout, with 95 % intervals."""

    conversion: float
    conversion_ci: list[float]
    revenue_per_follower: float = Field(description="yuan")
    revenue_per_follower_ci: list[float]
    unfollow_rate: float
    unfollow_rate_ci: list[float]
    incremental_revenue: float = Field(description="what the campaign added, yuan")
    incremental_revenue_ci: list[float] = Field(description="its 95 % interval, yuan")
    unfollows_caused: float = Field(description="followers the push cost: the unfollow rate's lift times those sent")
    unfollows_caused_ci: list[float] = Field(description="its 95 % interval")


class RestraintOut(Schema):
    """What holding back was predicted to spare, by the approved plan's estimates."""

    left_out: int = Field(description="followers of the audience not sent (held back or the holdout)")
    unfollows_spared: float = Field(description="predicted unfollows, had they been sent too")
    revenue_given_up: float = Field(description="predicted incremental revenue they would have added, yuan (< 0: lost)")


class ResultsOut(Schema):
    """The campaign's report, as the console shows it."""

    campaign: int
    status: str
    sent: int = Field(description="recipients sent to")
    delivered: int | None = Field(description="from the platform's receipts; null when none arrived")
    read: int
    clicked: int
    ordered: int
    revenue: float = Field(description="yuan, within the attribution window")
    unfollowed: int
    holdout: int = Field(description="followers kept back to measure the lift")
    unknown: int = Field(description="recipients of unknown outcome (their send's answer was lost)")
    held_back: dict[str, int] = Field(description="followers held back by the engine's reason")
    window_days: float = Field(description="the attribution window, days")
    lift: LiftOut | None = Field(description="null without a holdout")
    restraint: RestraintOut | None = Field(description="null until a plan is approved")
    words: dict[str, str] = Field(
        description="the report in a merchant's words, in the request's language, as the console says it: "
        "headline, earned, cost (or no_holdout) and restraint"
    )
    arms: list[ArmOut]
    variants: list[ArmOut] = Field(description="the A/B test's arms, best conversion first")
    winner: str
    winner_rule: str
    method: str
    platform: ArticleStatsOut | None = Field(
        None, description="WeChat's own figures of the campaign's articles; null for a campaign that mass sent none"
    )


def _scoped(request: HttpRequest) -> QuerySet[Campaign]:
    token = request.auth  # type: ignore[attr-defined]
    return Campaign.objects.filter(account__in=token.accounts.all())


def _campaign(request: HttpRequest, campaign_id: int) -> Campaign | None:
    """The campaign if the token reaches its account; another account's is None, as a
    missing one is (the caller answers 404 either way)."""
    return _scoped(request).select_related("account", "category").filter(pk=campaign_id).first()


def _missing() -> dict[str, str]:
    return {"detail": _("No such campaign for this token.")}


def _refused(exc: Exception) -> Status:
    return Status(400, {"detail": str(exc)})


def _finding(f: Any) -> dict[str, Any]:
    zh = (get_language() or "zh-hans").startswith("zh")
    return {
        "code": f.code, "severity": str(f.severity.value), "field": f.field, "span": list(f.span),
        "message": f.message_zh if zh else f.message_en, "fix": f.fix_zh if zh else f.fix_en,
    }


def _plan(plan: PlanSnapshot) -> dict[str, Any]:
    held = sorted(plan.held_back.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "id": plan.pk, "created_at": plan.created_at, "planned_for": plan.planned_for,
        "audience": plan.audience, "reach": plan.reach,
        "held_back": [
            {"reason": code, "label": str(plan_words.HOLD_BACK_LABELS.get(code, code)), "followers": n}
            for code, n in held
        ],
        "predicted": plan.predicted, "send_to_all": plan.send_to_all, "dial": plan.dial_effect,
        "delivery_method": plan.delivery_method,
        "delivery": plan_words.delivery_words(plan.delivery_method, plan.campaign.account.account_type, plan.reach),
        "follower_value_yuan": plan.follower_value_yuan,
        "approved_at": plan.approved_at,
        "warnings": planning.plan_warnings(plan),
    }


def _out(c: Campaign) -> dict[str, Any]:
    plan = PlanSnapshot.objects.filter(campaign=c).order_by("-created_at", "-pk").first()
    return {
        "id": c.pk, "name": c.name, "status": c.status, "category": c.category.key, "segment": c.segment,
        "channel": c.channel, "message_type": c.message_type, "title": c.title, "body": c.body,
        "products": list(c.products.order_by("sku").values_list("sku", flat=True)),
        "urgent": c.urgent, "ai_generated": c.ai_generated, "deadline": c.deadline, "title_variants": list(c.title_variants or []),
        "variant_split": c.variant_split, "winner_rule": c.winner_rule, "pause_reason": c.pause_reason,
        "approved_by": c.approved_by, "approved_at": c.approved_at, "scheduled_for": c.scheduled_for,
        "archived_at": c.archived_at, "publish_offer": publication_offer(c), "created_at": c.created_at, "updated_at": c.updated_at,
        "plan": _plan(plan) if plan is not None else None,
    }


def _act(request: HttpRequest, campaign_id: int, action: Callable[[Campaign], object]) -> Status:
    """One step of a campaign's lifecycle: the campaign as it is after it, 404 for one the
    token cannot reach, 400 with the reason for a refusal (nothing changed)."""
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    try:
        action(campaign)
    except ValueError as exc:
        return _refused(exc)
    return Status(200, _out(campaign))


def _aware(at: datetime | None) -> datetime | None:
    """A time without an offset is Asia/Shanghai's, as the console's fields are."""
    return timezone.make_aware(at) if at is not None and timezone.is_naive(at) else at


def _references(account: Account, fields: dict[str, Any]) -> dict[str, Any]:
    """The body's category key and product SKUs as the account's rows; ``ValueError``
    naming the first that the account does not have."""
    out = dict(fields)
    if "category" in out:
        category = Category.objects.filter(account=account, key=out["category"]).first()
        if category is None:
            raise ValueError(_("No category %(key)s in this account.") % {"key": out["category"]})
        out["category"] = category
    if out.get("products") is not None:
        skus = list(dict.fromkeys(out["products"]))
        found = {p.sku: p for p in Product.objects.filter(account=account, sku__in=skus)}
        missing = [s for s in skus if s not in found]
        if missing:
            raise ValueError(_("No product %(sku)s in this account.") % {"sku": missing[0]})
        out["products"] = [found[s] for s in skus]
    if "deadline" in out:
        out["deadline"] = _aware(out["deadline"])
    return out


@router.get(
    "/campaigns", response={200: list[CampaignOut], 404: ErrorOut}, summary="The account's campaigns, newest first"
)
def list_campaigns(
    request: HttpRequest,
    account: AppId | None = None,
    status: Annotated[str, StringConstraints(max_length=20)] | None = Query(None, description="only this status"),
    archived: bool = Query(False, description="the archived campaigns instead of the others"),
    offset: int = Query(0, ge=0, le=inputs.MAX_OFFSET),
    limit: int = Query(100, ge=1, le=500),
):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    rows = campaigns_of(acct, [status] if status else None, archived=archived).select_related("category")
    return Status(200, [_out(c) for c in rows[offset : offset + limit]])


@router.post(
    "/campaigns",
    response={201: CreatedOut, 400: ErrorOut, 404: ErrorOut},
    summary="Create a draft campaign; the content lint's findings come back with it",
)
def post_campaign(request: HttpRequest, body: CampaignIn):
    acct = token_account(request, body.account)
    if acct is None:
        return Status(404, no_account())
    fields = body.model_dump(exclude={"account"})
    try:
        fields = _references(acct, fields)
        campaign = create_campaign(acct, **fields)
    except ValueError as exc:  # CampaignError, or a SegmentError at the bad token
        return _refused(exc)
    return _created(campaign)


def _created(campaign: Campaign) -> Status:
    """201: a new draft, with the content lint's findings on it as written."""
    findings = lint_text(
        campaign.account, campaign.message_type, campaign.title, campaign.body,
        ai_generated=campaign.ai_generated, skus=list(campaign.products.values_list("sku", flat=True)),
    )
    return Status(201, {"campaign": _out(campaign), "findings": [_finding(f) for f in findings]})


@router.get("/campaigns/{campaign_id}", response={200: CampaignOut, 404: ErrorOut}, summary="One campaign, with its latest plan")
def get_campaign(request: HttpRequest, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    return Status(200, _out(campaign))


@router.patch(
    "/campaigns/{campaign_id}",
    response={200: CampaignOut, 400: ErrorOut, 404: ErrorOut},
    summary="Change a campaign not yet approved; it goes back to draft",
)
def patch_campaign(request: HttpRequest, campaign_id: int, body: CampaignPatch):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    changes = body.model_dump(exclude_unset=True)
    nullable = {"deadline"}
    for name, value in changes.items():
        if value is None and name not in nullable:
            return Status(400, {"detail": _("%(name)s must not be null") % {"name": name}})
    try:
        update_campaign(campaign, **_references(campaign.account, changes))
    except ValueError as exc:
        return _refused(exc)
    return Status(200, _out(campaign))


@router.post(
    "/campaigns/{campaign_id}/lint",
    response={200: LintOut, 400: ErrorOut, 404: ErrorOut},
    summary="Run the content lint: a draft without errors (and with warnings acknowledged) becomes linted",
)
def post_lint(request: HttpRequest, campaign_id: int, body: LintIn):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    try:
        findings = lint_campaign(campaign, acknowledge_warnings=body.acknowledge_warnings)
    except ValueError as exc:
        return _refused(exc)
    campaign.refresh_from_db()
    return Status(200, {"campaign": _out(campaign), "findings": [_finding(f) for f in findings]})


PLAN_SEND_AT = Query(None, description="the send time to plan for (ISO 8601; without an offset: Asia/Shanghai); default now")


@router.post(
    "/campaigns/{campaign_id}/plan",
    response={200: PlanOut, 400: ErrorOut, 404: ErrorOut},
    summary="The dry run: reach, hold-backs by reason and predicted figures beside send-to-all",
)
def post_plan(
    request: HttpRequest,
    campaign_id: int,
    send_at: datetime | None = PLAN_SEND_AT,
):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    try:
        at = _aware(send_at)
        plan = planning.dry_run(campaign, check_send_at(at) if at is not None else None)
    except ValueError as exc:
        return _refused(exc)
    return Status(200, _plan(plan))


@router.post(
    "/campaigns/{campaign_id}/approve",
    response={200: ApprovedOut, 400: ErrorOut, 404: ErrorOut},
    summary="Approve a dry run and schedule the campaign (now, or at send_at): its outbox is written",
)
def post_approve(request: HttpRequest, campaign_id: int, body: ApproveIn):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    token = request.auth  # type: ignore[attr-defined]
    try:
        rows = planning.approve_plan(campaign, by=f"api:{token.name}", plan_id=body.plan,
                                     at=_aware(body.send_at), quiet_hours_ok=body.quiet_hours_ok)
    except ValueError as exc:
        return _refused(exc)
    return Status(200, {"campaign": _out(campaign), "outbox_rows": rows})


@router.post(
    "/campaigns/{campaign_id}/preview",
    response={200: PreviewOut, 400: ErrorOut, 404: ErrorOut},
    summary="Send the campaign's message to one follower for review (message/mass/preview: no quota, nobody else)",
)
def post_preview(request: HttpRequest, campaign_id: int, body: PreviewIn):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    try:
        msg_id = preview(campaign, body.openid)
    except ValueError as exc:
        return _refused(exc)
    return Status(200, {"msg_id": msg_id})


@router.post(
    "/campaigns/{campaign_id}/cancel",
    response={200: CampaignOut, 400: ErrorOut, 404: ErrorOut},
    summary="Cancel a campaign: rows not yet sent are never sent",
)
def post_cancel(request: HttpRequest, campaign_id: int):
    return _act(request, campaign_id, cancel)


@router.post(
    "/campaigns/{campaign_id}/publication",
    response={201: CreatedOut, 400: ErrorOut, 404: ErrorOut},
    summary="A new draft that publishes the campaign's article too, pushed to nobody",
)
def post_publication(request: HttpRequest, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    try:
        copy = publish_copy(campaign)
    except ValueError as exc:
        return _refused(exc)
    return _created(copy)


@router.post(
    "/campaigns/{campaign_id}/archive",
    response={200: CampaignOut, 400: ErrorOut, 404: ErrorOut},
    summary="Archive a finished or cancelled campaign: out of the list, kept with its results",
)
def post_archive(request: HttpRequest, campaign_id: int):
    return _act(request, campaign_id, archive_campaign)


@router.post(
    "/campaigns/{campaign_id}/unarchive",
    response={200: CampaignOut, 400: ErrorOut, 404: ErrorOut},
    summary="Bring an archived campaign back to the list",
)
def post_unarchive(request: HttpRequest, campaign_id: int):
    return _act(request, campaign_id, unarchive_campaign)


@router.post(
    "/campaigns/{campaign_id}/pause",
    response={200: CampaignOut, 400: ErrorOut, 404: ErrorOut},
    summary="Pause a scheduled or sending campaign: nothing more goes out until it is resumed",
)
def post_pause(request: HttpRequest, campaign_id: int):
    token = request.auth  # type: ignore[attr-defined]
    return _act(request, campaign_id, lambda c: pause(c, _("Paused by %(who)s.") % {"who": f"api:{token.name}"}))


@router.post(
    "/campaigns/{campaign_id}/resume",
    response={200: CampaignOut, 400: ErrorOut, 404: ErrorOut},
    summary="Resume a paused campaign: only what was not sent yet goes out",
)
def post_resume(request: HttpRequest, campaign_id: int):
    return _act(request, campaign_id, resume)


@router.delete(
    "/campaigns/{campaign_id}",
    response={204: None, 400: ErrorOut, 404: ErrorOut},
    summary="Delete a campaign that never reached anyone (not yet approved, or cancelled before sending)",
)
def delete_campaign_view(request: HttpRequest, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    try:
        delete_campaign(campaign)
    except ValueError as exc:
        return _refused(exc)
    return Status(204, None)


@router.get(
    "/campaigns/{campaign_id}/results",
    response={200: ResultsOut, 404: ErrorOut},
    summary="A campaign's results: sent, read, orders, unfollows, and the lift against its holdout",
)
def get_results(request: HttpRequest, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        return Status(404, _missing())
    report = campaign_report(campaign)
    r = report.as_dict()
    r["words"] = report_words(report)
    r["campaign"] = r.pop("campaign_id")
    r["status"] = campaign.status
    stats = campaign_article_stats(campaign)
    r["platform"] = None if stats is None else stats.as_dict()
    return Status(200, r)


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
    campaign = _campaign(request, campaign_id)
    if campaign is None:
        # Another account's campaign answers as one that does not exist.
        return Status(404, _missing())
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
