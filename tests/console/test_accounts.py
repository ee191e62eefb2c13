"""An agency's console: several accounts, one chosen per session, each page showing only
the chosen account's rows."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from fencun.accounts.models import Account
from fencun.accounts.roles import grant
from fencun.audience.models import Follower, Store


@pytest.fixture
def two(db, client):
    user = User.objects.create_user("agency", password="a-long-password-1")
    client.force_login(user)
    first = Account.objects.create(app_id="wx-first-0000000001", token="t", name="惠州家具")
    second = Account.objects.create(app_id="wx-second-000000001", token="t", name="深圳床垫")
    grant(user, first, "operator")
    grant(user, second, "analyst")
    Store.objects.create(account=first, name="惠城店", lat=23.1, lng=114.4)
    Store.objects.create(account=second, name="南山店", lat=22.5, lng=113.9)
    theirs = Follower.objects.create(account=second, openid="o-second-1", subscribed=True,
                                     subscribed_at=timezone.now())
    return first, second, theirs


def test_the_console_shows_the_chosen_account_only(client, two):
    first, second, theirs = two
    page = client.get("/stores/").content.decode()
    assert "惠城店" in page and "南山店" not in page and "深圳床垫" in page  # the chooser lists both
    assert client.get(f"/followers/{theirs.pk}/").status_code == 404  # another account's follower
    r = client.post("/account/", {"account": second.pk, "next": "/stores/"})
    assert r.status_code == 302 and r["Location"] == "/stores/"
    page = client.get("/stores/").content.decode()
    assert "南山店" in page and "惠城店" not in page
    assert client.get(f"/followers/{theirs.pk}/").status_code == 200


def test_a_bad_choice_changes_nothing_and_next_stays_on_this_site(client, two):
    first, second, _ = two
    assert client.post("/account/", {"account": 999999}).status_code == 404
    assert "惠城店" in client.get("/stores/").content.decode()
    r = client.post("/account/", {"account": second.pk, "next": "https://evil.example.com/"})
    assert r["Location"] == "/"
    assert client.get("/account/").status_code == 405
