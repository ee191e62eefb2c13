"""Console pages for the channels: broadcast posts (write, lint, schedule) and channel costs."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from fencun.channels.broadcast.errors import LimitRefused
from fencun.channels.broadcast.services import LintBlocked, WarningsNotAcknowledged, create_post
from fencun.channels.models import BroadcastPost
from fencun.console.views import _account, _send_at
from fencun.insights.costs import account_costs

# Why a post was refused before it was saved, per limit of the broadcast services.
LIMIT_LABELS = {
    "posts_per_day": _("That day already has as many posts as your daily cap allows."),
    "posts_per_week": _("That week already has as many posts as your weekly cap allows."),
    "posts_per_user_per_hour": _("Weibo's limit of posts per hour is reached."),
    "status_max_chars": _("With its tracked link the post is longer than Weibo allows."),
    "moments_per_customer_per_day": _("WeCom's limit of Moments posts per day is reached."),
    "moment_text_max_chars": _("The post is longer than WeCom Moments allow."),
}
BROADCAST_CHANNELS = {"weibo": _("Weibo"), "wecom_moments": _("WeCom customer Moments")}


class BroadcastPostForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=(), required=False)
    text = forms.CharField(label=_("Text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    link = forms.URLField(label=_("Link (optional)"), required=False, max_length=1000,
                          assume_scheme="https")
    send_at = forms.CharField(label=_("Send at (empty: now)"), required=False,
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    acknowledge = forms.BooleanField(label=_("I have read the warnings"), required=False)

    def __init__(self, *args, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        has_corp = account is not None and account.wecom_corps.exists()
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ChoiceField)
        channel.choices = [
            (k, v) for k, v in BROADCAST_CHANNELS.items() if k != "wecom_moments" or has_corp
        ]


def _finding_lines(findings) -> list[tuple[str, str]]:
    """(severity, text) per lint finding, in the page's language."""
    zh = (get_language() or "zh-hans").startswith("zh")
    lines = []
    for f in findings:
        message, fix = (f.message_zh, f.fix_zh) if zh else (f.message_en, f.fix_en)
        lines.append((str(f.severity), f"{message} — {fix}" if fix else message))
    return lines


@login_required
def broadcast(request):
    """The account's broadcast posts, and a form that lints, caps and schedules a new one."""

    account = _account(request)
    form = BroadcastPostForm(request.POST or None, account=account)
    findings: list[tuple[str, str]] = []
    if account is not None and request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            at = _send_at(d["send_at"])
        except ValueError as exc:
            form.add_error("send_at", str(exc))
        else:
            try:
                create_post(account, d["text"], link_target=d["link"], scheduled_for=at,
                            acknowledge_warnings=d["acknowledge"], channel=d["channel"] or "weibo")
            except LintBlocked as exc:
                findings = _finding_lines(exc.findings)
                form.add_error("text", _("The content lint found errors: fix them first."))
            except WarningsNotAcknowledged as exc:
                findings = _finding_lines(exc.findings)
                form.add_error("acknowledge", _("The lint has warnings: read them and tick the box."))
            except LimitRefused as exc:
                form.add_error(None, LIMIT_LABELS.get(exc.limit, str(exc)))
            else:
                return redirect("console-broadcast")
    posts = BroadcastPost.objects.filter(account=account).order_by("-pk")[:200] if account else []
    return render(request, "console/broadcast.html", {
        "account": account, "form": form, "findings": findings, "posts": posts, "nav": "broadcast",
    })

# The channels and what is counted on each, in the merchant's words.
CHANNEL_LABELS = {
    "wechat": _("WeChat Official Account"),
    "wecom": _("WeCom"),
    "weibo": _("Weibo"),
}
COST_KIND_LABELS = {
    "message": _("Messages"),
    "post": _("Posts"),
    "moment": _("Moments posts"),
}
COST_DAYS = 30


@login_required
def channel_costs(request):
    """Per channel: the account's messages and posts sent, and the platform's fees, over
    the last 30 days."""

    account = _account(request)
    by_channel = account_costs(account, COST_DAYS) if account is not None else {}
    channels = [
        (CHANNEL_LABELS.get(channel, channel),
         [(COST_KIND_LABELS.get(s.kind, s.kind), s) for s in summaries])
        for channel, summaries in by_channel.items()
    ]
    return render(request, "console/costs.html", {
        "channels": channels, "days": COST_DAYS, "nav": "costs",
    })
