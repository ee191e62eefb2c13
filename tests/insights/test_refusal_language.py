"""A tracked link that is not ours is refused in the follower's language (their
browser's, 简体中文 by default); ``fencun import-orders --webhook`` explains the webhook
in the merchant's language."""

from __future__ import annotations

import pytest
from django.test import Client
from typer.testing import CliRunner

from fencun.insights import links, webhooks


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [("", "链接无效：链接签名不符"), ("zh-CN", "链接无效：链接签名不符"),
     ("en-US,en;q=0.9", "This link is not valid: bad link signature")],
)
def test_a_tampered_link_is_refused_in_the_followers_language(make_account, language, expected):
    account = make_account()
    token = links.make_token(account.pk, 7, "o_reader", None, "https://shop.example.com/p/42")
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = Client().get(f"/r/{token[:-3]}abc", **extra)
    assert response.status_code == 404
    assert response.content.decode() == expected


def test_an_untrackable_target_is_named_in_the_active_language():
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(links.LinkError, match="不是 http"):
        links.check_target("ftp://shop.example.com/x")
    with translation.override("en"), pytest.raises(links.LinkError, match="not an http"):
        links.check_target("ftp://shop.example.com/x")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "first", "second"),
    [([], "订单 Webhook：POST /webhooks/orders/", "每个请求体都要签名：请求头 X-Fencun-Signature"),
     (["--lang", "en"], "Orders webhook: POST /webhooks/orders/", "Sign each body: header X-Fencun-Signature")],
)
def test_the_webhook_instructions_are_in_the_merchants_language(monkeypatch, args, first, second):
    from fencun.cli.main import app

    monkeypatch.setattr("fencun.cli.orders.setup_django", lambda: None)
    result = CliRunner().invoke(app, ["import-orders", "--webhook", *args])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == first + webhooks.path_secret()
    assert lines[1].startswith(second) and lines[1].endswith(webhooks.secret().decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "signature", "not_json"),
    [("", "签名不符", "请求体不是 JSON"), ("en", "bad signature", "body is not JSON")],
)
def test_the_orders_webhook_refuses_in_the_callers_language(make_account, language, signature, not_json):
    make_account()
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    url = f"/webhooks/orders/{webhooks.path_secret()}"

    def post(body: bytes, signed: str) -> tuple[int, str]:
        response = Client().generic("POST", url, body, content_type="application/json",
                                    **{f"HTTP_{webhooks.HEADER.upper().replace('-', '_')}": signed}, **extra)
        return response.status_code, response.json()["detail"]

    assert post(b"{}", "sha256=" + "0" * 64) == (403, signature)
    assert post(b"[1, 2", webhooks.sign(b"[1, 2")) == (400, not_json)
