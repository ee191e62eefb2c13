"""The custom menu: ``menu/create``, ``menu/get``, ``menu/delete``.

/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html (and Querying_Custom_Menus,
Deleting_Custom-Defined_Menu); limits and codes in ``data/api_limits.json`` under "menu".
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.limits import api_errcode, api_limit
from fencun.sandbox.wechat.routing import Route

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

#: Button types that send a ``key`` back in their event; the others need a url,
#: media_id or article_id.
KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
URL_TYPES = frozenset({"view", "miniprogram"})
MEDIA_TYPES = frozenset({"media_id", "view_limited"})
ARTICLE_TYPES = frozenset({"article_id", "article_view_limited"})
#: A sub-button's error is the top-level one's counterpart (global return codes page).
SUB_CODES = {40017: 40024, 40018: 40025, 40019: 40026, 40020: 40027}


def _size(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def _check_leaf(button: dict[str, Any], *, sub: bool) -> None:
    """A button that acts: its type and the field its type needs."""

    def fail(top_code: int) -> ApiError:
        return ApiError(SUB_CODES[top_code] if sub else top_code)

    kind = button.get("type")
    if kind not in api_limit("menu", "types"):
        raise fail(api_errcode("menu", "types"))
    if kind in KEY_TYPES and not 0 < _size(button.get("key")) <= api_limit("menu", "key_max_bytes"):
        raise fail(api_errcode("menu", "key_max_bytes"))
    if kind in URL_TYPES and not 0 < _size(button.get("url")) <= api_limit("menu", "url_max_bytes"):
        raise fail(api_errcode("menu", "url_max_bytes"))
    if kind == "miniprogram" and not (button.get("appid") and button.get("pagepath")):
        raise ApiError(47001)
    if kind in MEDIA_TYPES and not button.get("media_id"):
        raise ApiError(40007)
    if kind in ARTICLE_TYPES and not button.get("article_id"):
        raise ApiError(47001)


def _check_menu(payload: dict[str, Any]) -> list[dict[str, Any]]:
    buttons = payload.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= api_limit("menu", "buttons_max"):
        raise ApiError(api_errcode("menu", "buttons_max"))
    for button in buttons:
        if not isinstance(button, dict):
            raise ApiError(47001)
        name_size = _size(button.get("name"))
        if not 0 < name_size <= api_limit("menu", "button_name_max_bytes"):
            raise ApiError(api_errcode("menu", "button_name_max_bytes"))
        subs = button.get("sub_button")
        if not subs:
            _check_leaf(button, sub=False)
            continue
        if not isinstance(subs, list) or len(subs) > api_limit("menu", "sub_buttons_max"):
            raise ApiError(api_errcode("menu", "sub_buttons_max"))
        for sub in subs:
            if not isinstance(sub, dict):
                raise ApiError(47001)
            if not 0 < _size(sub.get("name")) <= api_limit("menu", "sub_button_name_max_bytes"):
                raise ApiError(api_errcode("menu", "sub_button_name_max_bytes"))
            _check_leaf(sub, sub=True)
    return buttons


def menu_create(platform: Platform, _: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    buttons = _check_menu(payload)
    # menu/get lists each top-level button with its sub_button list, empty for a leaf.
    platform.menu = [{**copy.deepcopy(b), "sub_button": b.get("sub_button") or []} for b in buttons]
    return {}


def menu_get(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    if platform.menu is None:
        raise ApiError(api_errcode("menu", "missing"))
    return {"menu": {"button": copy.deepcopy(platform.menu)}}


def menu_delete(platform: Platform, _: dict[str, str], __: Any) -> dict[str, Any]:
    platform.menu = None
    return {}


ROUTES = {
    "/cgi-bin/menu/create": Route(menu_create),
    "/cgi-bin/menu/get": Route(menu_get, json_body=False, with_ok=False),
    "/cgi-bin/menu/delete": Route(menu_delete, json_body=False),
}
