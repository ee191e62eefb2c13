"""WSGI entry point for gunicorn and other servers.

WeChat's callback is served by a handler without the console's middleware: sessions,
CSRF, locale, authentication and messages mean nothing to a signed XML POST from
WeChat, and skipping them roughly halves the time each callback costs. It is still a
Django handler (URL resolution, request signals, exception handling are the same).
"""

import os

import django
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler

CALLBACK_PREFIX = "/wechat/callback"


class BareHandler(WSGIHandler):
    """A Django WSGI handler with no middleware."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)


def dispatch(full, bare):  # type: ignore[no-untyped-def]
    """Route WeChat's callback to ``bare`` and everything else to ``full``."""

    def application(environ, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO", "")
        if path == CALLBACK_PREFIX or path.startswith(CALLBACK_PREFIX + "/"):
            return bare(environ, start_response)
        return full(environ, start_response)

    return application


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fencun.settings")
django.setup(set_prefix=False)
application = dispatch(WSGIHandler(), BareHandler())
