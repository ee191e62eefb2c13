"""The console shows a user only the accounts they are a member of, and their role there
decides what they may change. Every console page of the URL conf is tried, so a page
added later is too; a page whose object this test cannot name fails it until taught."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from tests.api.test_isolation import rows_of
from tests.console.test_console import PUBLIC, _app_routes

from fencun.accounts.models import Account, Membership
from fencun.accounts.roles import grant, role_in
from fencun.api.models import ApiToken
from fencun.audience.models import Event, Follower, Segment, Store
from fencun.campaigns.models import Campaign, Journey
from fencun.campaigns.services import create_campaign
from fencun.catalog.models import Category, Product
from fencun.channels.models import BroadcastPost
from fencun.console.access import OWNER_VIEWS, READ_ONLY_POSTS, SESSION_ACCOUNT
from fencun.gateway.models import AutoReply
from fencun.operations.models import Menu, QrChannel

MARKER = "乙方机密"

# The object a ``<int:pk>`` in a console URL names, by the URL's first segment.
OBJECTS = {
    "followers": "follower", "segments": "segment", "campaigns": "campaign", "stores": "store",
    "products": "product", "auto-replies": "autoreply", "qr-channels": "qrchannel", "menus": "menu",
    "journeys": "journey",
}
# Pages of one object that only take a POST (an action on it).
POST_ONLY = frozenset({"qr-channels/<int:pk>/", "menus/<int:pk>/publish/", "menus/<int:pk>/withdraw/"})


def shop(account: Account, word: str) -> dict[str, int]:
    """One object of every kind the console shows, each named with ``word``; their pks."""
    now = timezone.now()
    follower = Follower.objects.create(account=account, openid=f"o-{word}", remark=word, subscribed=True,
                                       subscribed_at=now, lat=23.1, lng=114.4)
    Event.objects.create(account=account, follower=follower, openid=follower.openid, kind="text",
                         payload={"content": word}, occurred_at=now, source="test", dedup_key=f"{word}-1")
    category = Category.objects.create(account=account, key=f"c-{account.pk}", name=f"{word}沙发")
    campaign = create_campaign(account, name=f"{word}活动", category=category, title=f"{word}标题", body=word)
    BroadcastPost.objects.create(account=account, text=f"{word}微博")
    return {
        "follower": follower.pk,
        "segment": Segment.objects.create(account=account, name=f"{word}人群", text="subscribed").pk,
        "campaign": campaign.pk,
        "store": Store.objects.create(account=account, name=f"{word}店", address=word, lat=23.1, lng=114.4).pk,
        "product": Product.objects.create(account=account, category=category, sku=f"{word}-1",
                                          name=f"{word}床", price=100).pk,
        "autoreply": AutoReply.objects.create(account=account, match="exact", keyword=f"{word}词",
                                              content=word).pk,
        "category": category.pk,
        "qrchannel": QrChannel.objects.create(account=account, name=f"{word}海报", scene=f"s{account.pk}",
                                              ticket="t", url="http://weixin.qq.com/q/x", welcome=word).pk,
        "menu": Menu.objects.create(account=account, buttons=[
            {"type": "click", "name": "菜单", "key": "k", "reply": word}]).pk,
        "journey": Journey.objects.create(account=account, name=f"{word}旅程", definition={
            "trigger": {"kind": "subscribe"},
            "steps": [{"send": {"title": word, "category": category.key, "products": []}}]}).pk,
    }


def console_routes() -> list[str]:
    return [r for r, _ in _app_routes() if r not in PUBLIC and not r.startswith("api/")]


def url_of(route: str, pks: dict[str, int]) -> str:
    if "<int:pk>" in route:
        kind = OBJECTS.get(route.split("/", 1)[0])
        assert kind, f"/{route}: teach this test which object its pk names (OBJECTS)"
        route = route.replace("<int:pk>", str(pks[kind]))
    route = route.replace("<str:fmt>", "png")
    assert "<" not in route, f"/{route}: teach this test its parameters"
    return "/" + route


def form(account: Account, pks: dict[str, int]) -> dict[str, str]:
    """A form that would be good for most console pages, aimed at ``pks``' account."""
    return {
        "account": str(account.pk), "name": "新的", "text": "subscribed", "address": "惠州", "lat": "23.1",
        "lng": "114.4", "sku": "NEW-1", "price": "1", "category": str(pks["category"]), "active": "on",
        "match": "exact", "keyword": "新词", "priority": "1", "reply_type": "text", "content": "你好",
        "title": "标题", "body": "正文", "step": "dry_run", "quiet_start": "22:00", "quiet_end": "08:00",
        "weekly_cap": "2", "category_cooldown_days": "3", "min_gap_hours": "12", "holdout_fraction": "0.05",
        "control_fraction": "0.05", "next": "/",
    }


@pytest.fixture
def two(db, make_account):
    ours = make_account(app_id="wx-ours-000000000001", name="甲方家具")
    theirs = make_account(app_id="wx-theirs-00000000001", name=f"{MARKER}床垫")
    return (ours, shop(ours, "甲方")), (theirs, shop(theirs, MARKER))


def log_in(client, account: Account | None, role: str | None, username: str = "staff") -> User:
    user = User.objects.create_user(username, password="a-long-password-1")
    if account is not None and role is not None:
        grant(user, account, role)
    client.force_login(user)
    return user


def test_every_console_page_hides_and_protects_another_accounts_objects(client, two):
    (ours, our_pks), (theirs, their_pks) = two
    log_in(client, ours, "owner")
    before = rows_of(theirs)
    routes = console_routes()
    assert len(routes) >= 20
    for route in routes:
        url = url_of(route, their_pks)
        for method in ("get", "post"):
            r = getattr(client, method)(url, form(theirs, their_pks) if method == "post" else None)
            where = f"{method.upper()} {url}"
            assert r.status_code != 500, where
            assert MARKER not in r.content.decode(), f"{where} shows their data"
            if "<int:pk>" in route or route == "account/" and method == "post":
                assert r.status_code in (404, 405), (where, r.status_code)
            assert rows_of(theirs) == before, f"{where} changed their rows"
    # Forms that took their ids saved nothing of ours that points at their objects.
    assert not Product.objects.filter(account=ours, category__account=theirs).exists()
    assert not Campaign.objects.filter(account=ours, category__account=theirs).exists()
    # Our own objects are there, at the same pages: the 404s above were the scoping.
    for route in routes:
        if "<int:pk>" in route and "delete" not in route and route not in POST_ONLY:
            assert client.get(url_of(route, our_pks)).status_code == 200, route


def test_a_session_pointing_at_another_account_shows_the_users_own(client, two):
    (ours, _), (theirs, their_pks) = two
    log_in(client, ours, "analyst")
    session = client.session
    session[SESSION_ACCOUNT] = theirs.pk
    session.save()
    for url in ("/", "/followers/", "/stores/", "/campaigns/", "/segments/", "/products/", "/broadcast/"):
        page = client.get(url).content.decode()
        assert MARKER not in page, url
    assert "甲方店" in client.get("/stores/").content.decode()
    assert client.post("/account/", {"account": theirs.pk}).status_code == 404
    assert client.get(f"/followers/{their_pks['follower']}/").status_code == 404


def test_the_account_chooser_lists_only_the_users_accounts(client, two, make_account):
    (ours, _), (theirs, _) = two
    third = make_account(app_id="wx-third-00000000001", name="丙方灯具")
    user = log_in(client, ours, "operator")
    grant(user, third, "analyst")
    page = client.get("/").content.decode()
    assert "丙方灯具" in page and "甲方家具" in page and MARKER not in page
    r = client.post("/account/", {"account": third.pk, "next": "/stores/"})
    assert r.status_code == 302
    assert "甲方店" not in client.get("/stores/").content.decode()


@pytest.mark.parametrize(("lang", "words"), [("zh-hans", "只能查看"), ("en", "read-only")])
def test_an_analyst_reads_every_page_and_changes_nothing(client, two, lang, words):
    (ours, our_pks), _ = two
    log_in(client, ours, "analyst")
    client.cookies["django_language"] = lang
    routes = [(route, url_of(route, our_pks), p.name) for route, p in _app_routes() if route in console_routes()]
    for _, url, name in routes:
        got = client.get(url)
        if name in OWNER_VIEWS:  # members and tokens: owners only, even to look
            assert got.status_code == 403, url
            continue
        assert got.status_code not in (403, 404, 500), (url, got.status_code)  # 400: a count needs a filter
    before = rows_of(ours)  # after reading: a first read stores the default rules
    refused = 0
    for _, url, name in routes:
        r = client.post(url, form(ours, our_pks))
        # Choosing the account shown, the lint as typed, and one's own password: no
        # account's data changes, so every role may.
        if name in READ_ONLY_POSTS or name in ("password_change", "password_change_done"):
            assert r.status_code != 403, url
            continue
        assert r.status_code == 403, (url, r.status_code)
        assert words in r.content.decode() or name in OWNER_VIEWS  # those say "only an owner"
        refused += 1
    assert refused >= 10 and rows_of(ours) == before


def test_an_operator_changes_campaigns_and_content(client, two):
    (ours, our_pks), _ = two
    log_in(client, ours, "operator")
    r = client.post("/stores/new/", {"name": "新店", "address": "惠州", "lat": "23.1", "lng": "114.4"})
    assert r.status_code == 302 and Store.objects.filter(account=ours, name="新店").exists()
    r = client.post(f"/campaigns/{our_pks['campaign']}/", {"step": "lint"})
    assert r.status_code in (200, 400) and r.status_code != 403


def test_a_user_with_no_account_sees_nothing_and_changes_nothing(client, two):
    (ours, our_pks), (theirs, _) = two
    log_in(client, None, None)
    for url in ("/", "/followers/", "/stores/", "/campaigns/", "/products/", "/costs/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert MARKER not in page.content.decode() and "甲方" not in page.content.decode(), url
    stores = Store.objects.count()
    r = client.post("/stores/new/", {"name": "无主店", "address": "x", "lat": "23", "lng": "114"})
    assert r.status_code == 403 and Store.objects.count() == stores
    assert client.get(f"/stores/{our_pks['store']}/").status_code == 404


def test_a_superuser_is_the_owner_of_every_account(client, two):
    (ours, _), (theirs, _) = two
    client.force_login(User.objects.create_superuser("root", "", "a-long-password-1"))
    client.post("/account/", {"account": theirs.pk})
    assert f"{MARKER}店" in client.get("/stores/").content.decode()
    assert re.search(r"<option[^>]*>甲方家具</option>", client.get("/").content.decode())


# --- the owner's page: members and API tokens ---------------------------------------------

@pytest.mark.parametrize(("lang", "words"), [("zh-hans", "只有这个公众号的所有者"), ("en", "Only an owner")])
def test_only_an_owner_manages_members_and_tokens(client, two, lang, words):
    (ours, _), _ = two
    log_in(client, ours, "operator")
    client.cookies["django_language"] = lang
    assert "/members/" not in client.get("/").content.decode()  # not offered
    for r in (client.get("/members/"), client.post("/members/", {"action": "token", "name": "x", "scope": "write"})):
        assert r.status_code == 403 and words in r.content.decode()
    assert not ApiToken.objects.exists()


def test_an_owner_gives_roles_and_tokens_of_their_account_only(client, two):
    (ours, _), (theirs, _) = two
    owner = log_in(client, ours, "owner")
    wang = User.objects.create_user("wang", password="a-long-password-1")
    their_member = grant(User.objects.create_user("zhao"), theirs, "owner")
    their_token = ApiToken.issue("theirs", [theirs])[0]
    assert "/members/" in client.get("/").content.decode()
    assert client.post("/members/", {"action": "grant", "username": "wang", "role": "analyst"}).status_code == 200
    assert role_in(wang, ours) == "analyst" and role_in(wang, theirs) is None
    # Not their members, not their tokens: 404 as if they did not exist.
    assert client.post("/members/", {"action": "remove", "membership": their_member.pk}).status_code == 404
    assert client.post("/members/", {"action": "revoke", "token": their_token.pk}).status_code == 404
    page = client.get("/members/").content.decode()
    assert "zhao" not in page and their_token.prefix not in page and "wang" in page
    # Nor one's own role (another owner changes it), nor a user who does not exist.
    mine = Membership.objects.get(user=owner)
    assert client.post("/members/", {"action": "remove", "membership": mine.pk}).status_code == 400
    assert client.post("/members/", {"action": "grant", "username": "nobody", "role": "owner"}).status_code == 400
    # A token made here reaches this account only, is shown once, and is revoked here.
    r = client.post("/members/", {"action": "token", "name": "报表", "scope": "read"})
    plaintext = re.search(r"<code>(fc_[^<]+)</code>", r.content.decode()).group(1)
    token = ApiToken.authenticate(plaintext)
    assert list(token.accounts.all()) == [ours] and token.scope == "read"
    assert plaintext not in client.get("/members/").content.decode()
    assert client.post("/members/", {"action": "revoke", "token": token.pk}).status_code == 200
    assert ApiToken.authenticate(plaintext) is None
    wang_row = Membership.objects.get(user=wang)
    assert client.post("/members/", {"action": "remove", "membership": wang_row.pk}).status_code == 200
    assert role_in(wang, ours) is None
    their_token.refresh_from_db()
    assert not their_token.revoked and Membership.objects.filter(pk=their_member.pk).exists()


def test_the_administrator_manages_roles_and_token_scopes_in_the_admin(client, two):
    (ours, _), _ = two
    grant(User.objects.create_user("wang"), ours, "analyst")
    client.force_login(User.objects.create_superuser("root", "", "a-long-password-1"))
    page = client.get("/admin/accounts/membership/")
    assert page.status_code == 200 and "wang" in page.content.decode()
    assert client.get("/admin/api/apitoken/add/").status_code == 200
