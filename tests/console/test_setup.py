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
