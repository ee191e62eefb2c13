"""From the database to the engine and back: follower state, the dry-run, the approval.

``approve`` writes the plan's outbox rows in the same transaction as the approval, so an
approved campaign always has all its work in the outbox and nothing else does.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext

from fencun import clock
from fencun.audience.models import Event, Follower, Store
from fencun.campaigns import variants
from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot, engine_id_of
from fencun.campaigns.services import CampaignError, check_segment_text, check_send_at, rules_for
from fencun.channels.models import Account
from fencun.channels.wecom import people
from fencun.engine import planner
from fencun.engine.catalog import Category as EngineCategory
from fencun.engine.limits import load_wecom_limits
from fencun.engine.state import FollowerState

S = Campaign.Status
# Mass sends to an openid list: WeChat takes 2-10,000 per call and counts calls per minute,
# so batches are as large as allowed (a re-claimed batch is answered 45065, not re-sent).
OPENID_BATCH = 10000
# The dial's table: yuan per kept follower, up to where the risk of an unfollow outweighs
# most pushes (on the furniture world reach falls visibly from about 1,000 yuan).
DIAL_VALUES_YUAN = (10.0, 100.0, 1000.0, 5000.0, 20000.0)


def build_state(account: Account, now: datetime | None = None) -> FollowerState:
    """The engine's follower state of ``account`` from followers, the event log, the
    deliveries already made (sent outbox rows) and the randomized controls of every
    campaign sent (see :func:`_deliveries`)."""
    from fencun.catalog.models import Category

    categories = [
        EngineCategory(id=c.key, name=c.name, keywords=tuple(c.keywords or ()))
        for c in Category.objects.filter(account=account).order_by("pk")
    ] or [EngineCategory(id="general", name="general")]
    stores = [(s.lat, s.lng) for s in Store.objects.filter(account=account)]
    campaigns = [
        (c.engine_id, c.category.key, [{"id": p.sku, "price": float(p.price)} for p in c.products.all()])
        for c in Campaign.objects.filter(account=account).select_related("category").prefetch_related("products")
    ]
    events = [
        _engine_event(kind, openid, at, payload)
        for kind, openid, at, payload in Event.objects.filter(account=account)
        .exclude(openid="")
        .order_by("occurred_at", "pk")
        .values_list("kind", "openid", "occurred_at", "payload")
        .iterator()
    ]
    deliveries = _deliveries(account)
    deliveries.extend(_pushes_elsewhere(account, now or clock.now()))
    when = (now or clock.now()).isoformat()
    state = FollowerState.from_events(events, categories, stores, deliveries, now=when, campaigns=campaigns)
    corp = people.campaign_corp(account)
    if corp is not None:
        keys, tags = people.customers(corp)
        state.set_wecom_contacts(keys.values())
        state.set_wecom_tags(tags)
    # Followers known only from the user list (synced, no subscribe event) still count,
    # with the subscription time and scene the user API reported.
    rows = list(
        Follower.objects.filter(account=account).values_list(
            "openid", "subscribed", "tags", "subscribed_at", "subscribe_scene"
        )
    )
    subscribed = state.subscribed
    for openid, is_subscribed, _, since, scene in rows:
        if is_subscribed and ((i := state.index.get(openid)) is None or not subscribed[i]):
            state.add_followers([openid], subscribed_at=since.timestamp() if since else None, scene=scene or "")
    for openid, _, tags, _, _ in rows:
        if tags:
            state.set_tags(openid, [str(t) for t in tags])
    return state


def _deliveries(account: Account) -> list[dict]:
    """What the account's campaigns did, as the engine's delivery dicts: one per recipient
    of every sent outbox row, at the row's time, and for every campaign that was sent, its
    randomized controls (``"control": True``, nothing sent) at the time of its first send.

    The controls are the approved plan's: its holdout and the control-group members who
    passed every hard rule. The engine learns a push's uplift from the difference between
    what the recipients and the controls did afterwards."""
    deliveries: list[dict] = []
    first_sent: dict[int, float] = {}
    campaigns: dict[int, Campaign] = {}
    for item in (
        OutboxItem.objects.filter(campaign__account=account, status=OutboxItem.Status.SENT)
        .select_related("campaign", "campaign__category")
        .iterator()
    ):
        if item.sent_at is None:
            continue
        # One dict per recipient sharing the row's values: the state groups them back.
        at, cid = item.sent_at.timestamp(), item.campaign.engine_id
        category, channel = item.campaign.category.key, item.campaign.channel
        deliveries.extend(
            {"openid": openid, "campaign": cid, "at": at, "category": category, "channel": channel}
            for openid in item.openids
        )
        campaigns[item.campaign_id] = item.campaign
        first_sent[item.campaign_id] = min(at, first_sent.get(item.campaign_id, at))
    if not campaigns:
        return deliveries
    plans = PlanSnapshot.objects.filter(campaign_id__in=list(campaigns), approved_at__isnull=False)
    for campaign_id, controls, holdout in plans.order_by("approved_at", "pk").values_list(
        "campaign_id", "controls", "holdout"
    ):
        c = campaigns[campaign_id]
        at, cid, category, channel = first_sent[campaign_id], c.engine_id, c.category.key, c.channel
        # Plans made before controls were stored kept only their holdout.
        openids = dict.fromkeys(o for o in [*(controls or ()), *(holdout or ())] if isinstance(o, str))
        deliveries.extend(
            {"openid": openid, "campaign": cid, "at": at, "category": category, "channel": channel,
             "control": True}
            for openid in openids
        )
    return deliveries


# Pushes elsewhere older than this no longer weigh on the budget (pressure halves weekly).
ELSEWHERE_DAYS = 28


def _pushes_elsewhere(account: Account, now: datetime) -> list[dict]:
    """WeCom mass messages sent outside fencun's campaigns (by members, in WeCom) to people
    who also follow this account (one person, joined by unionid), as deliveries the engine
    counts against the same attention budget. A campaign's own WeCom rows are deliveries
    already (see :func:`build_state`)."""
    from fencun.channels.models import ExternalContact, WecomDispatch

    ours = OutboxItem.objects.filter(
        campaign__account=account, campaign__channel=Campaign.Channel.WECOM
    ).exclude(task_id="")
    dispatches = list(
        WecomDispatch.objects.filter(
            corp__account=account,
            kind=WecomDispatch.Kind.MASS,
            created_at__gte=now - timedelta(days=ELSEWHERE_DAYS),
            created_at__lte=now,
        )
        .exclude(task_id__in=ours.values("task_id"))
        .values_list("corp_id", "external_userid", "created_at")
    )
    if not dispatches:
        return []
    unionid_of = {
        (corp, ext): unionid
        for corp, ext, unionid in ExternalContact.objects.filter(corp__account=account)
        .exclude(unionid="")
        .values_list("corp_id", "external_userid", "unionid")
    }
    openid_of = dict(
        Follower.objects.filter(account=account).exclude(unionid="").values_list("unionid", "openid")
    )
    out = []
    for corp, ext, at in dispatches:
        openid = openid_of.get(unionid_of.get((corp, ext), ""))
        if openid:
            out.append({"openid": openid, "at": at.isoformat(), "channel": "wecom"})
    return out


def _engine_event(kind: str, openid: str, at: datetime, payload: dict | None) -> dict:
    """An event of the log as the engine reads it: campaigns by their engine id."""
    event = {**(payload or {}), "kind": kind, "openid": openid, "at": at.isoformat()}
    if isinstance(event.get("campaign"), int):
        event["campaign"] = engine_id_of(event["campaign"])
    return event


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
) -> PlanSnapshot:
    """Plan ``campaign`` for send time ``at`` (default now) and store the snapshot.

    The snapshot holds reach, hold-backs by reason, predicted orders, revenue (yuan) and
    unfollows beside send-to-all, and the dial's effect. The campaign becomes ``planned``.
    ``policy`` is the engine's (``fencun``; ``blast`` sends to the whole segment within
    platform limits).
    """
    if campaign.status not in (S.LINTED, S.PLANNED):
        raise CampaignError(f"a {campaign.status} campaign cannot be planned; lint it first")
    check_segment_text(campaign.segment)
    at = at or clock.now()
    state = state or build_state(campaign.account, at)
    rules = rules_for(campaign.account).as_engine_rules()
    ec = engine_campaign(campaign)
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
        dial = planner.dial_effect(
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
    with transaction.atomic():
        snapshot = PlanSnapshot.objects.create(
            campaign=campaign,
            planned_for=at,
            reach=summary.sent,
            audience=summary.audience,
            held_back=dict(summary.held_back),
            predicted=vars(summary.predicted),
            send_to_all=vars(summary.send_to_all),
            dial_effect=dial,
            delivery_method=summary.delivery_method,
            follower_value_yuan=result.follower_value_yuan,
            recipients=result.recipient_openids(ec.id),
            holdout=result.holdout_openids(ec.id),
            controls=result.control_openids(ec.id),
        )
        from fencun.campaigns.services import transition

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
    variant A; with one, each variant's batches, then the rest held for the winner."""
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
    campaign.refresh_from_db()
    return len(rows)


def approve_plan(
    campaign: Campaign, *, by: str, plan_id: int | None = None, at: datetime | None = None
) -> int:
    """Approve the plan the approver was shown and schedule the campaign for ``at``
    (now when None); returns the outbox rows written.

    ``plan_id`` names the dry run that was shown (default: the latest), so a plan made
    since in another tab is not the one approved. A send time in the past is refused
    (see :func:`fencun.campaigns.services.check_send_at`). What the console's approve
    button and ``POST /api/campaigns/{id}/approve`` both do.
    """
    scheduled_for = check_send_at(at)
    shown = None
    if plan_id is not None:
        shown = PlanSnapshot.objects.filter(campaign=campaign, pk=plan_id).first()
        if shown is None:
            raise CampaignError(gettext("This campaign has no plan %(plan)s.") % {"plan": plan_id})
    return approve(campaign, by=by, snapshot=shown, scheduled_for=scheduled_for)
