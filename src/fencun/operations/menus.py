"""The custom menu: imported when the account connects, edited as drafts, published.

Once a merchant points the account's server URL at fencun, the platform switches off the
admin panel's own menu and auto-replies: followers see no menu unless one is created by
the API. So fencun imports what the account has (the API menu with its personalised menus
from ``menu/get``; otherwise the admin panel's menu from ``get_current_selfmenu_info``, as
a draft to publish) and publishes what the merchant edits.

A button is stored as the platform takes it, plus one field of fencun's own: a ``click``
button may carry a ``reply``, the text fencun answers when it is clicked (the admin
panel's "send a message" buttons become such buttons on import). ``reply`` never reaches
the platform (:func:`platform_buttons`).

Publishing is all or nothing: the platform is called first, and only once it accepted
the menu does the draft become live and the menu it replaces retired, in one transaction.
A refused menu leaves the previous one recorded as live, with the refusal in the
merchant's words.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fencun import clock, inputs
from fencun.accounts import audit
from fencun.accounts.models import Account
from fencun.channels.wechat.client import WeChatClient
from fencun.channels.wechat.errors import ChannelError, LimitRefused, WeChatError
from fencun.channels.wechat.menus import MenuProblem, check_buttons, check_matchrule
from fencun.operations.models import Menu
from fencun.operations.platform_words import menu_problem_words, platform_words

log = logging.getLogger(__name__)

#: fencun's own button fields, removed before the platform sees a menu.
OWN_FIELDS = ("reply",)
REPLY_MAX_CHARS = 600  # a passive text reply stays well under the message size limit
#: Admin-panel button types and what the API can make of them (see :func:`from_panel`).
PANEL_TEXT, PANEL_NEWS, PANEL_VIDEO = "text", "news", "video"
PANEL_UNSUPPORTED = ("img", "voice")


class MenuError(ValueError):
    """A menu fencun or the platform refuses: ``messages`` in the merchant's language;
    nothing was saved or published."""

    def __init__(self, messages: list[str], errcode: int | None = None) -> None:
        self.messages = messages
        self.errcode = errcode
        super().__init__("; ".join(messages))


# -- buttons -----------------------------------------------------------------------------


def platform_buttons(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buttons as the platform takes them: fencun's own fields and empty sub-button
    lists removed."""

    def clean(button: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in button.items() if k not in OWN_FIELDS and k != "sub_button"}
        subs = button.get("sub_button") or []
        if subs:
            out = {"name": button.get("name", ""), "sub_button": [clean(s) for s in subs]}
        return out

    return [clean(b) for b in buttons]


def problems(buttons: Any) -> list[str]:
    """Everything wrong with ``buttons`` in the merchant's words (empty: the platform
    will take them): the platform's limits (the same table the sandbox enforces) and
    fencun's replies."""
    if not isinstance(buttons, list) or not all(isinstance(b, dict) for b in buttons):
        return [_("A menu is a list of buttons.")]
    found: list[MenuProblem] = check_buttons(platform_buttons(buttons))
    words = [menu_problem_words(p, buttons) for p in found]
    for button in _leaves(buttons):
        reply = button.get("reply")
        if reply is None:
            continue
        if button.get("type") != "click":
            words.append(_("Only a click button can answer with a text (“%(name)s”).") % {"name": button.get("name", "")})
        elif not isinstance(reply, str) or not reply.strip() or len(reply) > REPLY_MAX_CHARS:
            words.append(
                _("The reply of “%(name)s” must have 1 to %(limit)s characters.")
                % {"name": button.get("name", ""), "limit": REPLY_MAX_CHARS}
            )
    return words


def _leaves(buttons: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for button in buttons:
        subs = button.get("sub_button") or []
        yield from (subs if subs else [button])


def click_replies(buttons: list[dict[str, Any]]) -> dict[str, str]:
    """``{key: reply}`` of the click buttons that answer with a text."""
    return {
        str(b["key"]): str(b["reply"])
        for b in _leaves(buttons)
        if b.get("type") == "click" and b.get("key") and b.get("reply")
    }


# -- drafts ------------------------------------------------------------------------------


def _rule_problems(kind: str, tag_id: int | None, client_platform_type: int | None) -> list[str]:
    if kind == Menu.Kind.DEFAULT:
        return []
    if tag_id is None and client_platform_type is None:
        return [_("A personalised menu needs a tag (or a phone system) to be shown to.")]
    found = check_matchrule(_matchrule(tag_id, client_platform_type))
    return [menu_problem_words(p, []) for p in found]


def _matchrule(tag_id: int | None, client_platform_type: int | None) -> dict[str, str]:
    rule = {}
    if tag_id is not None:
        rule["tag_id"] = str(tag_id)
    if client_platform_type is not None:
        rule["client_platform_type"] = str(client_platform_type)
    return rule


def save_draft(
    account: Account,
    buttons: Any,
    *,
    kind: str = Menu.Kind.DEFAULT,
    tag_id: int | None = None,
    client_platform_type: int | None = None,
    menu: Menu | None = None,
) -> Menu:
    """Save the draft of a menu (``menu`` None: the account's draft of that kind and
    tag, created if there is none). :class:`MenuError` for anything the platform would
    refuse; nothing is saved then."""
    if kind not in Menu.Kind.values:
        raise MenuError([_("Unknown menu kind.")])
    if inputs.has_nul(buttons):
        raise MenuError([_("must not contain a NUL character")])
    found = problems(buttons) + _rule_problems(kind, tag_id, client_platform_type)
    if found:
        raise MenuError(found)
    if menu is not None and (menu.account_id != account.pk or menu.status != Menu.Status.DRAFT):
        raise MenuError([_("Only a draft of this account can be changed.")])
    with transaction.atomic():
        if menu is None:
            menu = (
                Menu.objects.select_for_update()
                .filter(account=account, kind=kind, tag_id=tag_id, status=Menu.Status.DRAFT)
                .first()
            ) or Menu(account=account, kind=kind, tag_id=tag_id)
        menu.kind, menu.tag_id, menu.client_platform_type = kind, tag_id, client_platform_type
        menu.buttons = copy.deepcopy(buttons)
        menu.notes = []
        menu.save()
    return menu


def live_menus(account: Account) -> list[Menu]:
    """The account's live menus: the default first, then personalised ones, newest first
    (the platform matches personalised menus newest first)."""
    rows = Menu.objects.filter(account=account, status=Menu.Status.LIVE)
    return sorted(rows, key=lambda m: (m.kind != Menu.Kind.DEFAULT, -(m.published_at or clock.now()).timestamp()))


def drafts(account: Account) -> list[Menu]:
    return list(Menu.objects.filter(account=account, status=Menu.Status.DRAFT))


# -- publishing --------------------------------------------------------------------------


def _refused(exc: ChannelError) -> MenuError:
    if isinstance(exc, WeChatError):
        return MenuError([platform_words(exc)], errcode=exc.errcode)
    if isinstance(exc, LimitRefused):
        return MenuError([_("The menu breaks a platform limit (%(limit)s).") % {"limit": exc.limit}])
    return MenuError([_("WeChat could not be reached; nothing was changed. Try again.")])


def publish(menu: Menu, client: WeChatClient) -> Menu:
    """Put a draft live on the platform. The default menu replaces the live default
    (``menu/create``); a personalised one is added (``menu/addconditional``) and then the
    live one for the same tag removed, so its followers are never without a menu."""
    if menu.status != Menu.Status.DRAFT:
        raise MenuError([_("Only a draft can be published.")])
    found = problems(menu.buttons) + _rule_problems(menu.kind, menu.tag_id, menu.client_platform_type)
    if found:
        raise MenuError(found)
    buttons = platform_buttons(menu.buttons)
    same = Menu.objects.filter(
        account_id=menu.account_id, kind=menu.kind, status=Menu.Status.LIVE
    )
    if menu.kind == Menu.Kind.PERSONAL:
        same = same.filter(tag_id=menu.tag_id, client_platform_type=menu.client_platform_type)
    replaced = list(same)
    try:
        if menu.kind == Menu.Kind.DEFAULT:
            client.create_menu(buttons)
            menuid = ""
        else:
            menuid = client.add_conditional_menu(
                buttons, _matchrule(menu.tag_id, menu.client_platform_type)
            )
    except ChannelError as exc:
        raise _refused(exc) from None
    with transaction.atomic():
        Menu.objects.filter(pk__in=[m.pk for m in replaced]).update(status=Menu.Status.RETIRED)
        menu.status, menu.menuid, menu.published_at = Menu.Status.LIVE, menuid, clock.now()
        menu.save()
        audit.record(menu.account, "menu.published", menu, kind=menu.kind, tag_id=menu.tag_id,
                     replaced=[m.pk for m in replaced])
    for old in replaced:
        if old.menuid:
            _delete_on_platform(client, old.menuid)
    return menu


def _delete_on_platform(client: WeChatClient, menuid: str) -> None:
    """Remove a replaced personalised menu. A failure is logged, not raised: the new
    menu is live and, being newer, is matched before it."""
    try:
        client.delete_conditional_menu(menuid)
    except ChannelError as exc:
        log.warning("personalised menu %s was replaced but not deleted: %s", menuid, exc)


def withdraw(menu: Menu, client: WeChatClient) -> None:
    """Take a live personalised menu off the platform (its followers see the default).
    The default menu is replaced, never withdrawn: deleting it deletes every menu."""
    if menu.status != Menu.Status.LIVE or menu.kind != Menu.Kind.PERSONAL:
        raise MenuError([_("Only a live personalised menu can be withdrawn.")])
    try:
        client.delete_conditional_menu(menu.menuid)
    except WeChatError as exc:
        if exc.errcode != 65301:  # already gone on the platform: record it as gone
            raise _refused(exc) from None
    except ChannelError as exc:
        raise _refused(exc) from None
    with transaction.atomic():
        menu.status = Menu.Status.RETIRED
        menu.save(update_fields=["status", "updated_at"])
        audit.record(menu.account, "menu.withdrawn", menu, tag_id=menu.tag_id)


def preview_for(client: WeChatClient, openid: str) -> list[dict[str, Any]]:
    """The menu the platform shows this follower (``menu/trymatch``)."""
    try:
        return client.try_match_menu(openid)
    except ChannelError as exc:
        raise _refused(exc) from None


# -- import ------------------------------------------------------------------------------


@dataclass
class Imported:
    """What :func:`import_menus` found: live menus recorded, or the admin panel's menu
    kept as a draft to publish, with the buttons it could not carry over."""

    live: list[Menu] = field(default_factory=list)
    panel_draft: Menu | None = None
    menu_open: bool = False


def from_panel(buttons: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The admin panel's menu (``selfmenu_info.button``) as buttons the API takes, and the
    names of buttons it could not carry over. A text button becomes a click button that
    fencun answers with the text; an article (news) button sends the same permanent
    material (``media_id``); a video button links to the video; an image or voice button
    cannot be carried over (the panel hands back temporary media only) and becomes a
    click button without an answer, named in the notes for the merchant to replace."""
    notes: list[str] = []
    counter = iter(range(1, 1000))

    def one(button: dict[str, Any]) -> dict[str, Any]:
        name = str(button.get("name", ""))
        subs = button.get("sub_button")
        sub_list = subs.get("list") if isinstance(subs, dict) else subs
        if sub_list:
            return {"name": name, "sub_button": [one(s) for s in sub_list if isinstance(s, dict)]}
        kind, value = button.get("type"), button.get("value")
        if kind == PANEL_TEXT:
            return {"type": "click", "name": name, "key": f"menu_text_{next(counter)}", "reply": str(value or "")}
        if kind == PANEL_NEWS:
            return {"type": "media_id", "name": name, "media_id": str(value or "")}
        if kind == PANEL_VIDEO:
            return {"type": "view", "name": name, "url": str(value or "")}
        if kind in PANEL_UNSUPPORTED:
            notes.append(name)
            return {"type": "click", "name": name, "key": f"menu_media_{next(counter)}"}
        return {k: v for k, v in button.items() if k not in ("value", "news_info", "sub_button")}

    return [one(b) for b in buttons if isinstance(b, dict)], notes


def import_menus(account: Account, client: WeChatClient) -> Imported:
    """Record the account's menus as the platform has them. The API menu (with its
    personalised menus) becomes fencun's live menus; without one, the admin panel's menu
    becomes the default draft, since setting fencun's server URL switches it off."""
    try:
        current = client.get_menu()
        selfmenu = None if current else client.get_selfmenu_info()
    except ChannelError as exc:
        raise _refused(exc) from None
    result = Imported()
    now = clock.now()
    with transaction.atomic():
        if current:
            Menu.objects.filter(account=account, status=Menu.Status.LIVE).update(
                status=Menu.Status.RETIRED
            )
            default = (current.get("menu") or {}).get("button") or []
            result.live.append(
                Menu.objects.create(
                    account=account, kind=Menu.Kind.DEFAULT, buttons=default,
                    status=Menu.Status.LIVE, origin=Menu.Origin.API, published_at=now,
                )
            )
            for item in current.get("conditionalmenu") or []:
                rule = item.get("matchrule") or {}
                result.live.append(
                    Menu.objects.create(
                        account=account, kind=Menu.Kind.PERSONAL, buttons=item.get("button") or [],
                        tag_id=_int_or_none(rule.get("tag_id")),
                        client_platform_type=_int_or_none(rule.get("client_platform_type")),
                        menuid=str(item.get("menuid") or ""), status=Menu.Status.LIVE,
                        origin=Menu.Origin.API, published_at=now,
                    )
                )
            result.menu_open = True
            return result
        info = selfmenu or {}
        result.menu_open = bool(info.get("is_menu_open"))
        panel = (info.get("selfmenu_info") or {}).get("button") or []
        if panel:
            buttons, notes = from_panel(panel)
            Menu.objects.filter(
                account=account, kind=Menu.Kind.DEFAULT, status=Menu.Status.DRAFT
            ).delete()
            result.panel_draft = Menu.objects.create(
                account=account, kind=Menu.Kind.DEFAULT, buttons=buttons,
                status=Menu.Status.DRAFT, origin=Menu.Origin.PANEL, notes=notes,
            )
    return result


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
