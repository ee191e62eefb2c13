"""The WSGI entry point: WeChat's callback skips the console's middleware, nothing else does."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import message, sized

from fencun.audience.models import Event
from fencun.testing.wsgi import call, environ
from fencun.wsgi import application


def _call(path: str, query: dict | None = None, body: bytes = b"", method: str = "POST"):
    return call(application, environ(method, path, urlencode(query or {}), body))


@pytest.mark.django_db(transaction=True)
def test_callback_is_answered_without_console_middleware(make_account, signer):
    make_account()
    status, headers, content = _call("/wechat/callback", *signer.plain(message(MsgType="text", Content="hi", MsgId=9)))
    assert (status, content) == (200, b"success")
    assert headers["Content-Length"] == "7"
    assert "Set-Cookie" not in headers and "X-Frame-Options" not in headers
    assert Event.objects.filter(kind="text").count() == 1


@pytest.mark.django_db(transaction=True)
def test_other_paths_keep_the_middleware():
    status, headers, _ = _call("/api/openapi.json", method="GET")
    assert status == 200
    assert headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db(transaction=True)  # the handler closes connections after each request
@settings(max_examples=sized(150, 40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=600), st.text(max_size=600).map(str.encode)))
def test_no_body_gives_a_server_error(make_account, signer, body):
    from fencun.accounts.models import Account

    if not Account.objects.exists():
        make_account(mode="compatible")
    query, _ = signer.plain(message())
    status, _, _ = _call("/wechat/callback", query, body)
    assert status in (200, 400, 403, 413)
