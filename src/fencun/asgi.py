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

from fencun.gateway.asgi import callback_application  # noqa: E402 - needs django.setup()
from fencun.gateway.wsgi import app_id_of  # noqa: E402

_django = ASGIHandler()


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
        is_callback, app_id = app_id_of(scope["path"])
        if is_callback:
            return await callback_application(scope, receive, send, app_id)
    return await _django(scope, receive, send)
