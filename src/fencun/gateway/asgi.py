"""``/wechat/callback`` as an ASGI callable: what ``fencun serve`` answers callbacks with.

A callback spends nearly all its life waiting for its commit. Served by threads, each
waiting callback held a thread, and the threads' turns at the interpreter lock slowed
the very writes they waited for; in an event loop a waiting callback is a future, one
process holds hundreds, and the writes happen in the writer process
(:mod:`fencun.gateway.writer`). The checks and answers are the endpoint's own steps
(:func:`fencun.gateway.endpoint.answer_async`), fed with a WSGI-style environ built from
the ASGI scope, so every check of the callback is the same as on the WSGI path.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from fencun.gateway import refusals
from fencun.gateway.endpoint import TEXT, Answer, answer_async
from fencun.gateway.wsgi import parse_query

log = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _body(receive: Receive, environ: dict[str, Any]) -> bytes:
    """The body, never more than the limit + 1 bytes of it in memory; nothing is read of a
    body whose stated length is over the limit (the steps refuse it)."""
    limit = settings.CALLBACK_MAX_BYTES
    stated = environ.get("CONTENT_LENGTH", "")
    if stated.isdigit() and int(stated) > limit:
        return b""
    parts: list[bytes] = []
    got = 0
    more = True
    while more and got <= limit:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away
        part = message.get("body", b"")
        parts.append(part)
        got += len(part)
        more = message.get("more_body", False)
    return b"".join(parts)


def _environ(scope: dict[str, Any]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "PATH_INFO": scope["path"],
        # PEP 3333: the environ holds bytes as latin-1 text.
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        # The server takes chunks apart and ends the body where it ends.
        "wsgi.input_terminated": True,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            environ[name] = value
        else:
            environ[f"HTTP_{name}"] = value
    return environ


async def _serve(scope: dict[str, Any], receive: Receive, app_id: str | None) -> Answer:
    environ = _environ(scope)
    try:
        query = parse_query(environ["QUERY_STRING"])
    except ValueError:
        return Answer(400, refusals.body("TooManyFields", "too many query parameters", environ))
    if scope["method"] == "POST":
        environ["wsgi.input"] = io.BytesIO(await _body(receive, environ))
    return await answer_async(scope["method"], app_id, query, environ)


async def callback_application(
    scope: dict[str, Any], receive: Receive, send: Send, app_id: str | None
) -> None:
    """Answer one request to ``/wechat/callback`` or ``/wechat/callback/<app_id>``."""
    try:
        result = await _serve(scope, receive, app_id)
    except Exception:  # noqa: BLE001 - WeChat gets a bare 500 and retries; the log gets the rest
        log.exception("callback failed")
        result = Answer(500, b"server error", TEXT)
    await send_answer(send, result, head=scope["method"] == "HEAD")


async def send_answer(send: Send, result: Answer, *, head: bool = False) -> None:
    """Send ``result`` with its stated length (its body left out for a ``HEAD``)."""
    headers = [
        (b"content-type", result.content_type.encode("latin-1")),
        (b"content-length", str(len(result.body)).encode()),
    ]
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in result.headers)
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else result.body})
