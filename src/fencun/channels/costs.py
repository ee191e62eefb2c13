"""What each channel's sends cost: counts of messages and posts, and platform fees (yuan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum

from fencun import clock
from fencun.channels.models import ChannelCost

#: The channels a merchant sends on, in the order the console lists them.
CHANNELS = ("wechat", "wecom", "weibo")
#: Official Account mass messages carry no per-message fee (the account's yearly
#: verification fee is not a sending cost).
WECHAT_FEE_SOURCE = (
    "https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Batch_Sends_and_Originality_Checks.html"
)
#: WeCom charges nothing per customer-contact message. A service provider's app (not the
#: merchant's own self-built app, which this product is) needs an interface licence per
#: member account per year: a seat fee, not a sending cost.
WECOM_FEE_SOURCE = "https://open.work.weixin.qq.com/wwopen/common/readDocument/38829"


@dataclass(frozen=True)
class CostSummary:
    channel: str
    kind: str
    sends: int  # rows: one per post or per send call
    count: int  # messages or posts
    fee_yuan: Decimal
    sources: tuple[str, ...] = ()  # where the fees come from (the platform's pages)


def record_cost(
    channel: str,
    kind: str,
    reference: str,
    *,
    at: datetime,
    count: int = 1,
    fee_yuan: Decimal | float = 0,
    source: str = "",
) -> ChannelCost:
    """Record one send (idempotent per ``reference``: recording it again changes nothing)."""
    row, _ = ChannelCost.objects.get_or_create(
        channel=channel,
        kind=kind,
        reference=reference,
        defaults={
            "count": count,
            "fee_yuan": Decimal(str(fee_yuan)),
            "source": source,
            "occurred_at": at,
        },
    )
    return row


def costs(
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    where: Q | None = None,
) -> list[CostSummary]:
    """Counts and fees per channel and kind, for sends in ``[since, until)`` (and among
    the rows ``where`` selects, e.g. one account's)."""
    rows = ChannelCost.objects.all()
    if where is not None:
        rows = rows.filter(where)
    if channel:
        rows = rows.filter(channel=channel)
    if since:
        rows = rows.filter(occurred_at__gte=since)
    if until:
        rows = rows.filter(occurred_at__lt=until)
    grouped = (
        rows.values("channel", "kind")
        .annotate(sends=Count("id"), count=Sum("count"), fee=Sum("fee_yuan"))
        .order_by("channel", "kind")
    )
    sources: dict[tuple[str, str], list[str]] = {}
    for ch, kind, source in (
        rows.exclude(source="")
        .values_list("channel", "kind", "source")
        .distinct()
        .order_by("channel", "kind", "source")
    ):
        sources.setdefault((ch, kind), []).append(source)
    return [
        CostSummary(
            g["channel"],
            g["kind"],
            g["sends"],
            int(g["count"] or 0),
            Decimal(g["fee"] or 0),
            tuple(sources.get((g["channel"], g["kind"]), ())),
        )
        for g in grouped
    ]


def costs_by_channel(
    days: int = 30, *, now: datetime | None = None, where: Q | None = None
) -> dict[str, list[CostSummary]]:
    """:func:`costs` of the last ``days`` days for every channel in :data:`CHANNELS` (an
    empty list where nothing was sent), then any other channel that recorded sends."""
    now = now or clock.now()
    by_channel: dict[str, list[CostSummary]] = {channel: [] for channel in CHANNELS}
    for summary in costs(since=now - timedelta(days=days), where=where):
        by_channel.setdefault(summary.channel, []).append(summary)
    return by_channel
