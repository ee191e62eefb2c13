"""Tracked links: signed, redirect only where fencun sent them, clicks recorded once."""

from __future__ import annotations

import pytest

from fencun.audience.models import Event, Follower
from fencun.insights import links

TARGET = "https://shop.example.com/p/42?from=wx"


@pytest.mark.django_db
def test_link_redirects_and_records_one_click(client, make_account):
    account = make_account()
    url = links.tracked_url(7, "o_reader", 42, TARGET, account=account)
    assert url.startswith("/r/")
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == TARGET
    clicks = Event.objects.filter(kind="link_click")
    assert clicks.count() == 1
    assert clicks.get().payload["campaign"] == 7
    assert clicks.get().payload["product"] == "42"
    assert Follower.objects.filter(account=account, openid="o_reader").exists()
    assert not Event.objects.filter(kind="read").exists()


@pytest.mark.django_db
def test_article_link_also_records_a_read(client, make_account):
    account = make_account()
    url = links.tracked_url(7, "o_reader", None, TARGET, account=account, article=True)
    client.get(url)
    client.get(url)
    reads = Event.objects.filter(kind="read")
    assert reads.count() == 1
    assert reads.get().payload == {"campaign": 7}


@pytest.mark.django_db
@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: "x" + t,
    lambda t: t.split(":")[0],
    lambda t: "garbage",
    lambda t: "%00%ff",
])
def test_tampered_link_is_refused_and_records_nothing(client, make_account, mangle):
    account = make_account()
    token = links.make_token(account.pk, 7, "o_reader", None, TARGET)
    response = client.get(f"/r/{mangle(token)}")
    assert response.status_code == 404
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_a_token_signed_for_another_purpose_is_refused(client, make_account):
    from django.core import signing

    account = make_account()
    forged = signing.dumps({"a": account.pk, "c": 1, "o": "x", "u": "https://evil.example"}, compress=True)
    assert client.get(f"/r/{forged}").status_code == 404


@pytest.mark.parametrize("target", ["javascript:alert(1)", "//evil.example", "ftp://x.example/a", "/local", "https://"])
def test_only_http_targets_can_be_tracked(target):
    with pytest.raises(links.LinkError):
        links.make_token(1, 1, "o", None, target)
