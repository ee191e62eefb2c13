"""A refused callback says why in 简体中文 by default (WeChat sends no Accept-Language) and
in English to whoever asks for it; the error's type stays first, for machines. The lean
WSGI path and the Django view answer alike."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from tests.conftest import message

from fencun.testing.wsgi import call, environ
from fencun.wsgi import application

URL = "/wechat/callback"


def lean(query: dict, body: bytes, language: str = "") -> tuple[int, bytes]:
    env = environ("POST", URL, urlencode(query), body)
    if language:
        env["HTTP_ACCEPT_LANGUAGE"] = language
    status, _, content = call(application, env)
    return status, content


def view(client, query: dict, body: bytes, language: str = "") -> tuple[int, bytes]:
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = client.post(f"{URL}?{urlencode(query)}", data=body, content_type="text/xml", **extra)
    return response.status_code, response.content


def forged(signer) -> tuple[dict, bytes]:
    query, body = signer.plain(message(MsgType="text", Content="hi", MsgId=1))
    return query | {"signature": "0" * 40}, body


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("", "BadSignature: 签名不符"),
        ("zh-CN,zh;q=0.9", "BadSignature: 签名不符"),
        ("en-US,en;q=0.8", "BadSignature: signature does not match"),
        ("fr, en;q=0.5", "BadSignature: signature does not match"),
        ("fr", "BadSignature: 签名不符"),
    ],
)
def test_a_forged_signature_is_refused_in_the_asked_language(client, make_account, signer, language, expected):
    make_account()
    query, body = forged(signer)
    assert lean(query, body, language) == (403, expected.encode())
    assert view(client, query, body, language) == (403, expected.encode())


@pytest.mark.django_db(transaction=True)
def test_a_message_naming_a_field_is_translated_with_the_field(client, make_account, signer):
    make_account()
    fields = message(MsgType="location", MsgId=2, Location_X="north", Location_Y="114.4", Scale=15)
    query, body = signer.plain(fields)
    assert lean(query, body) == (400, "MalformedXml: Location_X 不是数字".encode())
    assert view(client, query, body, "en") == (400, b"MalformedXml: Location_X is not a number")


@pytest.mark.django_db(transaction=True)
def test_every_refusal_of_the_gateway_has_a_chinese_translation():
    import re
    from pathlib import Path

    from django.utils import translation

    from fencun.gateway import refusals

    sources = [*Path("src/fencun/protocol").glob("*.py"), *Path("src/fencun/gateway").glob("*.py")]
    raised = {m for f in sources for m in re.findall(
        r'(?:raise \w+|refusals\.body)\(\s*(?:"\w+", )?"([^"{}]+)"', f.read_text("utf-8"))}
    # Errors of the server's own parts: logged, and answered with a bare 500, never shown.
    raised -= {"EncodingAESKey must be 43 characters", "EncodingAESKey is not valid base64",
               "EncodingAESKey must decode to 32 bytes", "the event was not committed in time",
               "frame too large", "payload must be an object", "a request is a non-empty list",
               "the callback's steps store one message at most"}
    assert len(raised) > 20
    with translation.override("zh-hans"):
        untranslated = {m for m in raised if refusals._translated(m) == m}
    assert not untranslated
