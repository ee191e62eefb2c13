"""The WeChat callback as a Django view (the URL conf, Django's test client).

Production serves the same path from the lean WSGI callable in ``gateway/wsgi.py``; both
answer through :func:`fencun.gateway.endpoint.answer`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from fencun.gateway.endpoint import answer, forget_cached_accounts

__all__ = ["callback", "forget_cached_accounts"]


@csrf_exempt
def callback(request: HttpRequest, app_id: str | None = None) -> HttpResponse:
    """``GET`` verifies the server URL; ``POST`` receives a message or event."""
    result = answer(
        request.method or "",
        app_id,
        {k: request.GET.get(k, "") for k in request.GET},
        # The environ, not request.read: Django reads CONTENT_LENGTH bytes and so nothing
        # of a chunked body.
        request.META,
    )
    response = HttpResponse(result.body, status=result.status, content_type=result.content_type)
    for name, value in result.headers:
        response[name] = value
    # State the length, so keep-alive clients are not answered in chunks.
    response["Content-Length"] = str(len(result.body))
    return response
