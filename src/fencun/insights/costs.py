"""One account's channel costs: the cost rows of its own sends and posts."""

from __future__ import annotations

from django.db.models import Q

from fencun.accounts.models import Account
from fencun.campaigns.models import OutboxItem
from fencun.channels.costs import CostSummary, costs_by_channel
from fencun.channels.models import BroadcastPost


def account_costs(account: Account, days: int = 30) -> dict[str, list[CostSummary]]:
    """:func:`fencun.channels.costs.costs_by_channel` for ``account`` only. A cost row
    names what was sent by the platform's reference: an outbox row's ``clientmsgid`` for
    messages, a post's remote id for posts and Moments."""
    messages = OutboxItem.objects.filter(campaign__account=account).values("clientmsgid")
    posts = BroadcastPost.objects.filter(account=account).exclude(remote_id="").values("remote_id")
    mine = Q(kind="message", reference__in=messages) | Q(kind__in=("post", "moment"), reference__in=posts)
    return costs_by_channel(days, where=mine)
