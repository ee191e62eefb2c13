"""Console pages for channel QR codes (渠道码): what each brought, its code to download,
making one on the platform, and changing what it does."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from fencun.accounts.models import Account
from fencun.audience.models import Store
from fencun.channels.services import wechat_client
from fencun.console.views import _account, _add_errors
from fencun.insights.channel_stats import channel_stats
from fencun.operations import qrchannels as service
from fencun.operations.channel_fields import NAME_MAX_CHARS
from fencun.operations.models import QrChannel

# Tags are typed comma-separated; Chinese keyboards give "，" and "、".
TAG_SEPARATORS = re.compile(r"[,，、]")
PERMANENCE = [("permanent", _("Permanent")), ("temporary", _("Temporary"))]
# The form's field for what the service calls each field.
FORM_FIELDS = {"tag_names": "tags", "expire_days": "days"}
NOT_CONNECTED = _("The account is not connected to WeChat yet (no AppSecret, or it cannot be read).")


def _tags(raw: str) -> list[str]:
    return [t.strip() for t in TAG_SEPARATORS.split(raw) if t.strip()]


class ChannelEditForm(forms.Form):
    """What a channel does; its code stays."""

    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_CHARS)
    kind = forms.ChoiceField(label=_("Kind"), choices=QrChannel.Kind.choices)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False)
    welcome = forms.CharField(
        label=_("Welcome text (sent on follow and scan)"), required=False,
        max_length=service.WELCOME_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2}),
    )
    tags = forms.CharField(label=_("Tags (comma-separated)"), required=False, max_length=1000)

    def __init__(self, account: Account | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        store = self.fields["store"]
        assert isinstance(store, forms.ModelChoiceField)
        store.queryset = Store.objects.filter(account=account).order_by("name")

    def changes(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"name": d["name"], "kind": d["kind"], "store": d["store"], "welcome": d["welcome"],
                "tag_names": _tags(d["tags"])}


class ChannelForm(ChannelEditForm):
    """A new channel: what it does, and its code's scene and life."""

    scene = forms.CharField(label=_("Scene (optional: made up when empty)"), required=False, max_length=64)
    permanence = forms.ChoiceField(label=_("Code"), choices=PERMANENCE, initial="permanent",
                                   widget=forms.RadioSelect)
    days = forms.IntegerField(label=_("Days a temporary code lasts"), required=False, min_value=1)


def _edit_form(account: Account, channel: QrChannel, data: Any = None) -> ChannelEditForm:
    initial = {"name": channel.name, "kind": channel.kind, "store": channel.store_id,
               "welcome": channel.welcome, "tags": ", ".join(channel.tag_names)}
    return ChannelEditForm(account, data, initial=initial, prefix=f"c{channel.pk}")


def _page(request, account: Account | None, form: ChannelForm, bound: ChannelEditForm | None = None,
          bound_pk: int | None = None, status: int = 200) -> HttpResponse:
    """The list with figures; ``bound`` is the refused change of channel ``bound_pk``."""
    rows: list[dict[str, Any]] = []
    if account is not None:
        stats = {s.channel_id: s for s in channel_stats(account)}
        for channel in QrChannel.objects.filter(account=account).select_related("store"):
            edit = bound if channel.pk == bound_pk and bound is not None else _edit_form(account, channel)
            rows.append({"c": channel, "s": stats.get(channel.pk), "form": edit,
                         "expired": service.expired(channel), "archived": channel.archived})
    return render(request, "console/qrchannels.html", {
        "account": account, "form": form, "nav": "qr-channels", "open_pk": bound_pk,
        "rows": [r for r in rows if not r["archived"]],
        "archived": [r for r in rows if r["archived"]],
    }, status=status)


def _create(account: Account, form: ChannelForm) -> bool:
    """Make the channel on the platform; False with the refusal on the form."""
    d = form.cleaned_data
    try:
        with wechat_client(account) as client:
            service.create_channel(
                account, client, scene=d["scene"].strip() or None,
                permanent=d["permanence"] == "permanent", expire_days=d["days"], **form.changes(),
            )
    except service.ChannelInputError as exc:
        _add_errors(form, {FORM_FIELDS.get(k, k): v for k, v in exc.errors.items()})
        return False
    except ValueError:  # no AppSecret, or one that cannot be read
        form.add_error(None, NOT_CONNECTED)
        return False
    return True


@login_required
def qr_channels(request):
    """The account's channels with what each brought; POST makes a new one."""
    account = _account(request)
    form = ChannelForm(account, request.POST or None)
    if request.method == "POST" and account is not None:
        if form.is_valid() and _create(account, form):
            return redirect("console-qr-channels")
        return _page(request, account, form, status=400)
    return _page(request, account, form)


@login_required
@require_POST
def qr_channel(request, pk: int):
    """Change a channel (``action`` save), or archive or restore it."""
    channel = get_object_or_404(QrChannel, pk=pk, account=_account(request))
    account = channel.account
    action = request.POST.get("action", "save")
    if action in ("archive", "restore"):
        service.update_channel(channel, archived=action == "archive")
        return redirect("console-qr-channels")
    form = _edit_form(account, channel, request.POST)
    if form.is_valid():
        try:
            service.update_channel(channel, **form.changes())
        except service.ChannelInputError as exc:
            _add_errors(form, {FORM_FIELDS.get(k, k): v for k, v in exc.errors.items()})
        else:
            return redirect("console-qr-channels")
    return _page(request, account, ChannelForm(account), bound=form, bound_pk=channel.pk, status=400)


@login_required
@require_GET
def qr_channel_code(request, pk: int, fmt: str):
    """The code as PNG or SVG (with the name under it); ``?download=1`` saves it as a file
    named after the channel."""
    if fmt not in ("png", "svg"):
        raise Http404
    channel = get_object_or_404(QrChannel, pk=pk, account=_account(request))
    if fmt == "svg":
        response = HttpResponse(service.svg(channel), content_type="image/svg+xml")
    else:
        response = HttpResponse(service.png(channel), content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = content_disposition_header(True, f"{channel.name}.{fmt}")
    return response
