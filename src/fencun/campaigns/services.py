"""What the console, the CLI and other apps call: the campaign lifecycle and read services.

Every function does one whole thing in one transaction; bad input raises
:class:`CampaignError` (or the engine's ``SegmentError`` pointing at the bad token) and
changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from fencun import clock, inputs
from fencun.accounts import audit
from fencun.accounts.models import Account
from fencun.campaigns import outcomes
from fencun.campaigns.models import Campaign, OutboxItem, Rules
from fencun.catalog.services import catalog_for_lint
from fencun.channels.models import MassSend
from fencun.channels.wechat.covers import CoverError, check_cover
from fencun.content.lint import lint
from fencun.content.model import Message, Severity
from fencun.engine import reasons as R
from fencun.engine.segments import SegmentError, parse_segment

S = Campaign.Status

# Allowed moves of the lifecycle; anything else is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.LINTED, S.CANCELLED}),
    S.LINTED: frozenset({S.DRAFT, S.PLANNED, S.CANCELLED}),
    S.PLANNED: frozenset({S.DRAFT, S.PLANNED, S.APPROVED, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.SENDING, S.PAUSED, S.CANCELLED}),
    S.SENDING: frozenset({S.PAUSED, S.DONE}),
    S.PAUSED: frozenset({S.SCHEDULED, S.SENDING, S.CANCELLED}),
    S.DONE: frozenset(),
    S.CANCELLED: frozenset(),
}


class CampaignError(ValueError):
    """A refused action: the message says why; nothing was changed."""


def rules_for(account: Account) -> Rules:
    """The account's rules row, created with the defaults on first use."""
    rules, _ = Rules.objects.get_or_create(account=account)
    return rules


#: The rules a merchant (console) or an API client may change, with the model's validators.
RULE_FIELDS = (
    "quiet_start",
    "quiet_end",
    "weekly_cap",
    "category_cooldown_days",
    "min_gap_hours",
    "holdout_fraction",
    "control_fraction",
    "follower_value_yuan",
)


HHMM = r"([01]\d|2[0-3]):[0-5]\d"  # a time of day for quiet hours


class RulesError(CampaignError):
    """Refused rules: ``errors`` maps each bad field to why; nothing was saved."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()))


def update_rules(account: Account, **changes: object) -> Rules:
    """Change some of the account's rules (names in :data:`RULE_FIELDS`); all or nothing.

    Each value is checked by the model's validators and the whole set by the engine
    (``MerchantRules``); a refusal raises :class:`RulesError` naming every bad field.
    """
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise RulesError({name: ["not a rule"] for name in unknown})
    with transaction.atomic():
        rules = Rules.objects.select_for_update().get(pk=rules_for(account).pk)
        for name, value in changes.items():
            setattr(rules, name, value)
        errors: dict[str, list[str]] = {}
        try:
            rules.full_clean(exclude=["account"])
        except ValidationError as exc:
            errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        for name in ("quiet_start", "quiet_end"):
            if not re.fullmatch(HHMM, str(getattr(rules, name))):
                errors.setdefault(name, []).append("use HH:MM (Asia/Shanghai), for example 22:00")
        if errors:
            raise RulesError(errors)
        try:
            rules.as_engine_rules()
        except ValueError as exc:
            raise RulesError({"__all__": [str(exc)]}) from None
        rules.save()
    return rules


def check_segment_text(text: str) -> None:
    """Parse ``text`` in the segment language; raises ``SegmentError`` at the bad token."""
    if text.strip():
        parse_segment(text)


def check_fields(**fields: object) -> None:
    """Refuse values the campaign's columns cannot hold, with the field's name: a choice
    outside its field's choices (``channel="cs"``), text with a NUL or over the column's
    length. The console, the API and the CLI all create campaigns through here."""
    for name, value in fields.items():
        try:
            field = Campaign._meta.get_field(name)
        except FieldDoesNotExist:
            raise CampaignError(_("a campaign has no field %(name)s") % {"name": name}) from None
        if not isinstance(field, models.Field):  # a reverse relation: not a column to fill
            raise CampaignError(_("a campaign has no field %(name)s") % {"name": name})
        if field.choices and value not in [choice for choice, _label in field.flatchoices]:
            allowed = ", ".join(str(choice) for choice, _label in field.flatchoices)
            raise CampaignError(
                _("%(name)s must be one of %(allowed)s, not %(value)r")
                % {"name": name, "allowed": allowed, "value": value}
            )
        if isinstance(field, models.CharField | models.TextField) and isinstance(value, str):
            try:
                inputs.check_text(value, name, field.max_length)
            except inputs.InputError as exc:
                raise CampaignError(str(exc)) from None
        if isinstance(field, models.DateTimeField) and isinstance(value, datetime):
            try:
                inputs.check_time(value, name)
            except inputs.InputError as exc:
                raise CampaignError(str(exc)) from None


def _check_campaign(account: Account, *, name: str, category, segment: str, fields: dict) -> None:
    """Refuse a campaign's settings that cannot be stored or cannot run (see
    :func:`create_campaign`); ``fields`` are the other columns (``products`` aside)."""
    if not name.strip():
        raise CampaignError(_("a campaign needs a name"))
    check_fields(name=name, segment=segment, **{k: v for k, v in fields.items() if k != "products"})
    check_segment_text(segment)
    if category.account_id != account.pk:
        raise CampaignError(_("the category belongs to another account"))
    if fields.get("cover"):
        try:
            check_cover(fields["cover"])
        except CoverError as exc:
            raise CampaignError(str(exc)) from exc
    if fields.get("channel") == Campaign.Channel.WECOM:
        if not account.wecom_corps.exists():
            raise CampaignError("企业微信群发需要先配置企业微信（no WeCom corp is configured for this account）")
        if fields.get("message_type") == Campaign.MessageType.IMAGE:
            raise CampaignError("企业微信群发只发文字与图文的文字（image messages are not sent on WeCom）")
    if fields.get("channel") == Campaign.Channel.PUBLISH:
        if fields.get("message_type") != Campaign.MessageType.NEWS:
            raise CampaignError(_("Only an article (news) can be published."))
        if fields.get("title_variants") or fields.get("variant_split"):
            raise CampaignError(_("A publication reaches nobody directly: it has no A/B test."))
    from fencun.campaigns import variants

    try:
        variants.check(
            account_type=account.account_type,
            channel=fields.get("channel", Campaign.Channel.MASS),
            message_type=fields.get("message_type", Campaign.MessageType.TEXT),
            title=fields.get("title", ""),
            title_variants=fields.get("title_variants", []),
            variant_split=fields.get("variant_split", 0.0),
            winner_rule=fields.get("winner_rule", variants.DEFAULT_RULE),
            media_id=fields.get("media_id", ""),
        )
    except variants.VariantError as exc:
        raise CampaignError(str(exc)) from exc


def create_campaign(account: Account, *, name: str, category, segment: str = "", **fields) -> Campaign:
    """A new draft. ``segment`` is parsed first (``SegmentError`` points at the bad token);
    a value a field cannot hold (see :func:`check_fields`) and A/B settings that cannot
    run (a subscription account's mass send, an image message…) are refused with the reason."""
    _check_campaign(account, name=name, category=category, segment=segment, fields=fields)
    products = fields.pop("products", ())
    with transaction.atomic():
        campaign = Campaign.objects.create(
            account=account, name=name, category=category, segment=segment, **fields
        )
        if products:
            campaign.products.set(products)
        audit.record(account, "campaign.created", campaign, name=name)
    return campaign


#: What :func:`update_campaign` may change: the draft's content and audience, not its lifecycle.
EDITABLE_FIELDS = frozenset({
    "name", "category", "segment", "products", "urgent", "deadline", "channel", "message_type", "ai_generated",
    "title", "body", "media_id", "cover", "title_variants", "variant_split", "winner_rule",
})
#: The statuses a campaign may still be edited in; an edit takes it back to draft.
EDITABLE_STATUSES = (S.DRAFT, S.LINTED, S.PLANNED)


def update_campaign(campaign: Campaign, **changes: object) -> Campaign:
    """Change some settings (names in :data:`EDITABLE_FIELDS`) of a campaign not yet
    approved, checked as :func:`create_campaign` checks a new one; all or nothing. The
    campaign goes back to draft: it must be linted and planned again."""
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise CampaignError(_("a campaign has no field %(name)s") % {"name": ", ".join(unknown)})
    with transaction.atomic():
        current = Campaign.objects.select_for_update().select_related("account", "category").get(pk=campaign.pk)
        if current.status not in EDITABLE_STATUSES:
            raise CampaignError(
                _("a %(status)s campaign cannot be changed any more") % {"status": current.status}
            )
        products = changes.pop("products", None)
        for name, value in changes.items():
            setattr(current, name, value)
        fields = {
            name: getattr(current, name)
            for name in EDITABLE_FIELDS - {"name", "category", "segment", "products"}
        }
        _check_campaign(current.account, name=current.name, category=current.category,
                        segment=current.segment, fields=fields)
        current.status = S.DRAFT
        current.lint_acknowledged = False
        current.save()
        if products is not None:
            current.products.set(products)  # type: ignore[arg-type]
        audit.record(current.account, "campaign.changed", current,
                     fields=sorted([*changes, *(["products"] if products is not None else [])]))
    campaign.refresh_from_db()
    return campaign


def delete_campaign(campaign: Campaign) -> None:
    """Delete a campaign that never reached anyone: one not yet approved, or one
    cancelled before anything was sent. Anything that went out stays, for its results."""
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        went = current.outbox.exclude(status__in=(OutboxItem.Status.PENDING, OutboxItem.Status.HELD))
        if current.status == S.DONE or (
            current.status == S.CANCELLED and went.exclude(reason_code=outcomes.CANCELLED).exists()
        ):
            raise CampaignError(_("This campaign has reached followers: it stays, with its results."))
        if current.status not in (*EDITABLE_STATUSES, S.CANCELLED):
            raise CampaignError(
                _("A campaign in the state %(status)s cannot be deleted: cancel it first.")
                % {"status": S(current.status).label}
            )
        current.delete()


def publication_offer(campaign: Campaign) -> int:
    """Followers of the campaign's latest plan whom the engine held back (a push would cost
    them more than it adds), when the campaign is a mass-sent article that can also be
    published, pushed to nobody; 0 otherwise. The offer is the engine's way to still say
    it to them: on the account's page and in search, at no cost in attention."""
    if campaign.channel != Campaign.Channel.MASS or campaign.message_type != Campaign.MessageType.NEWS:
        return 0
    plan = campaign.plans.order_by("-created_at", "-pk").first()
    if plan is None:
        return 0
    return sum(int(plan.held_back.get(code, 0)) for code in R.NOT_WORTH_A_PUSH)


def publish_copy(campaign: Campaign) -> Campaign:
    """A new draft that publishes the campaign's article, pushed to nobody: the same
    category, products, title, body and cover. Refused for anything but an article."""
    if campaign.message_type != Campaign.MessageType.NEWS:
        raise CampaignError(_("Only an article (news) can be published."))
    name = str(_("%(name)s (published)") % {"name": campaign.name})[: Campaign._meta.get_field("name").max_length]
    return create_campaign(
        campaign.account, name=name, category=campaign.category, segment="",
        products=list(campaign.products.all()), channel=Campaign.Channel.PUBLISH,
        message_type=Campaign.MessageType.NEWS, title=campaign.title, body=campaign.body,
        cover=bytes(campaign.cover) if campaign.cover else None, cover_media_id=campaign.cover_media_id,
    )


ARCHIVABLE_STATUSES = (S.DONE, S.CANCELLED)


def archive_campaign(campaign: Campaign) -> Campaign:
    """Put a finished or cancelled campaign away: it leaves the list of campaigns and keeps
    its results; one still on its way cannot be."""
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if current.status not in ARCHIVABLE_STATUSES:
            raise CampaignError(
                _("Only a finished or cancelled campaign can be archived; this one is %(status)s.")
                % {"status": S(current.status).label}
            )
        if current.archived_at is None:
            current.archived_at = clock.now()
            current.save(update_fields=["archived_at", "updated_at"])
    campaign.archived_at = current.archived_at
    return campaign


def unarchive_campaign(campaign: Campaign) -> Campaign:
    """Bring an archived campaign back to the list."""
    Campaign.objects.filter(pk=campaign.pk).update(archived_at=None, updated_at=clock.now())
    campaign.archived_at = None
    return campaign


def transition(campaign: Campaign, to: str, *, reason: str = "", **fields) -> Campaign:
    """Move ``campaign`` to ``to`` if the lifecycle allows it, under a row lock."""
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if to not in TRANSITIONS[current.status]:
            raise CampaignError(
                _("A campaign in the state %(status)s cannot become %(to)s.")
                % {"status": S(current.status).label, "to": S(to).label}
            )
        current.status = to
        current.pause_reason = reason if to == S.PAUSED else ""
        for name, value in fields.items():
            setattr(current, name, value)
        current.save()
    campaign.refresh_from_db()
    return campaign


def update_segment(campaign: Campaign, segment: str) -> Campaign:
    """Change the segment of a campaign not yet approved; the plan must be made again."""
    check_fields(segment=segment)
    check_segment_text(segment)
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if current.status not in (S.DRAFT, S.LINTED, S.PLANNED):
            raise CampaignError(
                _("The audience of a campaign in the state %(status)s can no longer change.")
                % {"status": S(current.status).label}
            )
        current.segment = segment
        current.status = S.DRAFT
        current.save(update_fields=["segment", "status", "updated_at"])
    campaign.refresh_from_db()
    return campaign


def lint_text(
    account: Account, message_type: str, title: str, body: str, *,
    ai_generated: bool = False, skus: list[str] | None = None,
) -> list:
    """The content lint of a message as written, against the account's catalog (product
    cards, prices, links, and the claims about the products the campaign names, ``skus``):
    what the wizard shows while the merchant types."""
    catalog = catalog_for_lint(account)
    named = [catalog[s] for s in skus or [] if s in catalog]
    message = Message(kind=message_type, title=title, body=body, ai_generated=ai_generated)
    return lint(message, catalog, products=named)


def lint_campaign(campaign: Campaign, *, acknowledge_warnings: bool = False) -> list:
    """Run the content lint; errors keep it a draft, warnings need ``acknowledge_warnings``.

    Returns the findings (``fencun.content.model.Finding``).
    """

    findings = lint_text(
        campaign.account, campaign.message_type, campaign.title, campaign.body,
        ai_generated=campaign.ai_generated, skus=list(campaign.products.values_list("sku", flat=True)),
    )
    errors = [f for f in findings if f.severity == Severity.ERROR]
    warnings = [f for f in findings if f.severity == Severity.WARNING]
    if not errors and (not warnings or acknowledge_warnings):
        transition(campaign, S.LINTED, lint_acknowledged=bool(warnings))
    return findings


#: A send time this far in the past is still "now": the form took a while to submit.
SEND_AT_GRACE = timedelta(minutes=5)


def check_send_at(at: datetime | None) -> datetime:
    """The send time of an approval: ``at``, or now when it is None; a time in the past
    (beyond :data:`SEND_AT_GRACE`) is refused with :class:`CampaignError`."""
    if at is None:
        return clock.now()
    try:
        inputs.check_time(at, "send_at")
    except inputs.InputError as exc:
        raise CampaignError(str(exc)) from None
    if at < clock.now() - SEND_AT_GRACE:
        raise CampaignError(_("The send time is in the past."))
    return at


def schedule(campaign: Campaign, at: datetime | None = None) -> Campaign:
    """Schedule an approved campaign for ``at`` (now if not given)."""
    return transition(campaign, S.SCHEDULED, scheduled_for=at or clock.now())


def cancel(campaign: Campaign) -> Campaign:
    """Cancel; pending (and held) outbox rows become failed with the reason, nothing more
    is sent."""
    with transaction.atomic():
        transition(campaign, S.CANCELLED)
        OutboxItem.objects.filter(
            campaign=campaign, status__in=(OutboxItem.Status.PENDING, OutboxItem.Status.HELD)
        ).update(
            status=OutboxItem.Status.FAILED, reason_code=outcomes.CANCELLED, reason="cancelled"
        )
        audit.record(campaign.account, "campaign.cancelled", campaign)
    return campaign


def pause(campaign: Campaign, reason: str) -> Campaign:
    """Pause with ``reason`` (shown to the merchant). Idempotent when already paused."""
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if current.status == S.PAUSED:
            return current
        if S.PAUSED not in TRANSITIONS[current.status]:
            raise CampaignError(f"cannot pause a {current.status} campaign")
        current.status = S.PAUSED
        current.pause_reason = reason[:500]
        current.save(update_fields=["status", "pause_reason", "updated_at"])
    campaign.refresh_from_db()
    return campaign


def resume(campaign: Campaign) -> Campaign:
    """Resume a paused campaign: only rows not yet sent go out (the outbox remembers)."""
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if current.status != S.PAUSED:
            raise CampaignError(f"only a paused campaign resumes, this one is {current.status}")
        current.status = S.SENDING
        current.pause_reason = ""
        # Asked and answered: a late schedule is now the merchant's decision.
        current.scheduled_for = clock.now()
        current.save(update_fields=["status", "pause_reason", "scheduled_for", "updated_at"])
    campaign.refresh_from_db()
    from fencun.campaigns.tasks import wake_workers

    wake_workers()
    return campaign


# ----- read services for insights and the console -----------------------------------------
def campaign_for_msg_id(account: Account, msg_id: int) -> Campaign | None:
    """The campaign whose mass send WeChat numbered ``msg_id`` (MASSSENDJOBFINISH receipts)."""
    item = (
        OutboxItem.objects.filter(campaign__account=account, msg_id=msg_id)
        .select_related("campaign")
        .first()
    )
    if item is not None:
        return item.campaign
    send = MassSend.objects.filter(account=account, msg_id=msg_id).first()
    if send is None:
        return None
    item = OutboxItem.objects.filter(clientmsgid=send.clientmsgid).select_related("campaign").first()
    return item.campaign if item else None


def recipients_of(campaign: Campaign, *, sent_only: bool = True) -> list[str]:
    """Openids the campaign reached (or, with ``sent_only=False``, was planned to reach)."""
    rows = OutboxItem.objects.filter(campaign=campaign)
    if sent_only:
        rows = rows.filter(status=OutboxItem.Status.SENT)
    out: list[str] = []
    for openids in rows.order_by("pk").values_list("openids", flat=True):
        out.extend(openids)
    return out


def delivery_counts(campaign: Campaign) -> dict[str, int]:
    """Outbox rows by status (``{"pending": n, ..., "unknown": n}``) and the recipients
    sent, failed and of unknown outcome (``recipients_sent``, ``recipients_failed``,
    ``recipients_unknown``)."""
    counts = {s.value: 0 for s in OutboxItem.Status}
    recipients: dict[str, int] = dict.fromkeys((OutboxItem.Status.SENT, OutboxItem.Status.FAILED, OutboxItem.Status.UNKNOWN), 0)
    for status, openids in OutboxItem.objects.filter(campaign=campaign).values_list(
        "status", "openids"
    ):
        counts[status] += 1
        if status in recipients:
            recipients[status] += len(openids)
    for status, n in recipients.items():
        counts[f"recipients_{status}"] = n
    return counts


@dataclass
class ReasonGroup:
    """Rows of one status held for one reason: ``label`` is the reason in the active
    language, ``example`` one row's detail in the platform's own words."""

    status: str
    code: str
    label: str
    rows: int = 0
    recipients: int = 0
    example: str = ""


def delivery_reasons(campaign: Campaign) -> list[ReasonGroup]:
    """Why rows of the campaign failed, ended unknown or wait, most recipients first."""
    groups: dict[tuple[str, str], ReasonGroup] = {}
    rows = OutboxItem.objects.filter(campaign=campaign).exclude(reason_code="").exclude(
        status=OutboxItem.Status.SENT
    )
    for status, code, openids, reason in rows.values_list("status", "reason_code", "openids", "reason"):
        group = groups.setdefault((status, code), ReasonGroup(status, code, outcomes.label(code), example=reason))
        group.rows += 1
        group.recipients += len(openids)
    return sorted(groups.values(), key=lambda g: (-g.recipients, g.code))


def campaigns_of(account: Account, statuses: Iterable[str] | None = None, *, archived: bool = False):
    """The account's campaigns, newest first, optionally of some statuses; the archived ones
    instead of the others with ``archived``. A journey's steps are the journey's, shown
    with it (one a minute would bury the merchant's own)."""
    qs = Campaign.objects.filter(
        account=account, archived_at__isnull=not archived, journey__isnull=True
    ).order_by("-created_at")
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    return qs


__all__ = [
    "ARCHIVABLE_STATUSES",
    "CampaignError",
    "archive_campaign",
    "publication_offer",
    "publish_copy",
    "unarchive_campaign",
    "SegmentError",
    "campaign_for_msg_id",
    "cancel",
    "check_send_at",
    "create_campaign",
    "delivery_counts",
    "delivery_reasons",
    "ReasonGroup",
    "lint_campaign",
    "pause",
    "recipients_of",
    "resume",
    "rules_for",
    "update_rules",
    "schedule",
    "transition",
    "update_campaign",
]
