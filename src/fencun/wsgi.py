"""WSGI entry point for gunicorn and other servers.

WeChat's callback (``/wechat/callback`` and ``/wechat/callback/<app_id>``) is answered
by a plain WSGI callable (:mod:`fencun.gateway.wsgi`), not by Django's handler: the
console's middleware, URL resolution and request objects mean nothing to a signed XML
POST from WeChat, and they cost more than the callback's own work. Everything else (the
console, the API, tracked links) goes through Django as usual.
"""

import os

import django
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fencun.settings")
django.setup(set_prefix=False)

from fencun.gateway.wsgi import app_id_of, callback_application  # noqa: E402 - needs django.setup()


def dispatch(full, callback):
    """Route WeChat's callback to ``callback`` and everything else to ``full``."""

    def application(environ, start_response):
        if app_id_of(environ.get("PATH_INFO", ""))[0]:
            return callback(environ, start_response)
        return full(environ, start_response)

    return application


application = dispatch(WSGIHandler(), callback_application)
