"""``/wechat/callback`` as a plain WSGI callable, without Django's request handling.

A callback is a signed XML POST from WeChat: sessions, CSRF, locale, authentication,
messages, URL resolution and request objects mean nothing to it, and Django's handler
cost more per callback than verifying, decrypting and parsing it. This callable reads
the method, path, query and body straight from the WSGI environ and answers through
:func:`fencun.gateway.endpoint.answer`, the same code as the Django view, so every check
of the callback (signatures in constant time, the timestamp window, downgrade refusal,
the size limit, safe XML, typed errors) is unchanged.

What Django's handler did that still matters is done here: database connections that
are unusable or past their age are closed after each request (``close_old_connections``,
Django's own request-finished hook), and an unexpected exception is logged and answered
with a bare 500 that shows nothing of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import close_old_connections

from fencun.gateway import refusals
from fencun.gateway.endpoint import TEXT, Answer, answer

log = logging.getLogger(__name__)

PATH = "/wechat/callback"

_REASONS = {s.value: s.phrase for s in HTTPStatus}


def app_id_of(path: str) -> tuple[bool, str | None]:
    """Whether ``path`` is the callback's (``/wechat/callback[/<app_id>]``), and the app id."""
    if path == PATH:
        return True, None
    if path.startswith(PATH + "/"):
        rest = path[len(PATH) + 1 :]
        # As Django's <str:…> converter: one non-empty segment; non-ASCII is left to Django.
        if rest and "/" not in rest and rest.isascii():
            return True, rest
    return False, None


def parse_query(raw: str) -> dict[str, str]:
    """The query string as Django's ``request.GET`` reads it (the last value of a repeated
    name wins); ``ValueError`` beyond Django's limit on the number of fields."""
    encoded = raw.encode("latin-1", "replace")  # PEP 3333: the environ holds bytes as latin-1
    try:
        text = encoded.decode("utf-8")
    except UnicodeDecodeError:
        text = encoded.decode("latin-1")
    return dict(
        parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="replace",
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    )


def _serve(environ: dict[str, Any], app_id: str | None) -> Answer:
    try:
        query = parse_query(environ.get("QUERY_STRING", ""))
    except ValueError:
        return Answer(400, refusals.body("TooManyFields", "too many query parameters", environ))
    return answer(environ.get("REQUEST_METHOD", ""), app_id, query, environ)


def callback_application(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """Answer one request to ``/wechat/callback`` or ``/wechat/callback/<app_id>``."""
    _, app_id = app_id_of(environ.get("PATH_INFO", ""))
    try:
        result = _serve(environ, app_id)
    except Exception:  # noqa: BLE001 - WeChat gets a bare 500 and retries; the log gets the rest
        log.exception("callback failed")
        result = Answer(500, b"server error", TEXT)
    finally:
        close_old_connections()
    headers = [("Content-Type", result.content_type), ("Content-Length", str(len(result.body)))]
    headers.extend(result.headers)
    start_response(f"{result.status} {_REASONS.get(result.status, '')}".rstrip(), headers)
    return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [result.body]
