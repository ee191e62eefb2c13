"""What each channel QR code brought: followers, how many stayed, what they bought.

Read from the event log: a follower came through a channel when a subscribe event of
theirs carries the channel's scene; they *stayed* while they are still subscribed; their
orders count from the channel's creation on (orders imported from before it are not the
channel's doing). Scans by people who already followed are counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Event, Follower
from fencun.operations.models import QrChannel


@dataclass(frozen=True)
class ChannelStats:
    channel_id: int
    name: str
    scene: str
    subscribed: int  # followers who subscribed through the code
    staying: int  # of them, still subscribed
    scans: int  # scans by people who already followed
    buyers: int  # of them, who ordered since the channel was made
    orders: int
    revenue: float  # yuan

    @property
    def retention(self) -> float | None:
        return self.staying / self.subscribed if self.subscribed else None


def channel_stats(account: Account, since: datetime | None = None) -> list[ChannelStats]:
    """Each channel of ``account`` (archived ones included), newest first; ``since``:
    count subscribes, scans and orders from then on only."""
    out = []
    for channel in QrChannel.objects.filter(account=account).order_by("-id"):
        # A key lookup, not a KT() annotation: on SQLite an annotation inlined into the
        # ``openid__in`` subquery compares against an unencoded string (malformed JSON).
        events = Event.objects.filter(account=account, payload__scene_value=channel.scene)
        if since is not None:
            events = events.filter(occurred_at__gte=since)
        came = events.filter(kind=kinds.SUBSCRIBE).values("openid")
        scans = events.filter(kind=kinds.SCAN).count()
        staying = Follower.objects.filter(account=account, openid__in=came, subscribed=True).count()
        start = max(channel.created_at, since) if since is not None else channel.created_at
        orders = list(
            Event.objects.filter(
                account=account, kind=kinds.ORDER, openid__in=came, occurred_at__gte=start
            ).values_list("openid", "payload")
        )
        out.append(
            ChannelStats(
                channel_id=channel.pk, name=channel.name, scene=channel.scene,
                subscribed=came.distinct().count(), staying=staying, scans=scans,
                buyers=len({openid for openid, _ in orders}), orders=len(orders),
                revenue=sum(float((p or {}).get("amount") or 0) for _, p in orders),
            )
        )
    return out
