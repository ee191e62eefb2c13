"""What every channel code has, checked the same way for the Official Account's QR codes
and WeCom's contact codes: no NUL anywhere, a name, a kind."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from fencun import inputs

NAME_MAX_CHARS = 64  # the models' column


def check_common(fields: dict[str, Any], kinds: Iterable[str]) -> dict[str, list[str]]:
    """Errors by field among ``fields``' NULs, ``name`` and ``kind`` (empty: none). With a
    NUL anywhere, only those are reported: nothing else of such input is worth reading."""
    errors: dict[str, list[str]] = {
        name: [_("must not contain a NUL character")]
        for name, value in fields.items()
        if inputs.has_nul(value)
    }
    if errors:
        return errors
    if "name" in fields:
        name = fields["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX_CHARS:
            errors["name"] = [_("A name has 1 to %(limit)s characters.") % {"limit": NAME_MAX_CHARS}]
    if "kind" in fields and fields["kind"] not in set(kinds):
        errors["kind"] = [_("Choose store, poster, event or other.")]
    return errors
