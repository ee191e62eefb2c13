"""What the console and the campaign side call: the overview, a campaign's report, and
the events the campaign side records for each recipient (see ``rollups.py``).

The overview and the report read only the rollup tables and indexed lookups; they are
as fresh as the last rollup run (``computed_through`` says up to which event).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Follower
from fencun.audience.services import NewEvent, record_events
from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot
from fencun.campaigns.variants import LETTERS, is_ab, rule_of
from fencun.engine.clock import SHANGHAI
from fencun.insights import stats
from fencun.insights.control_lift import control_lift
from fencun.insights.links import tracked_url
from fencun.insights.models import (
    HOLDOUT,
    AccountSnapshot,
    CampaignArm,
    DailyCount,
    HoldBack,
    Watermark,
)
from fencun.insights.orders import attribution_window, import_orders, register_code
from fencun.insights.rollups import HOLDOUT_KIND, NAME, PRESSURE_BUCKETS

__all__ = [
    "campaign_report",
    "control_lift",
    "import_orders",
    "overview",
    "record_deliveries",
    "record_hold_backs",
    "register_code",
    "tracked_url",
]

SOURCE = "campaign"


def record_deliveries(
    account: Account,
    campaign_id: int,
    openids: list[str],
    at: datetime,
    *,
    variant: str = "A",
    msg_id: str = "",
    holdout: bool = False,
) -> int:
    """Record that ``campaign_id`` was sent to ``openids`` (or, ``holdout=True``, that they
    were kept back as its holdout). Idempotent per (campaign, follower); returns how many
    were new."""
    kind = HOLDOUT_KIND if holdout else kinds.DELIVERY
    payload: dict[str, Any] = {"campaign": campaign_id}
    if not holdout:
        payload["variant"] = variant
        if msg_id:
            payload["msg_id"] = msg_id
    new = [
        NewEvent(kind, o, at, dict(payload), SOURCE, f"{kind}:{campaign_id}:{o}") for o in openids
    ]
    created = 0
    for start in range(0, len(new), 1000):
        created += sum(r.created for r in record_events(account, new[start : start + 1000]))
    return created


def record_hold_backs(
    account: Account, campaign_id: int, at: datetime, by_reason: dict[str, int]
) -> None:
    """Record how many followers the approved plan of ``campaign_id`` held back, by reason.
    Calling it again for the same campaign replaces the figures (a re-plan)."""
    day = timezone.localtime(at, SHANGHAI).date()
    for reason, followers in by_reason.items():
        if followers < 0:
            raise ValueError(f"negative count for {reason!r}")
        HoldBack.objects.update_or_create(
            campaign_id=campaign_id,
            reason=str(reason)[:64],
            defaults={"account": account, "day": day, "followers": int(followers)},
        )


@dataclass
class DayPoint:
    day: date
    subscribes: int
    unsubscribes: int
    net: int
    unfollow_rate: float  # unsubscribes / followers at the end of the day
    sent: int
    held_back: int
    revenue: float


@dataclass
class Overview:
    followers: int
    net_growth: int
    subscribes: int
    unsubscribes: int
    unfollow_rate: float  # unsubscribes in the period / followers at its start
    sent: int
    held_back: int  # holdouts plus the plans' hold-backs
    orders: int
    revenue: float  # yuan, all orders
    revenue_attributed: float  # yuan, orders attributed to a campaign
    revenue_incremental: float  # yuan, estimated beyond the holdouts
    pressure: dict[str, int]  # followers by pushes in the last 7 days
    days: list[DayPoint] = field(default_factory=list)
    computed_through: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def overview(account: Account, days: int = 30) -> Overview:
    """The account at a glance over the last ``days`` full local days and today so far
    (``days + 1`` points): a month that ended yesterday -- the demo's, a report's -- is
    whole in it, and what happened today shows at once."""
    today = timezone.localtime(clock.now(), SHANGHAI).date()
    first = today - timedelta(days=days)
    wanted = [kinds.SUBSCRIBE, kinds.UNSUBSCRIBE, kinds.DELIVERY, HOLDOUT_KIND, kinds.ORDER]
    rows = DailyCount.objects.filter(
        account=account, campaign_id=0, kind__in=wanted, day__gte=first
    ).values_list("day", "kind", "count", "amount")
    per_day: dict[date, dict[str, tuple[int, float]]] = {}
    for day, kind, count, amount in rows:
        per_day.setdefault(day, {})[kind] = (count, amount)
    snapshot = AccountSnapshot.objects.filter(account=account).first()
    if snapshot is not None and snapshot.followers is not None:
        followers = snapshot.followers  # as of the last rollup run, like every other figure here
    else:
        followers = Follower.objects.filter(account=account, subscribed=True).count()
    points: list[DayPoint] = []
    totals = dict.fromkeys(wanted, 0)
    revenue = 0.0
    for i in range(days + 1):
        day = first + timedelta(days=i)
        cells = per_day.get(day, {})

        def get(k: str, cells: dict[str, tuple[int, float]] = cells) -> tuple[int, float]:
            return cells.get(k, (0, 0.0))

        for k in wanted:
            totals[k] += get(k)[0]
        revenue += get(kinds.ORDER)[1]
        points.append(
            DayPoint(
                day,
                get(kinds.SUBSCRIBE)[0],
                get(kinds.UNSUBSCRIBE)[0],
                get(kinds.SUBSCRIBE)[0] - get(kinds.UNSUBSCRIBE)[0],
                0.0,
                get(kinds.DELIVERY)[0],
                get(HOLDOUT_KIND)[0],
                get(kinds.ORDER)[1],
            )
        )
    # Followers at the end of each day, walking back from now.
    end = followers
    for p in reversed(points):
        p.unfollow_rate = p.unsubscribes / end if end > 0 else 0.0
        end -= p.net
    net = totals[kinds.SUBSCRIBE] - totals[kinds.UNSUBSCRIBE]
    at_start = followers - net
    attributed = (
        DailyCount.objects.filter(account=account, kind=kinds.ORDER, day__gte=first)
        .exclude(campaign_id=0)
        .aggregate(s=Sum("amount"))["s"]
        or 0.0
    )
    incremental = 0.0
    sent_campaigns = set(
        DailyCount.objects.filter(account=account, kind=kinds.DELIVERY, day__gte=first)
        .exclude(campaign_id=0)
        .values_list("campaign_id", flat=True)
    )
    arms = (
        list(CampaignArm.objects.filter(campaign_id__in=sent_campaigns)) if sent_campaigns else []
    )
    by_campaign: dict[int, list[CampaignArm]] = {}
    for a in arms:
        by_campaign.setdefault(a.campaign_id, []).append(a)
    for group in by_campaign.values():
        incremental += _incremental_revenue(group)
    held_by_day: dict[date, int] = {}
    for day, held in HoldBack.objects.filter(account=account, day__gte=first).values_list(
        "day", "followers"
    ):
        held_by_day[day] = held_by_day.get(day, 0) + held
    for p in points:
        p.held_back += held_by_day.get(p.day, 0)
    mark = Watermark.objects.filter(name=NAME).values_list("last_event_id", flat=True).first() or 0
    return Overview(
        followers=followers,
        net_growth=net,
        subscribes=totals[kinds.SUBSCRIBE],
        unsubscribes=totals[kinds.UNSUBSCRIBE],
        unfollow_rate=totals[kinds.UNSUBSCRIBE] / at_start if at_start > 0 else 0.0,
        sent=totals[kinds.DELIVERY],
        held_back=totals[HOLDOUT_KIND] + sum(held_by_day.values()),
        orders=totals[kinds.ORDER],
        revenue=round(revenue, 2),
        revenue_attributed=round(attributed, 2),
        revenue_incremental=round(incremental, 2),
        pressure=snapshot.pressure if snapshot else dict.fromkeys(PRESSURE_BUCKETS, 0),
        days=points,
        computed_through=mark,
    )


def _incremental_revenue(arms: list[CampaignArm]) -> float:
    """Treated followers × (revenue per treated − revenue per holdout follower), in yuan."""
    holdout = next((a for a in arms if a.arm == HOLDOUT), None)
    treated = [a for a in arms if a.arm != HOLDOUT]
    if holdout is None or holdout.members == 0 or not treated:
        return 0.0
    n = sum(a.members for a in treated)
    if n == 0:
        return 0.0
    return n * (sum(a.revenue for a in treated) / n - holdout.revenue / holdout.members)


@dataclass
class ArmResult:
    arm: str
    members: int
    read: int
    clicked: int
    converters: int
    orders: int
    revenue: float
    unfollowed: int
    read_rate: float
    click_rate: float
    conversion_rate: float
    conversion_ci: tuple[float, float]  # Wilson 95 %
    revenue_per_follower: float


@dataclass
class Lift:
    """Treated minus holdout, with 95 % intervals (Newcombe for conversion, Welch for revenue)."""

    conversion: float
    conversion_ci: tuple[float, float]
    revenue_per_follower: float
    revenue_per_follower_ci: tuple[float, float]
    unfollow_rate: float
    unfollow_rate_ci: tuple[float, float]
    incremental_revenue: float
    incremental_revenue_ci: tuple[float, float] = (0.0, 0.0)  # the revenue interval times those sent
    # Followers the push cost: the unfollow rate's lift times the followers sent it, with
    # its interval (negative: fewer left than in the holdout).
    unfollows_caused: float = 0.0
    unfollows_caused_ci: tuple[float, float] = (0.0, 0.0)


@dataclass
class Restraint:
    """What holding back was predicted to spare, from the plan the campaign was approved
    on: the followers of its audience left out (held back by a rule or the engine, or
    kept as the holdout), and what sending to them too would have added, by the same
    estimates as the plan's own."""

    left_out: int
    unfollows_spared: float  # predicted unfollows had they been sent too
    revenue_given_up: float  # predicted incremental revenue they would have added (yuan; < 0: lost)


@dataclass
class CampaignReport:
    campaign_id: int
    sent: int
    delivered: int | None  # from MASSSENDJOBFINISH receipts; None when none arrived
    read: int
    clicked: int
    ordered: int
    revenue: float
    unfollowed: int
    holdout: int
    held_back: dict[str, int]  # by the engine's reason
    window_days: float
    arms: list[ArmResult]
    lift: Lift | None  # None without a holdout
    variants: list[ArmResult]  # the A/B test's arms, best conversion first (not the rest)
    method: str = "conversion: Newcombe hybrid score (Wilson); revenue per follower: Welch normal"
    winner: str = ""  # the A/B variant the rest of the audience got; "" until decided
    winner_rule: str = ""  # read_rate | click_rate | order_rate
    winner_decided_at: datetime | None = None
    # The figures the winner was decided on, per variant: members, read, clicked, ordered, rate.
    winner_basis: dict[str, dict[str, float]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # variant letter -> title
    # Recipients the platform may or may not have reached: their send's answer was lost
    # and it cannot be asked (outbox rows of unknown outcome); never sent again.
    unknown: int = 0
    restraint: Restraint | None = None  # None until a plan is approved

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _arm_result(a: CampaignArm) -> ArmResult:
    n = a.members
    ci = stats.wilson(a.converters, n)
    return ArmResult(
        arm=a.arm,
        members=n,
        read=a.read,
        clicked=a.clicked,
        converters=a.converters,
        orders=a.orders,
        revenue=round(a.revenue, 2),
        unfollowed=a.unfollowed,
        read_rate=a.read / n if n else 0.0,
        click_rate=a.clicked / n if n else 0.0,
        conversion_rate=ci.estimate,
        conversion_ci=(ci.low, ci.high),
        revenue_per_follower=a.revenue / n if n else 0.0,
    )


def _pool(arms: list[CampaignArm]) -> CampaignArm:
    pooled = CampaignArm(arm="treated")
    for a in arms:
        for name in (
            "members",
            "read",
            "clicked",
            "converters",
            "orders",
            "revenue",
            "revenue_sq",
            "unfollowed",
        ):
            setattr(pooled, name, getattr(pooled, name) + getattr(a, name))
    return pooled


def campaign_report(campaign: Any) -> CampaignReport:
    """A campaign's outcomes: ``campaign`` is a campaign object (its ``pk`` is used) or its id."""
    campaign_id = int(getattr(campaign, "pk", campaign))
    counts: dict[str, tuple[int, float]] = {}
    for kind, count, amount in (
        DailyCount.objects.filter(campaign_id=campaign_id)
        .values("kind")
        .annotate(c=Sum("count"), a=Sum("amount"))
        .values_list("kind", "c", "a")
    ):
        counts[kind] = (int(count or 0), float(amount or 0.0))
    arms = list(CampaignArm.objects.filter(campaign_id=campaign_id).order_by("arm"))
    holdout = next((a for a in arms if a.arm == HOLDOUT), None)
    treated = [a for a in arms if a.arm != HOLDOUT]
    pooled = _pool(treated)
    lift = None
    if holdout is not None and holdout.members > 0 and pooled.members > 0:
        conv = stats.newcombe_difference(
            pooled.converters, pooled.members, holdout.converters, holdout.members
        )
        unf = stats.newcombe_difference(
            pooled.unfollowed, pooled.members, holdout.unfollowed, holdout.members
        )
        rev = stats.mean_difference(
            pooled.revenue,
            pooled.revenue_sq,
            pooled.members,
            holdout.revenue,
            holdout.revenue_sq,
            holdout.members,
        )
        n = pooled.members
        lift = Lift(
            conv.estimate,
            (conv.low, conv.high),
            rev.estimate,
            (rev.low, rev.high),
            unf.estimate,
            (unf.low, unf.high),
            round(_incremental_revenue(arms), 2),
            (round(rev.low * n, 2), round(rev.high * n, 2)),
            round(unf.estimate * n, 1),
            (round(unf.low * n, 1), round(unf.high * n, 1)),
        )
    # The rest of an A/B audience ("rest:B") got the winner after the test: its arm is
    # reported with the others but is not one of the test's variants.
    tested = [a for a in treated if not a.arm.startswith("rest")]
    variants = (
        sorted((_arm_result(a) for a in tested), key=lambda r: -r.conversion_rate)
        if len(tested) > 1
        else []
    )
    delivered = counts.get("delivered")
    ab = _ab_decision(campaign_id)
    return CampaignReport(
        unknown=_unknown_recipients(campaign_id),
        restraint=_restraint(campaign_id),
        campaign_id=campaign_id,
        sent=pooled.members,
        delivered=int(delivered[1]) if delivered else None,
        read=counts.get(kinds.READ, (0, 0.0))[0],
        clicked=counts.get(kinds.LINK_CLICK, (0, 0.0))[0],
        ordered=counts.get(kinds.ORDER, (0, 0.0))[0],
        revenue=round(counts.get(kinds.ORDER, (0, 0.0))[1], 2),
        unfollowed=pooled.unfollowed,
        holdout=holdout.members if holdout else 0,
        held_back=dict(
            HoldBack.objects.filter(campaign_id=campaign_id).values_list("reason", "followers")
        ),
        window_days=attribution_window().total_seconds() / 86400,
        arms=[_arm_result(a) for a in arms],
        lift=lift,
        variants=variants,
        **ab,
    )


def _restraint(campaign_id: int) -> Restraint | None:
    """What the approved plan's hold-backs were predicted to spare (read from the campaign side)."""

    plan = (
        PlanSnapshot.objects.filter(campaign_id=campaign_id, approved_at__isnull=False)
        .order_by("-approved_at")
        .first()
    )
    if plan is None or not plan.predicted or not plan.send_to_all:
        return None
    sent, everyone = plan.predicted, plan.send_to_all
    return Restraint(
        left_out=max(int(everyone.get("reach", 0)) - int(sent.get("reach", 0)), 0),
        unfollows_spared=round(
            float(everyone.get("unfollows", 0.0)) - float(sent.get("unfollows", 0.0)), 1
        ),
        revenue_given_up=round(
            float(everyone.get("revenue", 0.0)) - float(sent.get("revenue", 0.0)), 2
        ),
    )


def _unknown_recipients(campaign_id: int) -> int:
    """Recipients of the campaign's outbox rows of unknown outcome (read from the campaign side)."""

    rows = OutboxItem.objects.filter(campaign_id=campaign_id, status=OutboxItem.Status.UNKNOWN)
    return sum(len(openids) for openids in rows.values_list("openids", flat=True))


def _ab_decision(campaign_id: int) -> dict[str, Any]:
    """The campaign's A/B titles, rule and decided winner, read from the campaign side."""

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or not is_ab(campaign):
        return {}
    titles = [campaign.title, *campaign.title_variants]
    return {
        "winner": campaign.ab_winner,
        "winner_rule": rule_of(campaign),
        "winner_decided_at": campaign.ab_decided_at,
        "winner_basis": dict(campaign.ab_results or {}),
        "titles": {LETTERS[i]: str(t) for i, t in enumerate(titles)},
    }
