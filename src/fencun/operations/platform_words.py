"""The platform's refusals of menus and QR codes in the merchant's words.

The codes are the platform's (global return codes and the custom-menu pages; the limits
with their sources are in ``channels/wechat/data/account_limits.json``); a code without
words here is shown with the platform's own message.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fencun.channels.wechat.account_limits import limit
from fencun.channels.wechat.errors import WeChatError
from fencun.channels.wechat.menus import MenuProblem

CODES = {
    40016: gettext_lazy("A menu has 1 to 3 top-level buttons."),
    40017: gettext_lazy("A button has a type the platform does not know."),
    40018: gettext_lazy("A top-level button's name is too long (at most 16 bytes: 5 Chinese characters)."),
    40019: gettext_lazy("A button's key is missing or too long (at most 128 bytes)."),
    40020: gettext_lazy("A button's link is missing or too long (at most 1,024 bytes)."),
    40023: gettext_lazy("A top-level button has more than 5 sub-buttons."),
    40024: gettext_lazy("A sub-button has a type the platform does not know."),
    40025: gettext_lazy("A sub-button's name is too long (at most 60 bytes: 20 Chinese characters)."),
    40026: gettext_lazy("A sub-button's key is missing or too long (at most 128 bytes)."),
    40027: gettext_lazy("A sub-button's link is missing or too long (at most 1,024 bytes)."),
    40007: gettext_lazy("A button sends material that the account does not have (media_id)."),
    40003: gettext_lazy("No follower of the account has this openid."),
    46003: gettext_lazy("The account has no menu set by the API."),
    47001: gettext_lazy("The platform could not read the request (a field is missing or malformed)."),
    48001: gettext_lazy("The account is not allowed this call (personalised menus and parametric QR codes need a verified account)."),
    65301: gettext_lazy("That personalised menu no longer exists on the platform."),
    65302: gettext_lazy("No follower matches."),
    65303: gettext_lazy("Publish the default menu first: personalised menus need one."),
    65304: gettext_lazy("A personalised menu needs a rule: a tag or a phone system."),
    65305: gettext_lazy("The account has as many personalised menus as the platform allows."),
    65320: gettext_lazy("Personalised menus can no longer select by gender, region or language; use a tag."),
}


def platform_words(exc: WeChatError) -> str:
    """A refusal in the merchant's words, with the platform's code."""
    words = CODES.get(exc.errcode)
    text = str(words) if words is not None else exc.errmsg
    return _("%(text)s (WeChat error %(code)s)") % {"text": text, "code": exc.errcode}


def _button_name(buttons: list[dict[str, Any]], path: tuple[int, ...]) -> str:
    node: Any = buttons
    try:
        for depth, index in enumerate(path):
            node = node[index] if depth == 0 else (node.get("sub_button") or [])[index]
    except (IndexError, KeyError, TypeError, AttributeError):
        return ""
    return str(node.get("name", "")) if isinstance(node, dict) else ""


_PROBLEMS = {
    "buttons_max": gettext_lazy("A menu has 1 to %(limit)s top-level buttons."),
    "sub_buttons_max": gettext_lazy("“%(name)s” has more than %(limit)s sub-buttons."),
    "button_name_max_bytes": gettext_lazy(
        "The name “%(name)s” is empty or too long: a top-level button takes at most %(limit)s bytes (a Chinese character is 3)."
    ),
    "sub_button_name_max_bytes": gettext_lazy(
        "The name “%(name)s” is empty or too long: a sub-button takes at most %(limit)s bytes (a Chinese character is 3)."
    ),
    "key_max_bytes": gettext_lazy("“%(name)s” needs a key of 1 to %(limit)s bytes."),
    "url_max_bytes": gettext_lazy("“%(name)s” needs a link of 1 to %(limit)s bytes."),
    "types": gettext_lazy("“%(name)s” has no type or one the platform does not know."),
    "miniprogram": gettext_lazy("“%(name)s” opens a mini program: it needs its appid and page path."),
    "media_id": gettext_lazy("“%(name)s” sends material: it needs its media_id."),
    "article_id": gettext_lazy("“%(name)s” opens a published article: it needs its article_id."),
    "matchrule_empty": gettext_lazy("A personalised menu needs a rule: a tag or a phone system."),
    "matchrule_private": gettext_lazy("Personalised menus can no longer select by gender, region or language; use a tag."),
    "client_platform_type": gettext_lazy("The phone system is 1 (iOS), 2 (Android) or 3 (others)."),
    "button_format": gettext_lazy("Each button needs a name and an action, or a group of sub-buttons."),
    "tag_id_format": gettext_lazy("Choose one of the account's tags."),
}


def menu_problem_words(problem: MenuProblem, buttons: list[dict[str, Any]]) -> str:
    """One problem of :func:`fencun.channels.wechat.menus.check_buttons` in words."""
    template = _PROBLEMS.get(problem.limit)
    name = _button_name(buttons, tuple(problem.path))
    value = problem.value
    if value is None:
        try:
            value = limit("menu", problem.limit)
        except KeyError:
            value = ""
    if template is None:
        return _("“%(name)s” breaks the platform's limit %(limit)s.") % {"name": name, "limit": problem.limit}
    return str(template) % {"name": name, "limit": value}
