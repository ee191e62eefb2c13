"""The long-run lift: the account's control group against everyone else.

The control group (``Rules.control_fraction``, default 5 %) is a random share of
followers, fixed per follower by a hash of the openid, who never get a marketing push
from the engine. Everyone else may get them. Because membership is random, the difference
between the two groups over a period is what marketing as a whole added (or cost): revenue
and orders per follower, and the share who unfollowed, each with a 95 % interval (Welch's
for the means, Newcombe's for the unfollow rate; see ``stats.py``).

Membership is the engine's own (:func:`fencun.engine.planner.control_mask` on the
engine's openid hashes) at the account's current fraction. Raising the fraction adds
members who may have been pushed before the change; the report states the fraction it
used.

Followers counted: those who followed the account at any time in the period (WeCom-only
contacts are not followers). Orders and unfollows are read from the event log within the
period; orders of people outside the population are not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Q

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Event, Follower
from fencun.campaigns.models import Rules
from fencun.channels.wecom.people import PREFIX as WECOM_PREFIX
from fencun.engine import planner
from fencun.engine.rules import MerchantRules
from fencun.engine.state import openid_hash
from fencun.insights import stats
from fencun.insights.models import AccountSnapshot

DEFAULT_DAYS = 90
MAX_DAYS = 730
METHOD = (
    "followers in the control group against everyone else over the period; revenue and "
    "orders per follower: Welch normal 95 % interval; unfollow rate: Newcombe hybrid score "
    "95 % interval"
)


@dataclass
class GroupFigures:
    """One group over the period."""

    followers: int
    orders: int
    revenue: float  # yuan
    unfollowed: int  # followers who unfollowed at least once in the period
    orders_per_follower: float
    revenue_per_follower: float  # yuan
    unfollow_rate: float  # unfollowed / followers


@dataclass
class Difference:
    """Everyone else minus the control group, with its 95 % interval."""

    estimate: float
    low: float
    high: float


@dataclass
class ControlLift:
    start: datetime
    end: datetime
    days: int
    control_fraction: float  # the share used for membership (the account's current rule)
    control: GroupFigures
    others: GroupFigures
    # None while either group is empty (no control group, or no one outside it).
    revenue_per_follower: Difference | None  # yuan per follower
    orders_per_follower: Difference | None
    unfollow_rate: Difference | None  # a difference of shares
    incremental_revenue: Difference | None  # others x revenue per follower difference, yuan
    method: str = METHOD

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ControlLift:
        """The report as :meth:`as_dict` stored it (datetimes as ISO text in JSON)."""

        def when(value: Any) -> datetime:
            return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

        def diff(value: Any) -> Difference | None:
            return None if value is None else Difference(**value)

        return cls(
            start=when(d["start"]),
            end=when(d["end"]),
            days=int(d["days"]),
            control_fraction=float(d["control_fraction"]),
            control=GroupFigures(**d["control"]),
            others=GroupFigures(**d["others"]),
            revenue_per_follower=diff(d.get("revenue_per_follower")),
            orders_per_follower=diff(d.get("orders_per_follower")),
            unfollow_rate=diff(d.get("unfollow_rate")),
            incremental_revenue=diff(d.get("incremental_revenue")),
            method=str(d.get("method") or METHOD),
        )


def control_members(openids: list[str], fraction: float) -> np.ndarray:
    """Per openid, whether it is in the control group at ``fraction``: the engine's rule."""
    hashes = np.fromiter((openid_hash(o) for o in openids), np.uint64, len(openids))
    return planner.control_members(hashes, fraction)


def control_fraction_of(account: Account) -> float:
    """The account's control-group share, the engine's default if it has no rules yet
    (read only: insights creates no rules)."""

    value = Rules.objects.filter(account=account).values_list("control_fraction", flat=True).first()
    return MerchantRules().control_fraction if value is None else float(value)


def _figures(orders: np.ndarray, revenue: np.ndarray, unfollowed: np.ndarray) -> GroupFigures:
    n = int(orders.size)
    o, r, u = int(orders.sum()), float(revenue.sum()), int(unfollowed.sum())
    return GroupFigures(
        followers=n,
        orders=o,
        revenue=round(r, 2),
        unfollowed=u,
        orders_per_follower=o / n if n else 0.0,
        revenue_per_follower=r / n if n else 0.0,
        unfollow_rate=u / n if n else 0.0,
    )


def _mean_difference(a: np.ndarray, b: np.ndarray) -> Difference:
    i = stats.mean_difference(
        float(a.sum()), float((a * a).sum()), int(a.size), float(b.sum()), float((b * b).sum()), int(b.size)
    )
    return Difference(i.estimate, i.low, i.high)


def control_lift(account: Account, days: int = DEFAULT_DAYS, *, now: datetime | None = None) -> ControlLift:
    """The control group against everyone else over the ``days`` before ``now`` (default:
    the last 90 days). Reads followers and the event log; writes nothing."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    end = now or clock.now()
    start = end - timedelta(days=days)
    fraction = control_fraction_of(account)
    openids = list(
        Follower.objects.filter(account=account)
        .exclude(openid__startswith=WECOM_PREFIX)
        .filter(Q(subscribed=True) | Q(unsubscribed_at__gte=start))
        .filter(Q(subscribed_at__isnull=True) | Q(subscribed_at__lte=end))
        .order_by("pk")
        .values_list("openid", flat=True)
    )
    index = {o: i for i, o in enumerate(openids)}
    n = len(openids)
    orders = np.zeros(n)
    revenue = np.zeros(n)
    unfollowed = np.zeros(n, dtype=np.bool_)
    in_period = Event.objects.filter(account=account, occurred_at__gte=start, occurred_at__lte=end)
    for openid, payload in in_period.filter(kind=kinds.ORDER).values_list("openid", "payload").iterator():
        i = index.get(openid)
        if i is None:
            continue
        try:
            amount = float((payload or {}).get("amount") or 0.0)
        except (TypeError, ValueError):
            amount = 0.0
        orders[i] += 1
        revenue[i] += amount
    for openid in in_period.filter(kind=kinds.UNSUBSCRIBE).values_list("openid", flat=True).iterator():
        i = index.get(openid)
        if i is not None:
            unfollowed[i] = True
    control = control_members(openids, fraction)
    others = ~control
    c_fig = _figures(orders[control], revenue[control], unfollowed[control])
    o_fig = _figures(orders[others], revenue[others], unfollowed[others])
    rev = orders_diff = unf = incremental = None
    if c_fig.followers and o_fig.followers:
        rev = _mean_difference(revenue[others], revenue[control])
        orders_diff = _mean_difference(orders[others], orders[control])
        u = stats.newcombe_difference(o_fig.unfollowed, o_fig.followers, c_fig.unfollowed, c_fig.followers)
        unf = Difference(u.estimate, u.low, u.high)
        k = o_fig.followers
        incremental = Difference(k * rev.estimate, k * rev.low, k * rev.high)
    return ControlLift(
        start=start,
        end=end,
        days=days,
        control_fraction=fraction,
        control=c_fig,
        others=o_fig,
        revenue_per_follower=rev,
        orders_per_follower=orders_diff,
        unfollow_rate=unf,
        incremental_revenue=incremental,
    )


#: The stored report is recomputed by the rollup task at most this often per account.
REFRESH_EVERY = timedelta(minutes=10)


def refresh(account_id: int, now: datetime | None = None, *, force: bool = False) -> ControlLift | None:
    """Recompute and store the account's lift over the default period, unless the stored
    one is younger than :data:`REFRESH_EVERY` (then None). Called by the rollup task."""
    now = now or clock.now()
    snapshot = AccountSnapshot.objects.filter(account_id=account_id).first()
    at = snapshot.control_lift_at if snapshot is not None else None
    if not force and at is not None and timedelta(0) <= now - at < REFRESH_EVERY:
        return None
    report = control_lift(Account.objects.get(pk=account_id), now=now)
    AccountSnapshot.objects.update_or_create(
        account_id=account_id,
        defaults={"control_lift": report.as_dict(), "control_lift_at": now},
        create_defaults={"control_lift": report.as_dict(), "control_lift_at": now, "computed_at": now},
    )
    return report


def stored(account: Account) -> tuple[ControlLift, datetime] | None:
    """The lift the rollup task stored last, and when it was computed; None before the first."""
    row = (
        AccountSnapshot.objects.filter(account=account)
        .values_list("control_lift", "control_lift_at")
        .first()
    )
    if row is None or not row[0] or row[1] is None:
        return None
    return ControlLift.from_dict(row[0]), row[1]
