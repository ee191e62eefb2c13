"""``fencun serve`` answers /wechat/callback from an asynchronous callable (fencun.asgi).
It must answer as the WSGI callable does, check for check, and store before it answers."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import httpx
import pytest
from tests.conftest import AES_KEY, APP_ID, message
from tests.gateway.test_lean_callable import _refusals, _verification, lean

from fencun.asgi import application
from fencun.audience.models import Event, Follower
from fencun.gateway.models import AutoReply
from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto

URL = "/wechat/callback"


def asgi(method: str, query: dict | str, body: bytes = b"", path: str = URL, headers: dict | None = None):
    """One request through the ASGI application; (status, headers, body)."""
    query_string = query if isinstance(query, str) else urlencode(query)

    async def go():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, f"{path}?{query_string}", content=body, headers=headers)

    response = asyncio.run(go())
    return response.status_code, response.headers, response.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", ["verify", "verify_forged", "verify_stale", "put", "head"])
def test_verification_and_methods_are_answered_as_by_the_wsgi_callable(make_account, case):
    make_account(mode="safe")
    query = {"verify": _verification(), "verify_forged": _verification("not-the-token"),
             "verify_stale": _verification(skew=-301)}.get(case, {})
    method = {"put": "PUT", "head": "HEAD"}.get(case, "GET")
    status, headers, content = asgi(method, query)
    wsgi_status, wsgi_headers, wsgi_content = lean(method, query)
    assert (status, headers["content-type"], content) == (wsgi_status, wsgi_headers["Content-Type"], wsgi_content)
    assert status == {"verify": 200, "verify_forged": 403, "verify_stale": 403}.get(case, 405)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "case, status",
    [("downgrade", 403), ("forged", 403), ("stale", 403), ("bad_ciphertext", 400), ("wrong_appid", 400),
     ("doctype", 400), ("not_xml", 400), ("oversized", 413)],
)
def test_refusals_are_answered_as_by_the_wsgi_callable_and_store_nothing(make_account, signer, case, status):
    make_account(mode="safe")
    query, body = _refusals(signer)[case]
    ours = asgi("POST", query, body)
    theirs = lean("POST", query, body)
    assert (ours[0], ours[1]["content-type"], ours[2]) == (theirs[0], theirs[1]["Content-Type"], theirs[2])
    assert ours[0] == status
    assert Event.objects.count() == 0 and Follower.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_refusals_speak_the_callers_language_and_too_many_fields_are_refused(make_account, signer):
    make_account(mode="safe")
    query, body = _refusals(signer)["forged"]
    status, _, content = asgi("POST", query, body, headers={"Accept-Language": "en"})
    assert (status, content) == (403, b"BadSignature: signature does not match")
    status, _, _ = asgi("POST", "&".join(["a="] * 1001), b"<xml/>")  # under the line limit
    assert status == 400


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", [URL, f"{URL}/{APP_ID}"])
def test_a_message_is_stored_once_before_it_is_answered_and_replies_are_encrypted(make_account, signer, path):
    account = make_account(mode="safe")
    AutoReply.objects.create(account=account, match="contains", keyword="沙发", content="沙发目录")
    query, body = signer.safe(message("o_async", MsgType="text", Content="布艺沙发", MsgId=31))
    for _ in range(2):  # WeChat's retry
        status, headers, content = asgi("POST", query, body, path=path)
        assert status == 200 and headers["content-length"] == str(len(content))
        envelope = xmlmsg.parse(content)
        reply = xmlmsg.parse(MessageCrypto(AES_KEY, APP_ID).decrypt(envelope["Encrypt"]))
        assert (reply["ToUserName"], reply["Content"]) == ("o_async", "沙发目录")
    assert list(Event.objects.values_list("openid", "payload__content")) == [("o_async", "布艺沙发")]


@pytest.mark.django_db(transaction=True)
def test_the_console_and_the_api_are_served_by_django_beside_it(make_account):
    make_account()
    status, headers, content = asgi("GET", "", path="/api/openapi.json")
    assert status == 200 and b'"openapi"' in content
    status, _, content = asgi("GET", "", path="/accounts/login/")
    assert status == 200 and b"<form" in content



def test_a_request_line_over_the_servers_limit_is_refused_before_the_application():
    status, headers, content = asgi("GET", "text=" + "a" * 5000, path="/api/segments/count")
    assert (status, content) == (414, b"Request-URI Too Long")
    status, _, _ = asgi("GET", "text=" + "a" * 3000, path="/api/segments/count")
    assert status == 401  # under the limit: the API answers (no token)
