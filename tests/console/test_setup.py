"""The first-run checklist: it shows what is left, the callback URL to paste, and a test of
the connection that asks WeChat (the sandbox, over HTTP) and says what is wrong."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fencun.accounts.models import Account
from fencun.accounts.roles import grant
from fencun.campaigns.seeding import seed_account

pytestmark = pytest.mark.django_db


def _log_in(client, account: Account) -> None:
    user = User.objects.create_user("setup-owner", password="a-long-password-1")
    grant(user, account, "owner")
    client.force_login(user)


def test_a_connected_account_tests_green_and_the_list_shows_what_is_left(client, make_sandbox, settings):
    box = make_sandbox(followers=7)
    settings.WECHAT = {**settings.WECHAT, "API_BASE": box.api_base}
    account = seed_account(box)
    _log_in(client, account)
    page = client.get("/setup/").content.decode()
    assert "http://testserver/wechat/callback" in page
    assert 'data-step="connect"' in page and "测试连接" in page
    r = client.post("/setup/")
    assert r.status_code == 200
    page = r.content.decode()
    assert 'data-tested="ok"' in page and "7 位粉丝" in page, page[page.find("data-tested"):][:300]


def test_a_wrong_app_secret_is_named_and_the_callback_url_follows_the_public_url(client, make_sandbox, settings):
    box = make_sandbox(followers=1)
    settings.WECHAT = {**settings.WECHAT, "API_BASE": box.api_base}
    settings.PUBLIC_URL = "https://shop.example.com/"
    account = seed_account(box)
    account.app_secret = "not-the-secret"
    account.save()
    _log_in(client, account)
    r = client.post("/setup/")
    page = r.content.decode()
    assert r.status_code == 400 and 'data-tested="failed"' in page and "AppSecret" in page
    assert "https://shop.example.com/wechat/callback" in page


def test_without_an_account_the_page_says_how_to_connect_one(client, db):
    user = User.objects.create_user("nobody-yet", password="a-long-password-1")
    client.force_login(user)
    page = client.get("/setup/").content.decode()
    assert "WECHAT_APP_ID" in page and "测试连接" not in page


GOOD = {"app_id": "wx0123456789abcdef", "account_type": "service", "app_secret": "A" * 32,
        "token": "shopToken42", "aes_key": "k" * 43}


def test_the_administrator_connects_the_first_account_from_the_console(client, settings):
    # No WECHAT_* environment; the menu import on connecting finds nothing listening.
    settings.WECHAT = {**settings.WECHAT, "APP_ID": "", "API_BASE": "http://127.0.0.1:9"}
    admin = User.objects.create_superuser("first-admin", password="a-long-password-1")
    client.force_login(admin)
    page = client.get("/setup/").content.decode()
    assert 'name="app_id"' in page and 'name="aes_key"' in page
    r = client.post("/setup/connect/", {**GOOD, "token": "ab", "aes_key": "k" * 42})
    page = r.content.decode()
    assert r.status_code == 400 and "Token 由 3 到 32 位字母或数字组成" in page and "43 位" in page
    assert not Account.objects.exists()  # nothing stored on a refusal
    r = client.post("/setup/connect/", GOOD)
    assert r.status_code == 302 and r["Location"] == "/setup/"
    account = Account.objects.get()
    assert (account.app_id, account.account_type, account.mode) == (GOOD["app_id"], "service", "safe")
    assert account.token == GOOD["token"] and account.aes_key == GOOD["aes_key"]
    raw = Account.objects.filter(pk=account.pk).values_list("token", flat=True).get()
    assert GOOD["token"] not in str(raw)  # sealed at rest
    page = client.get("/setup/").content.decode()
    assert 'data-step="connect"' in page and GOOD["app_secret"] not in page and GOOD["token"] not in page
    r = client.post("/setup/connect/", {**GOOD, "app_id": "wx0123456789abcdef"})
    assert Account.objects.count() == 1  # the shown account's secrets, not a second account


def test_an_owner_changes_one_secret_and_keeps_the_others_an_operator_may_not(client, make_account, settings):
    settings.WECHAT = {**settings.WECHAT, "APP_ID": ""}
    account = make_account()
    before = (account.app_secret, account.aes_key)
    _log_in(client, account)
    r = client.post("/setup/connect/", {"token": "newToken99", "app_secret": "", "aes_key": ""})
    assert r.status_code == 302
    account.refresh_from_db()
    assert account.token == "newToken99" and (account.app_secret, account.aes_key) == before
    operator = User.objects.create_user("setup-operator", password="a-long-password-1")
    grant(operator, account, "operator")
    client.force_login(operator)
    assert client.post("/setup/connect/", {"token": "hijacked1"}).status_code == 403
    account.refresh_from_db()
    assert account.token == "newToken99"


def test_an_account_set_by_the_environment_is_changed_there_only(client, make_account, settings):
    account = make_account()
    settings.WECHAT = {**settings.WECHAT, "APP_ID": account.app_id}
    _log_in(client, account)
    client.cookies["django_language"] = "en"
    assert "set by the WECHAT_* variables" in client.get("/setup/").content.decode()
    r = client.post("/setup/connect/", {"token": "newToken99"})
    assert r.status_code == 400 and "set by the WECHAT_* variables" in r.content.decode()
    account.refresh_from_db()
    assert account.token != "newToken99"
