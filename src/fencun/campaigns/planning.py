"""From the database to the engine and back: the dry-run and the approval.

The follower state a plan reads comes from ``followerstate.build_state`` (the account's
snapshot, brought up to date).

``approve`` writes the plan's outbox rows in the same transaction as the approval, so an
approved campaign always has all its work in the outbox and nothing else does.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import datetime

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from fencun import clock
from fencun.accounts import audit
from fencun.accounts.models import Account
from fencun.campaigns import plan_words, variants
from fencun.campaigns.followerstate import build_state
from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot, Rules
from fencun.campaigns.services import (
    SEND_AT_GRACE,
    CampaignError,
    check_segment_text,
    check_send_at,
    rules_for,
    transition,
)
from fencun.engine import planner
from fencun.engine import reasons as R
from fencun.engine.limits import load_wecom_limits
from fencun.engine.state import FollowerState

__all__ = ["approve", "build_state", "dry_run", "engine_campaign", "plan_seed"]

S = Campaign.Status
# Mass sends to an openid list: WeChat takes 2-10,000 per call and counts calls per minute,
# so batches are as large as allowed (a re-claimed batch is answered 45065, not re-sent).
OPENID_BATCH = 10000
# The dial's table: yuan per kept follower, up to where the risk of an unfollow outweighs
# most pushes (on the furniture world reach falls visibly from about 1,000 yuan).
DIAL_VALUES_YUAN = (10.0, 100.0, 1000.0, 5000.0, 20000.0)


def engine_campaign(campaign: Campaign) -> planner.Campaign:
    """The engine's view of a campaign."""
    products = tuple(
        planner.Product(p.sku, float(p.price)) for p in campaign.products.all().order_by("pk")
    )
    return planner.Campaign(
        id=campaign.engine_id,
        category=campaign.category.key,
        products=products,
        title=campaign.title,
        urgent=campaign.urgent,
        segment=campaign.segment.strip() or None,
        channel=campaign.channel,
        deadline=campaign.deadline.timestamp() if campaign.deadline else None,
    )


def dry_run(
    campaign: Campaign,
    at: datetime | None = None,
    *,
    state: FollowerState | None = None,
    policy: str = "fencun",
    members: frozenset[str] | None = None,
) -> PlanSnapshot:
    """Plan ``campaign`` for send time ``at`` (default now) and store the snapshot.

    The snapshot holds reach, hold-backs by reason, predicted orders, revenue (yuan) and
    unfollows beside send-to-all, and the dial's effect. The campaign becomes ``planned``.
    ``policy`` is the engine's (``fencun``; ``blast`` sends to the whole segment within
    platform limits). ``members`` narrows the audience to those followers (a journey's
    step: the followers due at it).
    """
    if campaign.status not in (S.LINTED, S.PLANNED):
        raise CampaignError(f"a {campaign.status} campaign cannot be planned; lint it first")
    check_segment_text(campaign.segment)
    at = at or clock.now()
    if campaign.channel == Campaign.Channel.PUBLISH:
        return _publication_plan(campaign, at)
    state = state or build_state(campaign.account, at)
    rules = rules_for(campaign.account).as_engine_rules()
    ec = replace(engine_campaign(campaign), members=members)
    # The dial table is this plan at other dial values: the same seed and the same draws,
    # so its row at the merchant's value is the plan itself.
    seed, explore = plan_seed(campaign, at), True
    try:
        result = planner.plan(
            state,
            [ec],
            at.timestamp(),
            account_type=campaign.account.account_type,
            rules=rules,
            policy=policy,
            seed=seed,
            explore=explore,
        )
        current = result.follower_value_yuan  # the rules' value, or the one learned
        # A journey's step (members named) is approved unseen: nobody reads its dial.
        dial = [] if members is not None else planner.dial_effect(
            state,
            [ec],
            at.timestamp(),
            sorted({*DIAL_VALUES_YUAN, current}),
            account_type=campaign.account.account_type,
            rules=rules,
            seed=seed,
            explore=explore,
        )
    except ValueError as exc:  # SegmentError included: it points at the token
        raise CampaignError(str(exc)) from exc
    for row in dial:
        # The dial moves the engine's decision; a blast plan is not one of its rows.
        row["current"] = policy == "fencun" and row["follower_value_yuan"] == current
    summary = result.summaries[0]
    audience, held_back = _audience(result, ec, state)
    with transaction.atomic():
        snapshot = PlanSnapshot.objects.create(
            campaign=campaign,
            planned_for=at,
            reach=summary.sent,
            audience=audience if audience is not None else summary.audience,
            held_back=held_back if held_back is not None else dict(summary.held_back),
            predicted=vars(summary.predicted),
            send_to_all=vars(summary.send_to_all),
            dial_effect=dial,
            delivery_method=summary.delivery_method,
            follower_value_yuan=result.follower_value_yuan,
            recipients=result.recipient_openids(ec.id),
            holdout=result.holdout_openids(ec.id),
            controls=result.control_openids(ec.id),
        )
        transition(campaign, S.PLANNED)
    return snapshot


def _audience(
    result: planner.Plan, ec: planner.Campaign, state: FollowerState
) -> tuple[int | None, dict[str, int] | None]:
    """A campaign for named members (a journey's step): its audience and hold-backs are
    among them, not the whole account's (None: the engine's summary stands)."""
    if ec.members is None:
        return None, None
    rows = np.asarray([state.index[o] for o in ec.members if o in state.index], dtype=np.int64)
    counts = np.bincount(result.codes[result.campaigns.index(ec)][rows], minlength=len(R.CODES))
    return int(rows.size), {code: int(counts[i]) for i, code in enumerate(R.CODES) if i and counts[i]}


def _publication_plan(campaign: Campaign, at: datetime) -> PlanSnapshot:
    """A publication's plan: nobody is pushed, so nobody is chosen or held back, no push
    is predicted to add or cost anything, and its outbox is one row that publishes."""
    with transaction.atomic():
        snapshot = PlanSnapshot.objects.create(
            campaign=campaign, planned_for=at, reach=0, audience=0, held_back={}, predicted={},
            send_to_all={}, dial_effect=[], delivery_method="publish", recipients=[], holdout=[], controls=[],
        )
        transition(campaign, S.PLANNED)
    return snapshot


def plan_seed(campaign: Campaign, at: datetime) -> int:
    """The seed of the engine's draws for ``campaign`` planned for ``at``: a dry run
    repeated for the same send time draws the same, another send time draws anew."""
    key = f"{campaign.engine_id}@{at.timestamp():.0f}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


def _batches(campaign: Campaign, openids: list[str]) -> list[tuple[str, list[str]]]:
    if campaign.channel == Campaign.Channel.CUSTOMER_SERVICE:
        return [(o, [o]) for o in openids]
    if campaign.channel == Campaign.Channel.WECOM:
        size = load_wecom_limits().mass_external_userids_max
        return [(f"w{n:05d}", openids[s : s + size]) for n, s in enumerate(range(0, len(openids), size))]
    if campaign.account.account_type == Account.Type.SUBSCRIPTION:
        # One tag and one sendall: the account's mass send of the day.
        return [("tag", list(openids))] if openids else []
    out = []
    for n, start in enumerate(range(0, len(openids), OPENID_BATCH)):
        out.append((f"b{n:05d}", openids[start : start + OPENID_BATCH]))
    # WeChat refuses a list of one; fold a lone last recipient into the batch before.
    if len(out) > 1 and len(out[-1][1]) == 1:
        last = out.pop()
        out[-1] = (out[-1][0], out[-1][1] + last[1])
    return out


def _rows(campaign: Campaign, openids: list[str]) -> list[tuple[str, list[str], str, bool]]:
    """Outbox rows as (key, openids, variant, held): without a test, every batch sends
    variant A; with one, each variant's batches, then the rest held for the winner. A
    publication is one row that reaches nobody."""
    if campaign.channel == Campaign.Channel.PUBLISH:
        return [("publish", [], "A", False)]
    if not variants.is_ab(campaign):
        return [(key, ids, "A", False) for key, ids in _batches(campaign, openids)]
    parts = variants.split(campaign, openids)
    rest = parts.pop(variants.REST)
    if campaign.channel == Campaign.Channel.MASS and rest:
        # An openid-list send needs two recipients: a lone test recipient gets the winner.
        for letter, ids in parts.items():
            if len(ids) == 1:
                rest.extend(ids)
                parts[letter] = []
    # Customer-service rows are keyed by their openid, already unique in the campaign.
    per_follower = campaign.channel == Campaign.Channel.CUSTOMER_SERVICE
    rows = []
    for variant, ids in [*parts.items(), (variants.REST, rest)]:
        for key, batch in _batches(campaign, ids):
            rows.append((key if per_follower else f"{variant}-{key}", batch, variant, variant == variants.REST))
    return rows


def approve(
    campaign: Campaign,
    *,
    by: str,
    snapshot: PlanSnapshot | None = None,
    scheduled_for: datetime | None = None,
) -> int:
    """Approve the campaign's latest dry-run (or ``snapshot``) as ``by``; returns outbox rows.

    In one transaction: the approval, and one outbox row per recipient batch with its
    ``clientmsgid`` and title variant (an A/B campaign's rest is held for the winner, see
    ``campaigns/variants.py``). With ``scheduled_for`` the campaign is scheduled at once.
    """
    if not by.strip():
        raise CampaignError("an approval needs the approver's name")
    with transaction.atomic():
        current = Campaign.objects.select_for_update().select_related("account").get(pk=campaign.pk)
        if current.status != S.PLANNED:
            raise CampaignError(f"only a planned campaign can be approved, this one is {current.status}")
        snapshot = snapshot or current.plans.order_by("-created_at", "-pk").first()
        if snapshot is None or snapshot.campaign_id != current.pk:
            raise CampaignError("no dry-run of this campaign to approve")
        if current.deadline and scheduled_for and scheduled_for > current.deadline:
            raise CampaignError("scheduled after the campaign's deadline")
        try:
            variants.check_campaign(current)
        except variants.VariantError as exc:
            raise CampaignError(str(exc)) from exc
        rows = [
            OutboxItem(
                campaign=current,
                key=key,
                openids=openids,
                variant=variant,
                status=OutboxItem.Status.HELD if held else OutboxItem.Status.PENDING,
                clientmsgid=f"fc{current.pk}-{key}-{uuid.uuid4().hex[:12]}",
            )
            for key, openids, variant, held in _rows(current, list(snapshot.recipients))
        ]
        OutboxItem.objects.bulk_create(rows, batch_size=500)
        current.status = S.SCHEDULED if scheduled_for else S.APPROVED
        current.approved_by = by
        current.approved_at = clock.now()
        current.scheduled_for = scheduled_for
        current.save()
        # The plan the outbox was written from: its controls are what the engine learns
        # this campaign's effect against once it is sent.
        PlanSnapshot.objects.filter(pk=snapshot.pk).update(approved_at=current.approved_at)
        audit.record(
            current.account, "campaign.approved", current, approver=by, plan=snapshot.pk,
            reach=snapshot.reach, audience=snapshot.audience, held_back=snapshot.held_back,
            scheduled_for=scheduled_for.isoformat() if scheduled_for else None,
        )
    campaign.refresh_from_db()
    return len(rows)


def approve_plan(
    campaign: Campaign,
    *,
    by: str,
    plan_id: int | None = None,
    at: datetime | None = None,
    quiet_hours_ok: bool = False,
) -> int:
    """Approve the plan the approver was shown and schedule the campaign for ``at``;
    returns the outbox rows written.

    ``plan_id`` names the dry run that was shown (default: the latest), so a plan made
    since in another tab is not the one approved. Without ``at`` the campaign goes out
    at the time it was planned for (now, if that has passed): the recipients were chosen
    for that moment. A send time in the past is refused (see
    :func:`fencun.campaigns.services.check_send_at`), and so is a chosen one in the
    merchant's quiet hours unless ``quiet_hours_ok`` (the merchant confirmed it). What
    the console's approve button and ``POST /api/campaigns/{id}/approve`` both do.
    """
    shown = None
    if plan_id is not None:
        shown = PlanSnapshot.objects.filter(campaign=campaign, pk=plan_id).first()
        if shown is None:
            raise CampaignError(gettext("This campaign has no plan %(plan)s.") % {"plan": plan_id})
    chosen = at is not None
    latest = shown or campaign.plans.order_by("-created_at", "-pk").first()
    if at is None and latest is not None and latest.planned_for >= clock.now() - SEND_AT_GRACE:
        at = latest.planned_for
    scheduled_for = check_send_at(at)
    # The plan's own time already kept the quiet hours (whoever they would disturb is held
    # back); a time chosen apart from it must be confirmed if it falls in them.
    rules = rules_for(campaign.account)
    if chosen and not quiet_hours_ok and rules.as_engine_rules().in_quiet_hours(scheduled_for.timestamp()):
        raise CampaignError(quiet_hours_words(rules, scheduled_for))
    return approve(campaign, by=by, snapshot=shown, scheduled_for=scheduled_for)


def plan_warnings(plan: PlanSnapshot) -> list[str]:
    """What the plan's send time costs, in the active language (see
    :func:`fencun.campaigns.plan_words.time_warnings`)."""
    rules = rules_for(plan.campaign.account)
    quiet = rules.as_engine_rules().in_quiet_hours(plan.planned_for.timestamp())
    return plan_words.time_warnings(plan.held_back, quiet_hours_words(rules, plan.planned_for) if quiet else "")


def quiet_hours_words(rules: Rules, at: datetime) -> str:
    """Why a send at ``at`` waits for confirmation: it falls in the quiet hours."""
    return gettext(
        "%(time)s is in your quiet hours (%(start)s–%(end)s), when followers are not to be "
        "disturbed. Choose another time, or confirm that it may go out then."
    ) % {"time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M"), "start": rules.quiet_start,
         "end": rules.quiet_end}
