"""ASGI entry point: what ``fencun serve`` runs (uvicorn workers under gunicorn).

WeChat's callback (``/wechat/callback`` and ``/wechat/callback/<app_id>``) is answered by
an asynchronous callable (:mod:`fencun.gateway.asgi`): a callback waiting for its commit
is a future, not a thread. Everything else (the console, the API, tracked links) goes
through Django's ASGI handler, which runs the views in threads as under WSGI.
"""

import os

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fencun.settings")
django.setup(set_prefix=False)

from fencun.gateway.asgi import callback_application, send_answer  # noqa: E402 - needs django.setup()
from fencun.gateway.endpoint import TEXT, Answer  # noqa: E402
from fencun.gateway.wsgi import app_id_of  # noqa: E402

_django = ASGIHandler()
#: The longest request line taken (gunicorn's own limit, which its uvicorn workers do not
#: apply): a longer one is refused with 414 before any application code sees it.
MAX_REQUEST_LINE = 4094


def _request_line(scope) -> int:
    target = len(scope.get("raw_path") or scope["path"].encode())
    query = len(scope.get("query_string", b""))
    return len(scope["method"]) + 1 + target + (query + 1 if query else 0) + len(" HTTP/1.1")


TOO_LONG = Answer(414, b"Request-URI Too Long", TEXT, headers=(("Connection", "close"),))


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        # Nothing to start or stop: say so, so that the server does not wait for it.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        if _request_line(scope) > MAX_REQUEST_LINE:
            return await send_answer(send, TOO_LONG)
        is_callback, app_id = app_id_of(scope["path"])
        if is_callback:
            return await callback_application(scope, receive, send, app_id)
    return await _django(scope, receive, send)
