"""Console login: guessing is locked out per username and address, and a session ends
after a while without requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.utils import timezone

from fencun.accounts.roles import grant

PASSWORD = "a-long-password-1"


@pytest.fixture
def owner(db, make_account):
    user = User.objects.create_user("owner", password=PASSWORD)
    grant(user, make_account(), "owner")
    return user


def attempt(client, password: str, username: str = "owner", ip: str = "10.0.0.1", lang: str = "zh-hans"):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=lang)


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["登录失败已达 5 次", "15 分钟后再试"]),
    ("en", ["5 failed logins", "Try again in 15 minutes"]),
])
def test_repeated_failures_lock_that_username_from_that_address(client, owner, lang, words):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        r = attempt(client, "guess", lang=lang)
        assert r.status_code == 200  # the form again, with "wrong username or password"
    r = attempt(client, "guess", lang=lang)
    assert r.status_code == 429
    # Locked: even the right password is refused now, with the reason.
    r = attempt(client, PASSWORD, lang=lang)
    assert r.status_code == 429
    for w in words:
        assert w in r.content.decode(), w
    assert "_auth_user_id" not in client.session
    # The lock is on this username from this address only.
    assert attempt(client, PASSWORD, ip="10.0.0.2").status_code == 302


def test_other_usernames_from_the_same_address_are_not_locked(client, owner):
    User.objects.create_user("colleague", password=PASSWORD)
    for _ in range(6):
        attempt(client, "guess")
    assert attempt(client, PASSWORD, username="colleague").status_code == 302


def test_a_successful_login_forgets_the_earlier_failures(client, owner):
    for _ in range(4):
        attempt(client, "guess")
    assert attempt(client, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(4):
        assert attempt(client, "guess").status_code == 200
    assert attempt(client, PASSWORD).status_code == 302


def test_a_session_ends_after_two_idle_hours_and_each_request_renews_it(client, owner):
    assert settings.SESSION_COOKIE_AGE == 2 * 3600 and settings.SESSION_SAVE_EVERY_REQUEST
    assert attempt(client, PASSWORD).status_code == 302
    session = Session.objects.get()
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=5))
    assert client.get("/").status_code == 200
    renewed = Session.objects.get(pk=session.pk).expire_date
    assert renewed > timezone.now() + timedelta(hours=1, minutes=55)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
