"""The custom menu: the default menu (``menu/create``, ``menu/get``, ``menu/delete``),
personalised menus (``menu/addconditional``, ``menu/delconditional``, ``menu/trymatch``)
and the menu the account shows (``get_current_selfmenu_info``), which may be one its
operator published in the admin panel (公众平台官网) rather than by API.

/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html and
/doc/service/api/custommenu/ (api_addconditionalmenu, api_deleteconditionalmenu,
api_trymatchmenu, api_getcurrentselfmenuinfo); limits and codes under "menu" in the
product's account table (``fencun/channels/wechat/data/account_limits.json``), which
``limits.api_limits`` reads beside the sandbox's own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, api_limit
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

#: A sub-button's error is the top-level one's counterpart (global return codes page).
SUB_CODES = {40017: 40024, 40018: 40025, 40019: 40026, 40020: 40027}
#: The first menuid handed out (the pages' example id; any digits would do).
FIRST_MENUID = 208_379_533


@dataclass(frozen=True)
class ConditionalMenu:
    """A personalised menu: its buttons as menu/get lists them, and its rule."""

    menuid: int
    button: list[dict[str, Any]]
    matchrule: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return copy.deepcopy(
            {"button": self.button, "matchrule": self.matchrule, "menuid": self.menuid}
        )


@dataclass
class MenuState:
    """An account's menus. ``default`` and ``conditional`` (oldest first) are the ones set
    by API, which menu/get lists; ``panel`` is one published in the admin panel, in
    get_current_selfmenu_info's shape. The account shows one or the other: a menu set by
    API replaces the panel's, and publishing in the panel replaces the API's."""

    panel: list[dict[str, Any]] | None = None
    is_open: bool = True
    default: list[dict[str, Any]] | None = None
    default_id: int = 0
    conditional: list[ConditionalMenu] = field(default_factory=list)
    next_id: int = FIRST_MENUID

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _size(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def _refusal(name: str, *, sub: bool = False) -> ApiError:
    """The platform's answer when limit ``name`` is broken (by a sub-button if ``sub``)."""
    code = api_errcode("menu", name)
    return ApiError(SUB_CODES.get(code, code) if sub else code)


def _check_leaf(button: dict[str, Any], *, sub: bool) -> None:
    """A button that acts: its type and the field its type needs."""
    kind = button.get("type")
    if not isinstance(kind, str) or kind not in api_limit("menu", "types"):
        raise _refusal("types", sub=sub)
    needs = api_limit("menu", "type_fields")[kind]
    if needs == "key" and not 0 < _size(button.get("key")) <= api_limit("menu", "key_max_bytes"):
        raise _refusal("key_max_bytes", sub=sub)
    if needs == "url" and not 0 < _size(button.get("url")) <= api_limit("menu", "url_max_bytes"):
        raise _refusal("url_max_bytes", sub=sub)
    if kind == "miniprogram" and not all(
        button.get(name) for name in api_limit("menu", "miniprogram")
    ):
        raise _refusal("miniprogram")
    if needs == "media_id" and not button.get("media_id"):
        raise _refusal("media_id")
    if needs == "article_id" and not button.get("article_id"):
        raise _refusal("article_id")


def _check_sub_buttons(subs: Any) -> None:
    if not isinstance(subs, list) or len(subs) > api_limit("menu", "sub_buttons_max"):
        raise _refusal("sub_buttons_max")
    for sub in subs:
        if not isinstance(sub, dict):
            raise _refusal("button_format")
        if not 0 < _size(sub.get("name")) <= api_limit("menu", "sub_button_name_max_bytes"):
            raise _refusal("sub_button_name_max_bytes")
        _check_leaf(sub, sub=True)


def _check_buttons(buttons: Any) -> list[dict[str, Any]]:
    """A menu's ``button`` list as menu/create and menu/addconditional check it."""
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= api_limit("menu", "buttons_max"):
        raise _refusal("buttons_max")
    for button in buttons:
        if not isinstance(button, dict):
            raise _refusal("button_format")
        if not 0 < _size(button.get("name")) <= api_limit("menu", "button_name_max_bytes"):
            raise _refusal("button_name_max_bytes")
        if button.get("sub_button"):
            _check_sub_buttons(button["sub_button"])
        else:
            _check_leaf(button, sub=False)
    return buttons


def _listed(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Buttons as menu/get lists them: each with its ``sub_button`` list, empty for a leaf."""
    listed = []
    for button in copy.deepcopy(buttons):
        subs = button.get("sub_button") or []
        button["sub_button"] = [{**sub, "sub_button": []} for sub in subs]
        listed.append(button)
    return listed


def _filled(value: Any) -> bool:
    """Whether a matchrule field takes part (不填则不做匹配: empty ones do not)."""
    return value is not None and str(value).strip() != ""


def _whole(value: Any) -> bool:
    if isinstance(value, str):
        return value.isascii() and value.isdigit()
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_matchrule(rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise _refusal("matchrule_empty")
    if any(_filled(rule.get(name)) for name in api_limit("menu", "matchrule_private")):
        raise _refusal("matchrule_private")
    fields = {n: rule[n] for n in api_limit("menu", "matchrule_empty") if _filled(rule.get(n))}
    if not fields:
        raise _refusal("matchrule_empty")
    if "tag_id" in fields and not _whole(fields["tag_id"]):
        raise _refusal("tag_id_format")
    platform_type = fields.get("client_platform_type")
    if platform_type is not None and str(platform_type) not in api_limit(
        "menu", "client_platform_type"
    ):
        raise _refusal("client_platform_type")
    return copy.deepcopy(rule)


def _check_verified(platform: Platform) -> None:
    if api_limit("menu", "conditional_verified_only") and not platform.config.verified:
        raise _refusal("conditional_verified_only")


def menu_create(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    buttons = _listed(_check_buttons(payload.get("button")))
    state = platform.menu
    state.default, state.default_id = buttons, state.new_id()
    state.panel = None  # the account now shows the API's menu
    return {}


def menu_get(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    state = platform.menu
    if state.default is None:
        raise _refusal("missing")
    answer: dict[str, Any] = {"menu": {"button": copy.deepcopy(state.default)}}
    if state.conditional:
        answer["menu"]["menuid"] = state.default_id
        answer["conditionalmenu"] = [menu.as_json() for menu in state.conditional]
    return answer


def menu_delete(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    # The default menu goes with every personalised one.
    platform.menu.default = None
    platform.menu.conditional = []
    return {}


def menu_addconditional(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    _check_verified(platform)
    state = platform.menu
    if state.default is None:
        raise _refusal("conditional_needs_default")
    buttons = _listed(_check_buttons(payload.get("button")))
    rule = _check_matchrule(payload.get("matchrule"))
    menuid = state.new_id()
    state.conditional = [*state.conditional, ConditionalMenu(menuid, buttons, rule)]
    return {"menuid": str(menuid)}


def menu_delconditional(
    platform: Platform, _: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    _check_verified(platform)
    state = platform.menu
    menuid = str(payload.get("menuid"))
    kept = [menu for menu in state.conditional if str(menu.menuid) != menuid]
    if len(kept) == len(state.conditional):
        raise _refusal("unknown_menuid")
    state.conditional = kept
    return {}


def _matches(rule: dict[str, Any], last_tag: int | None) -> bool:
    """Whether a follower whose last tag is ``last_tag`` fits ``rule``. The sandbox knows
    no follower's phone, so a rule naming a client platform fits nobody."""
    if _filled(rule.get("client_platform_type")):
        return False
    tag = rule.get("tag_id")
    return not _filled(tag) or (last_tag is not None and str(tag) == str(last_tag))


def menu_trymatch(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    _check_verified(platform)
    user_id = payload.get("user_id")
    record = platform.population.get(user_id) if isinstance(user_id, str) else None
    if record is None:
        raise _refusal("trymatch_unknown_user")
    state = platform.menu
    if state.default is None:
        raise _refusal("missing")
    # Several tags: the one applied last decides (tags are kept in the order applied).
    last_tag = record.tags[-1] if record.tags else None
    for menu in reversed(state.conditional):  # api_limits "match_order": newest first
        if _matches(menu.matchrule, last_tag):
            return {"button": copy.deepcopy(menu.button)}
    return {"button": copy.deepcopy(state.default)}


def _selfmenu_button(button: dict[str, Any]) -> dict[str, Any]:
    """An API menu's button as get_current_selfmenu_info answers it (sub-menus as a
    ``{"list": [...]}``)."""
    leaf = {k: copy.deepcopy(v) for k, v in button.items() if k != "sub_button"}
    subs = button.get("sub_button") or []
    if not subs:
        return leaf
    return {"name": button.get("name"), "sub_button": {"list": [_selfmenu_button(s) for s in subs]}}


def selfmenu_info(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    state = platform.menu
    if state.default is not None:
        buttons = [_selfmenu_button(b) for b in state.default]
    else:
        buttons = copy.deepcopy(state.panel or [])
    return {"is_menu_open": int(state.is_open), "selfmenu_info": {"button": buttons}}


def set_panel(platform: Platform, buttons: list[dict[str, Any]] | None, *, is_open: bool) -> None:
    """The operator publishes ``buttons`` in the admin panel (None: no menu there): the
    account shows them, and the menus set by API are gone (menu/get answers 46003)."""
    if buttons is not None and not all(isinstance(b, dict) for b in buttons):
        raise ValueError("a panel menu is a list of buttons (objects)")
    with platform.lock:
        platform.menu = MenuState(
            panel=copy.deepcopy(buttons), is_open=is_open, next_id=platform.menu.next_id
        )


ROUTES = {
    "/cgi-bin/menu/create": Route(menu_create),
    "/cgi-bin/menu/get": Route(menu_get, json_body=False, with_ok=False),
    "/cgi-bin/menu/delete": Route(menu_delete, json_body=False),
    "/cgi-bin/menu/addconditional": Route(menu_addconditional, with_ok=False),
    "/cgi-bin/menu/delconditional": Route(menu_delconditional),
    "/cgi-bin/menu/trymatch": Route(menu_trymatch, with_ok=False),
    "/cgi-bin/get_current_selfmenu_info": Route(selfmenu_info, json_body=False, with_ok=False),
}
