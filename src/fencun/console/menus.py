"""Console page for the custom menu: the live menus, drafts, an editor, and publishing.

Once the account's server address points at fencun, WeChat switches off the admin
panel's menu: followers see only a menu published through the API, so it is edited and
published here. The editor is a plain form (three top-level slots of five sub-slots,
indexed field names) that works without a script; ``menu_editor.js`` only folds the
empty slots away and counts the bytes of names.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fencun.accounts.models import Account
from fencun.audience.models import Tag
from fencun.channels.services import wechat_client
from fencun.channels.wechat.account_limits import limit
from fencun.console.views import _account
from fencun.operations import menus as service
from fencun.operations.models import Menu

GROUP = "group"  # the editor's pseudo-type of a top-level button holding sub-buttons
TYPE_LABELS = {
    "click": gettext_lazy("Click (answer with a text)"),
    "view": gettext_lazy("Open a web page"),
    "miniprogram": gettext_lazy("Open a mini program"),
    "media_id": gettext_lazy("Send material (media_id)"),
    "view_limited": gettext_lazy("Show material (media_id)"),
    "article_id": gettext_lazy("Send a published article (article_id)"),
    "article_view_limited": gettext_lazy("Show a published article (article_id)"),
    "scancode_push": gettext_lazy("Scan a code"),
    "scancode_waitmsg": gettext_lazy("Scan a code and wait for the answer"),
    "pic_sysphoto": gettext_lazy("Take a photo"),
    "pic_photo_or_album": gettext_lazy("Take a photo or choose one"),
    "pic_weixin": gettext_lazy("Choose from the WeChat album"),
    "location_select": gettext_lazy("Send a location"),
}
PLATFORM_TYPES = [(1, "iOS"), (2, "Android"), (3, gettext_lazy("Other phones"))]
#: Every field a leaf button may carry in the editor; which ones a type keeps is
#: :func:`_fields_of`'s answer.
LEAF_FIELDS = ("key", "url", "appid", "pagepath", "media_id", "article_id", "reply")
FIELD_LABELS = {
    "key": gettext_lazy("Key (empty: made up)"),
    "url": gettext_lazy("Link (URL)"),
    "appid": gettext_lazy("Mini program appid"),
    "pagepath": gettext_lazy("Mini program page path"),
    "media_id": "media_id",
    "article_id": "article_id",
    "reply": gettext_lazy("Reply text (optional)"),
}
NOT_CONNECTED = gettext_lazy("The account is not connected to WeChat yet (no AppSecret, or it cannot be read).")


def _fields_of(kind: str) -> tuple[str, ...]:
    """The fields a button of type ``kind`` carries (the platform's, plus fencun's reply)."""
    needed = limit("menu", "type_fields").get(kind)
    if needed is None:
        return ()
    extra = {"miniprogram": tuple(limit("menu", "miniprogram")), "click": ("reply",)}
    return (needed, *extra.get(kind, ()))


def _sizes() -> tuple[int, int]:
    return int(limit("menu", "buttons_max")), int(limit("menu", "sub_buttons_max"))


# -- the form's buttons ------------------------------------------------------------------


def _leaf(post: Any, prefix: str) -> dict[str, Any] | None:
    """The button of slot ``prefix`` (None: an empty slot). A key left empty is made from
    the slot, so a click button that only answers with a text needs none."""
    values = {f: post.get(f"{prefix}-{f}", "").strip() for f in ("name", "type", *LEAF_FIELDS)}
    if not any(values[f] for f in ("name", *LEAF_FIELDS)):
        return None
    kind = values["type"]
    button = {"type": kind, "name": values["name"]}
    for name in _fields_of(kind):
        if name == "key" and not values[name]:
            values[name] = f"menu_{prefix}"
        if name != "reply" or values[name]:
            button[name] = values[name]
    return button


def _top(post: Any, i: int) -> dict[str, Any] | None:
    prefix = f"b{i}"
    if post.get(f"{prefix}-type") != GROUP:
        return _leaf(post, prefix)
    subs = [b for j in range(_sizes()[1]) if (b := _leaf(post, f"{prefix}s{j}")) is not None]
    name = post.get(f"{prefix}-name", "").strip()
    return {"name": name, "sub_button": subs} if name or subs else None


def buttons_from_post(post: Any) -> list[dict[str, Any]]:
    """The buttons the editor's fields describe, in the platform's format."""
    return [b for i in range(_sizes()[0]) if (b := _top(post, i)) is not None]


def _field_types() -> dict[str, str]:
    """Per leaf field, the types that use it (the script shows a field for those only)."""
    return {f: " ".join(k for k in TYPE_LABELS if f in _fields_of(k)) for f in LEAF_FIELDS}


def _slot(prefix: str, button: dict[str, Any] | None) -> dict[str, Any]:
    button = button or {}
    kind = GROUP if button.get("sub_button") else button.get("type", "")
    types = _field_types()
    fields = [{"name": f, "label": FIELD_LABELS[f], "types": types[f], "value": button.get(f, "")}
              for f in LEAF_FIELDS]
    return {"prefix": prefix, "name": button.get("name", ""), "type": kind, "used": bool(button), "fields": fields}


def editor_slots(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every slot of the editor, filled from ``buttons``."""
    tops, subs = _sizes()
    slots = []
    for i in range(tops):
        button = buttons[i] if i < len(buttons) and isinstance(buttons[i], dict) else None
        children = (button or {}).get("sub_button") or []
        slot = _slot(f"b{i}", button)
        slot["subs"] = [_slot(f"b{i}s{j}", children[j] if j < len(children) else None) for j in range(subs)]
        slots.append(slot)
    return slots


def _int_or_none(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.lstrip("-").isdigit() else None


# -- the page ----------------------------------------------------------------------------


def _editor(account: Account, menu: Menu | None) -> dict[str, Any]:
    """The editor opened on ``menu``: a draft is changed in place; a live or retired menu
    is copied into the draft of its kind and tag. None: the default menu's draft, else a
    copy of the live default."""
    if menu is None:
        menu = (
            Menu.objects.filter(account=account, kind=Menu.Kind.DEFAULT, status=Menu.Status.DRAFT).first()
            or Menu.objects.filter(account=account, kind=Menu.Kind.DEFAULT, status=Menu.Status.LIVE).first()
        )
    if menu is None:
        return {"draft": None, "kind": Menu.Kind.DEFAULT, "tag_id": None, "platform": None, "slots": editor_slots([])}
    return {
        "draft": menu if menu.status == Menu.Status.DRAFT else None, "kind": menu.kind,
        "tag_id": menu.tag_id, "platform": menu.client_platform_type, "slots": editor_slots(menu.buttons),
    }


def _posted_editor(request, draft: Menu | None) -> dict[str, Any]:
    post = request.POST
    return {
        "draft": draft, "kind": post.get("kind", Menu.Kind.DEFAULT),
        "tag_id": _int_or_none(post.get("tag_id", "")), "platform": _int_or_none(post.get("platform", "")),
        "slots": editor_slots(buttons_from_post(post)),
    }


def shown(buttons: Any) -> list[dict[str, Any]]:
    """Buttons as the page lists them: name, what the type does, and its target."""
    rows = []
    for button in buttons if isinstance(buttons, list) else []:
        if not isinstance(button, dict):
            continue
        subs = button.get("sub_button")
        subs = subs.get("list") if isinstance(subs, dict) else subs  # the panel's shape
        kind = str(button.get("type", ""))
        detail = next((str(button[f]) for f in ("reply", "url", "pagepath", "media_id", "article_id", "key")
                       if button.get(f)), "")
        rows.append({"name": button.get("name", ""), "label": TYPE_LABELS.get(kind, kind),
                     "detail": detail, "subs": shown(subs) if subs else []})
    return rows


def _described(menu: Menu, tags: dict[int, str]) -> dict[str, Any]:
    return {"m": menu, "tag": tags.get(menu.tag_id, "") if menu.tag_id is not None else "",
            "platform": dict(PLATFORM_TYPES).get(menu.client_platform_type or 0, ""),
            "buttons": shown(menu.buttons)}


def _page(request, account: Account | None, *, editor: dict[str, Any] | None = None,
          errors: list[str] | None = None, notice: str = "", preview: dict[str, Any] | None = None,
          status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {"account": account, "nav": "menus", "errors": errors or [], "notice": notice}
    if account is not None:
        tags = dict(Tag.objects.filter(account=account).values_list("wechat_id", "name"))
        tops, subs = _sizes()
        context.update({
            "live": [_described(m, tags) for m in service.live_menus(account)],
            "drafts": [_described(m, tags) for m in service.drafts(account)],
            "editor": editor or _editor(account, None), "tags": sorted(tags.items(), key=lambda t: t[1]),
            "platforms": PLATFORM_TYPES, "types": list(TYPE_LABELS.items()), "group": GROUP, "preview": preview, "top_bytes": limit("menu", "button_name_max_bytes"),
            "sub_bytes": limit("menu", "sub_button_name_max_bytes"), "tops": tops, "subs": subs,
        })
    return render(request, "console/menus.html", context, status=status)


def _preview(account: Account, openid: str) -> dict[str, Any]:
    """The buttons the platform would show this follower, or why it would not say."""
    found: dict[str, Any] = {"openid": openid, "buttons": [], "errors": []}
    try:
        with wechat_client(account) as client:
            found["buttons"] = shown(service.preview_for(client, openid))
    except service.MenuError as exc:
        found["errors"] = exc.messages
    except ValueError:
        found["errors"] = [str(NOT_CONNECTED)]
    return found


@login_required
def menus(request):
    """The menus (GET ``?edit=<id>`` opens one in the editor, ``?openid=`` previews a
    follower's); POST saves the editor's draft."""
    account = _account(request)
    if account is None:
        return _page(request, None)
    if request.method == "POST":
        return _save(request, account)
    edit = _int_or_none(request.GET.get("edit", ""))
    menu = get_object_or_404(Menu, pk=edit, account=account) if edit is not None else None
    openid = request.GET.get("openid", "").strip()
    preview = _preview(account, openid) if openid else None
    return _page(request, account, editor=_editor(account, menu), preview=preview,
                 status=400 if preview and preview["errors"] else 200)


def _save(request, account: Account) -> HttpResponse:
    """Save the editor's draft: refused as a whole, nothing saved, with every problem."""
    post = request.POST
    pk = _int_or_none(post.get("menu", ""))
    draft = get_object_or_404(Menu, pk=pk, account=account, status=Menu.Status.DRAFT) if pk is not None else None
    editor = _posted_editor(request, draft)
    try:
        saved = service.save_draft(
            account, buttons_from_post(post), kind=editor["kind"],
            tag_id=editor["tag_id"] if editor["kind"] == Menu.Kind.PERSONAL else None,
            client_platform_type=editor["platform"] if editor["kind"] == Menu.Kind.PERSONAL else None,
            menu=draft,
        )
    except service.MenuError as exc:
        return _page(request, account, editor=editor, errors=exc.messages, status=400)
    return redirect(reverse("console-menus") + f"?edit={saved.pk}")


def _on_platform(request, menu: Menu, action: Any, done: str) -> HttpResponse:
    """Run ``action(menu, client)``; the platform's refusal is shown and nothing changed."""
    account = menu.account
    try:
        with wechat_client(account) as client:
            action(menu, client)
    except service.MenuError as exc:
        return _page(request, account, editor=_editor(account, menu), errors=exc.messages, status=400)
    except ValueError:
        return _page(request, account, editor=_editor(account, menu), errors=[str(NOT_CONNECTED)], status=400)
    return _page(request, account, notice=done)


@login_required
@require_POST
def menu_publish(request, pk: int):
    menu = get_object_or_404(Menu, pk=pk, account=_account(request))
    return _on_platform(request, menu, service.publish, _("Published: followers see this menu now."))


@login_required
@require_POST
def menu_withdraw(request, pk: int):
    menu = get_object_or_404(Menu, pk=pk, account=_account(request))
    return _on_platform(request, menu, service.withdraw,
                        _("Withdrawn: the followers of its tag see the default menu again."))


def import_words(found: service.Imported) -> str:
    """What an import found, for the merchant."""
    if found.live:
        return _("Imported from WeChat: %(n)s menus are recorded as live.") % {"n": len(found.live)}
    if found.panel_draft is not None:
        return _("The admin panel's menu was imported as a draft: check it and publish it here.")
    return _("WeChat has no menu for this account yet.")


@login_required
@require_POST
def menu_import(request):
    account = _account(request)
    if account is None:
        return redirect("console-menus")
    try:
        with wechat_client(account) as client:
            found = service.import_menus(account, client)
    except service.MenuError as exc:
        return _page(request, account, errors=exc.messages, status=400)
    except ValueError:
        return _page(request, account, errors=[str(NOT_CONNECTED)], status=400)
    return _page(request, account, notice=import_words(found))
