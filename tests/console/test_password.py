"""A user changes their own password in the console: the old one is asked for, weak ones
are refused in the page's language, and the new one is the one that logs in."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fencun.accounts.roles import grant

pytestmark = pytest.mark.django_db


def _log_in(client, password: str):
    return client.post("/accounts/login/", {"username": "pw-owner", "password": password},
                       REMOTE_ADDR="203.0.113.9")


@pytest.fixture
def user(client, make_account):
    u = User.objects.create_user("pw-owner", password="old-password-123")
    grant(u, make_account(), "operator")
    client.force_login(u)
    return u


def test_the_header_links_the_page_and_it_speaks_chinese(client, user):
    assert 'href="/accounts/password/"' in client.get("/").content.decode()
    page = client.get("/accounts/password/").content.decode()
    assert "修改密码" in page and 'name="old_password"' in page


def test_a_wrong_old_password_or_a_weak_new_one_changes_nothing(client, user):
    r = client.post("/accounts/password/", {"old_password": "not-it", "new_password1": "a-new-pass-456",
                                            "new_password2": "a-new-pass-456"})
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    r = client.post("/accounts/password/", {"old_password": "old-password-123", "new_password1": "123",
                                            "new_password2": "123"})
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    user.refresh_from_db()
    assert user.check_password("old-password-123")


def test_the_new_password_logs_in_and_the_old_one_does_not(client, user):
    r = client.post("/accounts/password/", {"old_password": "old-password-123", "new_password1": "a-new-pass-456",
                                            "new_password2": "a-new-pass-456"})
    assert r.status_code == 302 and r["Location"] == "/accounts/password/done/"
    assert "密码已修改" in client.get("/accounts/password/done/").content.decode()
    client.logout()
    assert _log_in(client, "old-password-123").status_code == 200  # the form again: refused
    assert _log_in(client, "a-new-pass-456").status_code == 302
