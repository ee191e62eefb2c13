"""Console pages: thin views over the other apps' models and service functions."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fencun.accounts import audit, roles
from fencun.accounts.current import shown_connection
from fencun.accounts.models import Account
from fencun.audience.models import Event, Follower, Store
from fencun.campaigns import plan_words, planning
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.preview import preview
from fencun.campaigns.segments import interests
from fencun.campaigns.services import (
    HHMM,
    RULE_FIELDS,
    CampaignError,
    RulesError,
    archive_campaign,
    campaigns_of,
    cancel,
    check_send_at,
    create_campaign,
    delete_campaign,
    delivery_counts,
    delivery_reasons,
    lint_campaign,
    lint_text,
    pause,
    publication_offer,
    publish_copy,
    resume,
    rules_for,
    unarchive_campaign,
    update_campaign,
    update_rules,
)
from fencun.catalog.models import Category, Product
from fencun.catalog.services import (
    STORE_FIELDS,
    CatalogError,
    delete_product,
    delete_store,
    save_product,
    save_store,
)
from fencun.channels.broadcast.channel import WeiboBroadcast
from fencun.channels.wechat.channel import OfficialAccount
from fencun.channels.wechat.covers import THUMB_MAX_BYTES
from fencun.channels.wecom.channel import CustomerContact
from fencun.console import access
from fencun.console.forms import AccountForm, AutoReplyForm, ProductForm, StoreForm
from fencun.console.limit_words import merchant_rows
from fencun.engine import geo
from fencun.gateway.models import AutoReply
from fencun.gateway.reply_rules import delete_auto_reply, save_auto_reply
from fencun.insights import control_lift
from fencun.insights.article_stats import campaign_article_stats
from fencun.insights.report_words import report_words
from fencun.insights.services import campaign_report as report_of
from fencun.insights.services import overview as insights_overview

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _account(request) -> Account | None:
    """The account the console shows this user (see ``fencun.console.access``)."""
    return access.current_account(request)


def accounts_context(request) -> dict:
    """For the header: the accounts this user may choose among (only when there are
    several), and their role in the one shown."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    account = _account(request)
    context: dict[str, object] = {"console_role": access.current_role(request)}
    accounts = list(roles.accounts_for(request.user).order_by("id").only("id", "name", "app_id")[:200])
    if len(accounts) >= 2:
        context.update({"console_accounts": accounts, "console_account": account})
    return context


@login_required
@require_POST
def account_switch(request):
    """Show another of the user's accounts: another account's id is a 404 like a missing
    one, the choice is kept in the session."""
    account = get_object_or_404(roles.accounts_for(request.user), pk=request.POST.get("account") or 0)
    request.session[access.SESSION_ACCOUNT] = account.pk
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


@login_required
def overview(request):
    account = _account(request)
    data = chart = lift = lift_at = None
    if account is not None:

        data = insights_overview(account, 30)
        lift, lift_at = _long_run_lift(account)
        chart = {
            "days": [p.day.isoformat() for p in data.days],
            "net": [p.net for p in data.days],
            "unfollow_rate": [round(p.unfollow_rate * 100, 3) for p in data.days],
            "sent": [p.sent for p in data.days],
            "held_back": [p.held_back for p in data.days],
            "pressure_keys": list(data.pressure.keys()),
            "pressure_values": list(data.pressure.values()),
            "lift_groups": [str(_("Control group")), str(_("Everyone else"))],
            "lift_revenue": [round(g.revenue_per_follower, 2) for g in (lift.control, lift.others)],
        }
    return render(request, "console/overview.html", {
        "account": account, "data": data, "chart_json": chart, "nav": "overview",
        "lift": lift, "lift_at": lift_at,
    })


def _long_run_lift(account: Account):
    """The long-run lift the rollup task stored, and when; before its first run, computed
    now (and not stored: a page view writes nothing)."""

    found = control_lift.stored(account)
    return found if found is not None else (control_lift.control_lift(account), None)


@login_required
def followers(request):
    account = _account(request)
    q = request.GET.get("q", "").strip()
    # WeCom customers who do not follow the account have events under their person key
    # (``wecom:<external_userid>``), but are not followers.
    from fencun.channels.wecom.people import PREFIX

    qs = Follower.objects.filter(account=account).exclude(openid__startswith=PREFIX).order_by("-id")
    if q:
        qs = qs.filter(openid__icontains=q) | qs.filter(remark__icontains=q)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "console/followers.html", {"page": page, "q": q, "nav": "followers"})


# What each kind of event means on a follower's timeline.
EVENT_LABELS = {
    "subscribe": _("Followed"),
    "unsubscribe": _("Unfollowed"),
    "delivery": _("Push received"),
    "holdout": _("Kept back (holdout)"),
    "read": _("Read a push"),
    "link_click": _("Clicked a link"),
    "order": _("Order"),
    "text": _("Message"),
    "location": _("Location"),
    "click": _("Menu click"),
    "view": _("Menu link"),
    "scan": _("Scanned a QR code"),
    "profile": _("Profile synced"),
}


def _timeline(events: list[Event]) -> list[tuple[object, StrOrPromise, str]]:
    """(when, what, detail) per event; campaigns by name, orders by amount."""

    ids = {e.payload.get("campaign") for e in events if isinstance(e.payload, dict)}
    # Only the follower's own account's campaigns, whatever an event's payload names.
    names = dict(Campaign.objects.filter(
        pk__in=[i for i in ids if isinstance(i, int)], account_id__in={e.account_id for e in events},
    ).values_list("pk", "name"))
    rows: list[tuple[object, StrOrPromise, str]] = []
    for e in events:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.kind == "order":
            detail = f"¥{p.get('amount', 0):,.2f}" + (f" · {names[p['campaign']]}" if p.get("campaign") in names else "")
        elif p.get("campaign") in names:
            detail = names[p["campaign"]]
        elif e.kind == "text":
            detail = str(p.get("content", ""))[:60]
        elif e.kind == "click":
            detail = str(p.get("key", ""))
        else:
            detail = ""
        rows.append((e.occurred_at, EVENT_LABELS.get(e.kind, e.kind), detail))
    return rows


@login_required
def follower(request, pk: int):
    f = get_object_or_404(Follower, pk=pk, account=_account(request))
    events = _timeline(list(Event.objects.filter(follower=f).order_by("-occurred_at")[:100]))
    stores = list(Store.objects.filter(account=f.account)) or list(Store.objects.filter(account=None))
    distance = None
    if f.lat is not None and f.lng is not None and stores:
        d = min(geo.haversine_km(f.lat, f.lng, s.lat, s.lng) for s in stores)
        distance = None if math.isnan(d) else round(d, 1)
    plot = {
        "stores": [[s.lng, s.lat, s.name] for s in stores],
        "follower": [[f.lng, f.lat]] if f.lat is not None and f.lng is not None else [],
    }

    return render(request, "console/follower.html", {
        "f": f, "events": events, "distance": distance, "plot_json": plot, "nav": "followers",
        "interests": interests(f.account, f.openid),
    })


@login_required
def stores(request):
    account = _account(request)
    rows = Store.objects.filter(account=account).order_by("name") if account else Store.objects.none()
    return render(request, "console/stores.html", {"stores": rows, "nav": "stores"})


@login_required
def store_edit(request, pk: int | None = None):
    account = _account(request)
    store = get_object_or_404(Store, pk=pk, account=account) if pk else None
    form = StoreForm(account, request.POST or None, instance=store)
    if request.method == "POST" and form.is_valid():
        try:
            save_store(account, store, **{name: form.cleaned_data[name] for name in STORE_FIELDS})
        except CatalogError as exc:
            _add_errors(form, exc.errors)
        else:
            return redirect("console-stores")
    return render(request, "console/store_form.html", {"form": form, "store": store, "nav": "stores"})


@login_required
@require_POST
def store_delete(request, pk: int):
    delete_store(get_object_or_404(Store, pk=pk, account=_account(request)))
    return redirect("console-stores")


def _add_errors(form: forms.BaseForm, errors: dict[str, list[str]]) -> None:
    """A domain function's refusal, field by field, on the form that was shown."""
    for name, messages in errors.items():
        form.add_error(name if name in form.fields else None, messages)


@login_required
def campaigns(request):
    account = _account(request)
    archived = request.GET.get("archived") == "1"
    rows = campaigns_of(account, archived=archived)[:200] if account else []
    return render(request, "console/campaigns.html", {"campaigns": rows, "archived": archived, "nav": "campaigns"})


@login_required
def campaign_report(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk, account=_account(request))
    report = report_of(campaign)
    return render(request, "console/campaign_report.html", {
        "campaign": campaign, "r": report, "words": report_words(report), "nav": "campaigns",
        "platform": campaign_article_stats(campaign),
    })


class RulesForm(forms.ModelForm):
    quiet_start = forms.RegexField(regex=f"^{HHMM}$", label=_("Quiet hours start"),
                                   error_messages={"invalid": _("Use HH:MM, for example 22:00.")})
    quiet_end = forms.RegexField(regex=f"^{HHMM}$", label=_("Quiet hours end"),
                                 error_messages={"invalid": _("Use HH:MM, for example 08:00.")})

    class Meta:
        from fencun.campaigns.models import Rules
        from fencun.campaigns.services import RULE_FIELDS

        model = Rules
        fields = list(RULE_FIELDS)
        help_texts = {
            "quiet_start": _("No push is sent between these times (Beijing time)."),
            "weekly_cap": _("At most this many pushes to one follower in a week, all campaigns together."),
            "category_cooldown_days": _("Days before a follower gets another push of the same category."),
            "min_gap_hours": _("Hours between two pushes to one follower, whatever their category."),
            "holdout_fraction": _("Share of each campaign's chosen followers kept back at random, to measure "
                                  "what the campaign adds."),
            "follower_value_yuan": _("What keeping one follower is worth to you. The higher, the more careful "
                                     "fencun is: it sends only pushes worth more than the unfollows they risk. "
                                     "Leave it empty to learn it from your orders."),
        }


@login_required
def rules(request):
    account = _account(request)
    if account is None:
        return render(request, "console/rules.html", {"account": None, "nav": "rules"})
    form = RulesForm(request.POST or None, instance=rules_for(account))
    if request.method == "POST" and form.is_valid():
        try:
            update_rules(account, **{name: form.cleaned_data[name] for name in RULE_FIELDS})
        except RulesError as exc:
            for name, messages in exc.errors.items():
                form.add_error(name if name in form.fields else None, messages)
        else:
            return redirect("console-rules")
    limits = [(_("WeChat Official Account"), *merchant_rows(OfficialAccount.limits_for(account.account_type)))]
    if account.wecom_corps.exists():
        limits.append((_("WeCom customer contact"), *merchant_rows(CustomerContact.limits())))
    limits.append((_("Weibo"), *merchant_rows(WeiboBroadcast.limits())))
    return render(request, "console/rules.html", {
        "account": account, "form": form, "limits": limits, "nav": "rules",
        # The platforms' own notes are in English: shown on the English page only.
        "show_notes": not (get_language() or "zh-hans").startswith("zh"),
        "connection": shown_connection(account),
    })


# Why followers were held back, and the predicted figures: the words the API uses too.
REASON_LABELS = plan_words.HOLD_BACK_LABELS
PREDICTED_LABELS = plan_words.PREDICTED_LABELS


def _predicted_rows(plan) -> list[dict]:
    """One row per predicted figure: ``cells`` holds (value, interval) for this plan and
    for send-to-all (the interval is None for reach, and for plans made before intervals
    were stored)."""

    def interval(prediction: dict, key: str):
        ci = prediction.get(f"{key}_ci")
        return tuple(ci) if isinstance(ci, list | tuple) and len(ci) == 2 else None

    return [
        {"key": key, "label": label,
         "cells": [(p.get(key), interval(p, key)) for p in (plan.predicted, plan.send_to_all)]}
        for key, label in PREDICTED_LABELS.items()
    ]


def _send_at(raw: str):
    """The approval's send time from a ``datetime-local`` field (Asia/Shanghai); now if empty."""
    from datetime import datetime

    from django.utils import timezone

    from fencun import clock

    if not raw.strip():
        return clock.now()
    try:
        at = timezone.make_aware(datetime.fromisoformat(raw))
    except ValueError:
        raise ValueError(_("The send time is not a date and time.")) from None
    return check_send_at(at)


#: The steps of the campaign page a state offers (the page shows only those).
STEPS_BY_STATUS: dict[str, tuple[str, ...]] = {
    Campaign.Status.DRAFT: ("edit", "delete", "lint", "preview"),
    Campaign.Status.LINTED: ("edit", "delete", "lint", "dry_run", "preview"),
    Campaign.Status.PLANNED: ("edit", "delete", "lint", "dry_run", "approve", "preview"),
    Campaign.Status.APPROVED: ("cancel", "preview"),
    Campaign.Status.SCHEDULED: ("pause", "cancel", "preview"),
    Campaign.Status.SENDING: ("pause", "preview"),
    Campaign.Status.PAUSED: ("resume", "cancel", "preview"),
    Campaign.Status.DONE: ("archive",),
    Campaign.Status.CANCELLED: ("delete", "archive"),
}


def _campaign_step(request, c: Campaign, step: str) -> list:
    """Run one step of the campaign page (one of the state's :data:`STEPS_BY_STATUS`);
    returns the lint's findings when the step is the lint."""
    post = request.POST
    if step not in campaign_steps(c):
        raise CampaignError(_("This step is not open to a campaign in the state %(status)s.")
                            % {"status": c.get_status_display()})
    if step == "lint":
        return lint_campaign(c, acknowledge_warnings=bool(post.get("acknowledge")))
    if step == "dry_run":
        raw = post.get("send_at", "")
        planning.dry_run(c, _send_at(raw) if raw.strip() else None)
    elif step == "preview":
        preview(c, post.get("openid", "").strip())
    elif step == "approve":
        raw = post.get("plan", "")
        # The plan the merchant was shown, not one made since in another tab.
        planning.approve_plan(c, by=request.user.get_username(), plan_id=int(raw) if raw.isdigit() else None)
    elif step == "cancel":
        cancel(c)
    elif step == "pause":
        pause(c, str(_("Paused by %(who)s.") % {"who": request.user.get_username()}))
    elif step == "resume":
        resume(c)
    elif step == "delete":
        delete_campaign(c)
    elif step == "archive":
        archive_campaign(c)
    elif step == "unarchive":
        unarchive_campaign(c)
    return []


def _publish_copy(c: Campaign) -> Campaign:
    """The article published too, pushed to nobody: offered where the engine held followers back."""
    if not publication_offer(c):
        raise CampaignError(_("Publishing too is offered for a mass-sent article whose plan held followers back."))
    return publish_copy(c)


def campaign_steps(c: Campaign) -> tuple[str, ...]:
    """The steps the campaign page offers: its state's, and for an archived campaign
    only bringing it back."""
    if c.archived_at is not None:
        return ("unarchive",)
    return STEPS_BY_STATUS.get(c.status, ())


@login_required
def campaign(request, pk: int):
    """One campaign's way to the outbox: lint, dry-run beside send-to-all and the dial,
    approve and schedule; then pause, resume or cancel. Each state shows its own steps."""

    c = get_object_or_404(Campaign, pk=pk, account=_account(request))
    findings = []
    error: StrOrPromise = ""
    previewed = ""
    if request.method == "POST":
        step = request.POST.get("step", "")
        try:
            if step == "publish_copy":
                return redirect("console-campaign", _publish_copy(c).pk)
            findings = _campaign_step(request, c, step)
        except (CampaignError, ValueError) as exc:
            error = str(exc)
        else:
            if step == "delete":
                return redirect("console-campaigns")
            previewed = request.POST.get("openid", "").strip() if step == "preview" else ""
        c.refresh_from_db()
    plan = c.plans.order_by("-created_at", "-pk").first()
    rows = []
    warnings: list[str] = []
    if plan is not None:
        rows = _predicted_rows(plan)
        held = sorted(plan.held_back.items(), key=lambda kv: -kv[1])
        warnings = planning.plan_warnings(plan)
    delivery = reasons = None
    if c.outbox.exists():
        delivery = delivery_counts(c)
        statuses = dict(OutboxItem.Status.choices)
        reasons = [{**vars(g), "status_label": statuses.get(g.status, g.status)} for g in delivery_reasons(c)]
    return render(request, "console/campaign.html", {
        "c": c, "findings": findings, "error": error, "plan": plan, "nav": "campaigns", "previewed": previewed,
        "steps": campaign_steps(c),
        "publish_offer": publication_offer(c) if c.archived_at is None else 0,
        "warnings": warnings,
        "delivery_words": plan_words.delivery_words(plan.delivery_method, c.account.account_type, plan.reach)
        if plan is not None else "",
        "delivery": delivery, "reasons": reasons,
        "history": audit.trail(c.account, c),
        "predicted": rows,
        "held": [(REASON_LABELS.get(k, k), n) for k, n in held] if plan is not None else [],
    }, status=400 if error else 200)


@login_required
@require_POST
def campaign_lint(request):
    """The content lint of the draft as typed: ``{"findings": [...]}`` in the page's language."""
    account = _account(request)
    if account is None:
        return JsonResponse({"error": "no account"}, status=404)
    zh = (get_language() or "zh-hans").startswith("zh")
    findings = lint_text(account, request.POST.get("message_type", "text"), request.POST.get("title", ""),
                         request.POST.get("body", ""))
    labels = {"error": _("Error"), "warning": _("Warning"), "info": _("Advice")}
    return JsonResponse({"findings": [
        {"severity": str(f.severity), "label": str(labels.get(str(f.severity), f.severity)),
         "field": f.field, "span": list(f.span),
         "message": f.message_zh if zh else f.message_en, "fix": f.fix_zh if zh else f.fix_en}
        for f in findings
    ]})


class NewCampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    category: forms.ModelChoiceField[Any] = forms.ModelChoiceField(label=_("Category"), queryset=None)
    segment = forms.CharField(label=_("Audience (segment language)"), required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    channel = forms.ChoiceField(label=_("Channel"), choices=(), initial="mass", required=False)
    message_type = forms.ChoiceField(label=_("Message type"), required=False, initial="text",
                                     choices=[("text", _("Text message")), ("news", _("News article"))])
    title = forms.CharField(label=_("Title"), max_length=64)
    body = forms.CharField(label=_("Body"), widget=forms.Textarea(attrs={"rows": 5}))
    cover = forms.FileField(label=_("Cover of a news article (JPEG, at most 64 KB; optional)"), required=False)
    title_variants = forms.CharField(
        label=_("A/B test: other titles (one per line, optional)"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}))
    variant_split = forms.FloatField(
        label=_("A/B test: share of the audience in the test (0–1)"), required=False, min_value=0, max_value=1)
    winner_rule = forms.ChoiceField(label=_("A/B test: the winner is the title with the best"), required=False,
                                    choices=[("read_rate", _("read rate")), ("click_rate", _("click rate")),
                                             ("order_rate", _("order rate"))])

    def clean_title_variants(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["title_variants"].splitlines() if line.strip()]

    def __init__(self, *args, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        category, channel = self.fields["category"], self.fields["channel"]
        assert isinstance(category, forms.ModelChoiceField) and isinstance(channel, forms.ChoiceField)
        category.queryset = Category.objects.filter(account=account)
        has_corp = account is not None and account.wecom_corps.exists()
        channel.choices = [
            (value, label) for value, label in Campaign.Channel.choices
            if value != Campaign.Channel.WECOM or has_corp
        ]


def _campaign_fields(d: dict) -> dict:
    """The campaign settings of a valid :class:`NewCampaignForm` (a cover only when one
    was uploaded: editing without one keeps the cover there is)."""
    fields = {"name": d["name"], "category": d["category"], "segment": d["segment"], "title": d["title"],
              "body": d["body"], "channel": d["channel"] or "mass", "title_variants": d["title_variants"],
              "variant_split": d["variant_split"] or 0.0, "winner_rule": d["winner_rule"] or "read_rate",
              "message_type": d["message_type"] or "text"}
    if d["cover"]:
        fields["cover"] = d["cover"].read(THUMB_MAX_BYTES + 1)
    return fields


def _campaign_form_error(form: NewCampaignForm, exc: Exception) -> None:
    """A refusal on the field it is about (a SegmentError points at the bad token)."""
    message = str(exc)
    field = "segment" if "segment" in message.lower() or "token" in message.lower() else None
    field = "cover" if "封面" in message else field
    form.add_error("title_variants" if "A/B" in message else field, message)


@login_required
def campaign_new(request):
    account = _account(request)
    form = NewCampaignForm(request.POST or None, request.FILES or None, account=account)
    if request.method == "POST" and form.is_valid():
        assert account is not None  # a valid form has a category, one of the account's
        try:
            c = create_campaign(account, **_campaign_fields(form.cleaned_data))
        except (CampaignError, ValueError) as exc:
            _campaign_form_error(form, exc)
        else:
            return redirect("console-campaign", pk=c.pk)
    return render(request, "console/campaign_new.html", {"form": form, "nav": "campaigns"})


@login_required
def campaign_edit(request, pk: int):
    """Edit a campaign not yet approved; saving takes it back to draft (lint and plan it
    again)."""
    account = _account(request)
    c = get_object_or_404(Campaign, pk=pk, account=account)
    if "edit" not in STEPS_BY_STATUS.get(c.status, ()):
        return redirect("console-campaign", pk=c.pk)
    initial = {"name": c.name, "category": c.category_id, "segment": c.segment, "channel": c.channel,
               "message_type": c.message_type, "title": c.title, "body": c.body,
               "title_variants": "\n".join(c.title_variants or []), "variant_split": c.variant_split or None,
               "winner_rule": c.winner_rule}
    form = NewCampaignForm(request.POST or None, request.FILES or None, account=account, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_campaign(c, **_campaign_fields(form.cleaned_data))
        except (CampaignError, ValueError) as exc:
            _campaign_form_error(form, exc)
        else:
            return redirect("console-campaign", pk=c.pk)
    return render(request, "console/campaign_new.html", {"form": form, "nav": "campaigns", "campaign": c})


def _records(model: type[Model], form_class: type[AccountForm], list_fields: list[str],
             save: Callable[..., Any], remove: Callable[[Any], None]):
    """A list view, an add/edit view and a delete view for one of the account's own
    models. ``save(account, obj_or_None, **cleaned_data)`` and ``remove(obj)`` are the
    domain's actions; they refuse with a ``ValueError`` whose ``errors`` name each field."""
    slug = model.__name__.lower()
    title = model._meta.verbose_name
    fields = list(form_class._meta.fields or ())

    def form_page(request, form, obj, error: str = "", status: int = 200):
        return render(request, "console/crud_form.html", {
            "form": form, "title": title, "nav": slug, "obj": obj,
            "delete_url": f"console-{slug}-delete", "error": error,
        }, status=status)

    @login_required
    def listing(request):
        rows = model._default_manager.filter(account=_account(request)).order_by("-pk")[:500]
        return render(request, "console/crud_list.html", {
            "rows": [(r.pk, [getattr(r, f) for f in list_fields]) for r in rows],
            "headers": [getattr(model._meta.get_field(f), "verbose_name", f) for f in list_fields],
            "title": title, "slug": slug, "nav": slug,
        })

    @login_required
    def edit(request, pk: int | None = None):
        account = _account(request)
        obj = get_object_or_404(model, pk=pk, account=account) if pk else None
        form = form_class(account, request.POST or None, instance=obj)
        if request.method == "POST" and form.is_valid():
            try:
                save(account, obj, **{f: form.cleaned_data[f] for f in fields})
            except ValueError as exc:
                _add_errors(form, getattr(exc, "errors", {"__all__": [str(exc)]}))
            else:
                return redirect(f"console-{slug}s")
        return form_page(request, form, obj)

    @login_required
    @require_POST
    def delete(request, pk: int):
        account = _account(request)
        obj = get_object_or_404(model, pk=pk, account=account)
        try:
            remove(obj)
        except ValueError as exc:
            reason = " ".join(m for ms in getattr(exc, "errors", {"": [str(exc)]}).values() for m in ms)
            return form_page(request, form_class(account, instance=obj), obj, error=reason, status=409)
        return redirect(f"console-{slug}s")

    return listing, edit, delete


products, product_edit, product_delete = _records(
    Product, ProductForm, ["sku", "name", "price", "active"], save=save_product, remove=delete_product
)
autoreplys, autoreply_edit, autoreply_delete = _records(
    AutoReply, AutoReplyForm, ["match", "keyword", "priority", "active"],
    save=save_auto_reply, remove=delete_auto_reply,
)
