"""Tracked links: signed, redirect only where fencun sent them, clicks recorded once per
recipient (or client) per window, only a person's, and not past a client's rate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from fencun.audience.models import Event, Follower
from fencun.insights import links

TARGET = "https://shop.example.com/p/42?from=wx"
# WeChat's in-app browser, as it opens a link in a message.
WECHAT_BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN"
)
ANDROID_WECHAT = (
    "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 NetType/5G Language/zh_CN"
)


@pytest.fixture
def client():
    """A follower's phone: WeChat's browser, from one address."""
    return Client(HTTP_USER_AGENT=WECHAT_BROWSER, REMOTE_ADDR="203.0.113.7")


def _clicks() -> int:
    return Event.objects.filter(kind="link_click").count()


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


@pytest.mark.django_db
def test_three_hundred_clicks_from_one_client_on_a_shared_link_count_once(client, make_account):
    account = make_account()
    url = links.tracked_url(7, "", None, TARGET, account=account)  # a mass send's link
    for _ in range(300):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, TARGET)
    assert _clicks() == 1


@pytest.mark.django_db
def test_a_shared_link_counts_each_client_and_each_recipient_link_its_recipient(make_account):
    account = make_account()
    shared = links.tracked_url(7, "", None, TARGET, account=account)
    Client(HTTP_USER_AGENT=WECHAT_BROWSER, REMOTE_ADDR="203.0.113.7").get(shared)
    Client(HTTP_USER_AGENT=ANDROID_WECHAT, REMOTE_ADDR="198.51.100.9").get(shared)
    assert _clicks() == 2
    # Two recipients behind one address (a shop's Wi-Fi), each with their own link.
    phone = Client(HTTP_USER_AGENT=WECHAT_BROWSER, REMOTE_ADDR="203.0.113.7")
    for openid in ("o_a", "o_b", "o_a"):
        phone.get(links.tracked_url(8, openid, None, TARGET, account=account))
    assert sorted(Event.objects.filter(kind="link_click", openid__startswith="o_").values_list("openid", flat=True)) == ["o_a", "o_b"]


@pytest.mark.django_db
def test_a_click_counts_again_after_the_window(make_account):
    account = make_account()
    token = links.make_token(account.pk, 7, "o_reader", None, TARGET)
    visit = links.Visit("GET", "203.0.113.7", WECHAT_BROWSER)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for at in (start, start + links.CLICK_WINDOW / 3, start + links.CLICK_WINDOW, start + links.CLICK_WINDOW * 1.5):
        links.follow(token, at, visit)
    assert _clicks() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("request_kind", [
    "head", "sec_purpose", "purpose", "x_moz", "x_purpose", "no_agent", "curl",
    "googlebot", "baiduspider", "facebook_preview", "whatsapp", "slack", "headless",
])
def test_previews_prefetches_and_crawlers_are_redirected_but_not_counted(make_account, request_kind):
    account = make_account()
    url = links.tracked_url(7, "o_reader", None, TARGET, account=account, article=True)
    agents = {
        "no_agent": "",
        "curl": "curl/8.5.0",
        "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "baiduspider": "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "facebook_preview": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "whatsapp": "WhatsApp/2.23.20.0",
        "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "headless": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    }
    headers = {
        "sec_purpose": {"HTTP_SEC_PURPOSE": "prefetch;prerender"},
        "purpose": {"HTTP_PURPOSE": "prefetch"},
        "x_moz": {"HTTP_X_MOZ": "prefetch"},
        "x_purpose": {"HTTP_X_PURPOSE": "preview"},
    }.get(request_kind, {})
    visitor = Client(HTTP_USER_AGENT=agents.get(request_kind, WECHAT_BROWSER), REMOTE_ADDR="203.0.113.7")
    response = visitor.head(url) if request_kind == "head" else visitor.get(url, **headers)
    assert (response.status_code, response["Location"]) == (302, TARGET)
    assert not Event.objects.exists()  # no click, no read


@pytest.mark.django_db
def test_one_address_past_its_rate_is_redirected_but_not_counted(make_account):
    account = make_account()
    phone = Client(HTTP_USER_AGENT=WECHAT_BROWSER, REMOTE_ADDR="203.0.113.7")
    # Distinct links (one per recipient) so that only the rate can stop them counting;
    # pinned to one clock minute, so the test does not straddle two.
    at = datetime(2026, 11, 2, 9, 0, 5, tzinfo=UTC)
    visit = links.Visit("GET", "203.0.113.7", WECHAT_BROWSER)
    for i in range(links.CLIENT_CLICKS_PER_MINUTE + 20):
        token = links.make_token(account.pk, 7, f"o_{i}", None, TARGET)
        assert links.follow(token, at, visit) == TARGET
    assert _clicks() == links.CLIENT_CLICKS_PER_MINUTE
    # Another address is not held back by this one's rate.
    other = links.Visit("GET", "198.51.100.9", WECHAT_BROWSER)
    links.follow(links.make_token(account.pk, 7, "o_other", None, TARGET), at, other)
    assert _clicks() == links.CLIENT_CLICKS_PER_MINUTE + 1
    response = phone.get(links.tracked_url(7, "o_late", None, TARGET, account=account))
    assert response.status_code == 302
