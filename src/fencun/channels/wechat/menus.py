"""Custom menus checked before they reach the platform, so a draft can be refused when it
is saved rather than when it is published.

:func:`check_buttons` (a menu's ``button`` list, for ``menu/create`` and
``menu/addconditional``) and :func:`check_matchrule` (a personalised menu's rule) list
every limit of the account table (``data/account_limits.json``, "menu") that is broken,
as data the product puts in words: which button, which limit, the limit's value. An
empty list means the platform takes it; the sandbox reads the same table and refuses
exactly what these list (a test holds the two together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fencun.channels.wechat.account_limits import limit


@dataclass(frozen=True)
class MenuProblem:
    """One broken limit. ``path``: the button, ``(1,)`` the second top-level button,
    ``(1, 2)`` its third sub-button, ``()`` the whole menu (or the rule). ``limit``: the
    limit's name under "menu" in the account table; ``value``: its value there (None
    for a rule without one, such as a field the button's type needs). ``field``: the
    matchrule field at fault, if any."""

    path: tuple[int, ...]
    limit: str
    value: Any = None
    field: str = ""


def _problem(path: tuple[int, ...], name: str, field: str = "") -> MenuProblem:
    return MenuProblem(path, name, limit("menu", name), field)


def _size(value: Any) -> int:
    """UTF-8 bytes of a text; anything else counts as empty."""
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def _named(button: dict[str, Any], path: tuple[int, ...], name_limit: str) -> list[MenuProblem]:
    if 0 < _size(button.get("name")) <= limit("menu", name_limit):
        return []
    return [_problem(path, name_limit)]


def _check_leaf(button: dict[str, Any], path: tuple[int, ...]) -> list[MenuProblem]:
    """A button that acts: a known type and the field that type needs."""
    kind = button.get("type")
    if not isinstance(kind, str) or kind not in limit("menu", "types"):
        return [_problem(path, "types")]
    needs = limit("menu", "type_fields")[kind]
    found = []
    if needs in ("key", "url"):
        size_limit = f"{needs}_max_bytes"
        if not 0 < _size(button.get(needs)) <= limit("menu", size_limit):
            found.append(_problem(path, size_limit))
    elif not button.get(needs):  # media_id, article_id: the limit is named after the field
        found.append(_problem(path, needs))
    if kind == "miniprogram" and not all(button.get(f) for f in limit("menu", "miniprogram")):
        found.append(_problem(path, "miniprogram"))
    return found


def _check_sub(sub: Any, path: tuple[int, ...]) -> list[MenuProblem]:
    if not isinstance(sub, dict):
        return [_problem(path, "button_format")]
    return _named(sub, path, "sub_button_name_max_bytes") + _check_leaf(sub, path)


def _check_top(button: Any, path: tuple[int, ...]) -> list[MenuProblem]:
    if not isinstance(button, dict):
        return [_problem(path, "button_format")]
    found = _named(button, path, "button_name_max_bytes")
    subs = button.get("sub_button")
    if not subs:  # no (or an empty) sub-menu: the button itself acts
        return found + _check_leaf(button, path)
    if not isinstance(subs, list):
        return [*found, _problem(path, "sub_buttons_max")]
    if len(subs) > limit("menu", "sub_buttons_max"):
        found.append(_problem(path, "sub_buttons_max"))
    for index, sub in enumerate(subs):
        found += _check_sub(sub, (*path, index))
    return found


def check_buttons(buttons: Any) -> list[MenuProblem]:
    """Every limit a menu's ``button`` list breaks (empty: the platform takes it)."""
    if not isinstance(buttons, list):
        return [_problem((), "buttons_max")]
    found = []
    if not 1 <= len(buttons) <= limit("menu", "buttons_max"):
        found.append(_problem((), "buttons_max"))
    for index, button in enumerate(buttons):
        found += _check_top(button, (index,))
    return found


def _filled(value: Any) -> bool:
    """Whether a rule's field takes part (不填则不做匹配: an empty one does not)."""
    return value is not None and str(value).strip() != ""


def _whole(value: Any) -> bool:
    if isinstance(value, str):
        return value.isascii() and value.isdigit()
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _platform_types() -> dict[str, str]:
    types: dict[str, str] = limit("menu", "client_platform_type")
    return types


def check_matchrule(rule: Any) -> list[MenuProblem]:
    """Every limit a personalised menu's ``matchrule`` breaks (empty: the platform takes
    it): one of ``tag_id`` and ``client_platform_type`` at least, none of the fields the
    platform no longer filters on for privacy (sex, region, language)."""
    if not isinstance(rule, dict):
        return [_problem((), "matchrule_empty")]
    found = [
        _problem((), "matchrule_private", name)
        for name in limit("menu", "matchrule_private")
        if _filled(rule.get(name))
    ]
    fields = {n: rule[n] for n in limit("menu", "matchrule_empty") if _filled(rule.get(n))}
    if not fields:
        found.append(_problem((), "matchrule_empty"))
    if "tag_id" in fields and not _whole(fields["tag_id"]):
        found.append(_problem((), "tag_id_format", "tag_id"))
    platform_type = fields.get("client_platform_type")
    if platform_type is not None and str(platform_type) not in _platform_types():
        found.append(_problem((), "client_platform_type", "client_platform_type"))
    return found


__all__ = ["MenuProblem", "check_buttons", "check_matchrule"]
