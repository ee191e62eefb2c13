"""What a refused callback says, in 简体中文 by default or in English.

The callback skips Django's middleware (``wsgi.py``), so the language is read here from
``Accept-Language``: WeChat sends none and gets 简体中文, an operator's ``curl -H
'Accept-Language: en'`` reads English. The body keeps the error's type first
(``BadSignature: …``): machines match that, people read the rest.

The messages are raised in English by ``fencun.protocol`` (pure, without Django) and by
this package; their translations live in ``gateway/locale``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop, trans_real

# Messages with a part that varies: the pattern, and the msgid it is translated by.
_VARYING = (
    (re.compile(r"missing field (?P<field>\w+)"), gettext_noop("missing field %(field)s")),
    (re.compile(r"(?P<field>\w+) is not a number"), gettext_noop("%(field)s is not a number")),
    (re.compile(r"not well-formed XML: (?P<error>\w+)"), gettext_noop("not well-formed XML: %(error)s")),
)


def language(environ: Mapping[str, Any]) -> str:
    """The first of ``Accept-Language``'s languages the product speaks, else its default."""
    for code, _quality in trans_real.parse_accept_lang_header(environ.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def _translated(message: str) -> str:
    for pattern, msgid in _VARYING:
        if match := pattern.fullmatch(message):
            return gettext(msgid) % match.groupdict()
    return gettext(message)


def body(kind: str, message: str, environ: Mapping[str, Any]) -> bytes:
    """``kind: message`` with the message in the request's language, as the answer's bytes."""
    with translation.override(language(environ)):
        return f"{kind}: {_translated(message)}".encode()
