"""Console pages for the channels: broadcast posts (write, lint, schedule) and channel costs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

# The channels and what is counted on each, in the merchant's words.
CHANNEL_LABELS = {
    "wechat": _("WeChat Official Account"),
    "wecom": _("WeCom"),
    "weibo": _("Weibo"),
}
COST_KIND_LABELS = {
    "message": _("Messages"),
    "post": _("Posts"),
}
COST_DAYS = 30


@login_required
def channel_costs(request):
    """Per channel: messages and posts sent, and the platform's fees, over the last 30 days."""
    from fencun.channels.costs import costs_by_channel

    channels = [
        (CHANNEL_LABELS.get(channel, channel),
         [(COST_KIND_LABELS.get(s.kind, s.kind), s) for s in summaries])
        for channel, summaries in costs_by_channel(COST_DAYS).items()
    ]
    return render(request, "console/costs.html", {
        "channels": channels, "days": COST_DAYS, "nav": "costs",
    })
