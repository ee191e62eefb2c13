"""Secrets are never shown back in full: the console shows at most their last 4
characters, the admin's forms are write-only, the API returns none of them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver

from fencun import sealing
from fencun.accounts.models import Account
from fencun.accounts.roles import grant
from fencun.api.models import ApiToken
from fencun.channels.models import WecomCorp

APP_SECRET = "shown-appsecret-0123456789abWXYZ"
TOKEN = "shown-callback-token-0123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_SECRET = "shown-corpsecret-0123456789abcdefghijk-CORP"
CORP_TOKEN = "shown-corp-token-0123456"
SECRETS = (APP_SECRET, TOKEN, AES_KEY, CORP_SECRET, CORP_TOKEN)


@pytest.fixture
def account(db):
    account = Account.objects.create(
        app_id="wx-shown", app_secret=APP_SECRET, token=TOKEN, aes_key=AES_KEY, mode="safe", is_default=True
    )
    WecomCorp.objects.create(account=account, corp_id="ww-shown", secret=CORP_SECRET, token=CORP_TOKEN, aes_key=AES_KEY)
    return account


@pytest.fixture
def owner(client, account):
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, account, "owner")
    client.force_login(user)
    return user


def assert_no_secret(body: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in body, f"{where} shows a secret in full"
        assert secret[:-4] not in body, f"{where} shows more than the last 4 characters"


@pytest.mark.parametrize(("lang", "title", "unset"), [("zh-hans", "接入配置", "未设置"), ("en", "Connection", "not set")])
def test_the_rules_page_shows_the_connection_with_secrets_masked(client, owner, account, lang, title, unset):
    Account.objects.filter(pk=account.pk).update(aes_key="")
    client.cookies["django_language"] = lang
    body = client.get("/rules/").content.decode()
    assert title in body and "wx-shown" in body and "ww-shown" in body
    assert "••••WXYZ" in body and "••••CORP" in body  # the last 4 characters, no more
    assert unset in body  # the AES key, emptied above
    assert_no_secret(body, "/rules/")


def test_a_secret_the_key_does_not_open_is_shown_as_unreadable_not_as_an_error(client, owner, account):
    lost = sealing.seal(APP_SECRET, sealing.keyring("a-key-since-lost", []))
    Account.objects.filter(pk=account.pk).update(app_secret=lost)
    client.cookies["django_language"] = "en"
    r = client.get("/rules/")
    assert r.status_code == 200
    assert "cannot be decrypted with FENCUN_SECRET_KEY" in r.content.decode()


def _plain_routes(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _plain_routes(p.url_patterns, route)
        elif isinstance(p, URLPattern) and "<" not in route and "(" not in route:
            yield "/" + route.lstrip("^").rstrip("$")


def test_no_console_page_shows_a_secret(client, owner, account):
    pages = [r for r in _plain_routes(get_resolver().url_patterns) if not r.startswith(("/admin/", "/api/"))]
    assert "/rules/" in pages and len(pages) >= 10
    for page in pages:
        r = client.get(page)
        assert r.status_code < 500, page
        assert_no_secret(r.content.decode(errors="replace"), page)


def test_the_admin_never_renders_a_secret_and_blank_keeps_it(client, account):
    admin = User.objects.create_superuser("secrets-admin", password="a-long-password-1")
    client.force_login(admin)
    url = f"/admin/accounts/account/{account.pk}/change/"
    body = client.get(url).content.decode()
    assert 'name="app_secret"' in body and 'name="token"' in body
    assert_no_secret(body, url)
    form = {"app_id": "wx-shown", "name": "惠州家具", "account_type": "subscription", "mode": "safe",
            "is_default": "on", "app_secret": "", "token": "", "aes_key": ""}
    r = client.post(url, form)
    assert r.status_code == 302, r.content.decode()[:2000]
    kept = Account.objects.get(pk=account.pk)
    assert kept.name == "惠州家具"
    assert (kept.app_secret.reveal(), kept.token.reveal(), kept.aes_key.reveal()) == (APP_SECRET, TOKEN, AES_KEY)


def test_no_api_answer_shows_a_secret(client, account):
    token = ApiToken.issue("secrets", [account])[1]
    document = client.get("/api/openapi.json")
    assert_no_secret(document.content.decode(), "/api/openapi.json")
    checked = 0
    for path, methods in document.json()["paths"].items():
        if "get" not in methods or "{" in path:
            continue
        r = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert r.status_code < 500, path
        assert_no_secret(r.content.decode(errors="replace"), path)
        checked += 1
    assert checked >= 3
