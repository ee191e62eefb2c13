"""The console: no page without login, every page in both languages, forms that refuse bad input."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver

from fencun.accounts.roles import grant
from fencun.audience.models import Event, Follower, Store

# Reachable without a login on purpose, each for a stated reason.
PUBLIC = {
    "wechat/callback": "WeChat's servers post here, authenticated by signature",
    "wechat/callback/<str:app_id>": "the same, per account",
    "wecom/callback": "WeCom's servers post here, authenticated by signature",
    "wecom/callback/<str:corp_id>": "the same, per corp",
    "r/<str:token>": "tracked links opened by followers in WeChat",
    "webhooks/orders/<str:secret>": "the shop's webhook, authenticated by its secret",
    "api/openapi.json": "the OpenAPI document describes the API and holds no data",
    "accounts/login/": "the login page itself",
    "accounts/logout/": "logging out (POST only) has nothing to protect",
    "i18n/setlang/": "the language switch, used on the login page",
}


def _walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p


def _concrete(route: str) -> str:
    route = route.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str:|slug:|path:)?\w+>", "x", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route)
    return "/" + route


def _app_routes():
    return [
        (route, p) for route, p in _walk(get_resolver().url_patterns)
        if not route.startswith("admin/")  # the Django admin guards itself with staff login
    ]


def test_the_url_conf_has_console_and_api_pages():
    routes = [r for r, _ in _app_routes()]
    assert "" in routes and "followers/" in routes
    assert any(r.startswith("api/") for r in routes)
    for route in PUBLIC:
        assert route in routes, f"listed exception {route} no longer exists; update PUBLIC"


@pytest.mark.django_db
def test_every_page_refuses_an_anonymous_request(client):
    checked = unauthorized = 0
    for route, _ in _app_routes():
        if route in PUBLIC:
            continue
        url = _concrete(route)
        for method in (client.get, client.post):
            r = method(url)
            if route.startswith("api/"):
                # 401/403 without a token; 405 for a method the endpoint lacks; 404 for
                # the API's bare root, which serves nothing.
                assert r.status_code in (401, 403, 404, 405), (route, r.status_code)
                unauthorized += r.status_code == 401
            else:
                assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), (route, r.status_code)
        checked += 1
    assert checked >= 5 and unauthorized >= 3


@pytest.fixture
def staff(db, client, world):
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, world[0], "operator")
    client.force_login(user)
    return user


@pytest.fixture
def world(make_account):
    from django.utils import timezone

    account = make_account()
    store = Store.objects.create(account=account, name="黄山路店", address="惠州", lat=23.11, lng=114.41)
    f = Follower.objects.create(account=account, openid="o-follower-1", subscribed=True, lat=23.12, lng=114.42)
    Event.objects.create(account=account, follower=f, openid=f.openid, kind="subscribe",
                         occurred_at=timezone.now(), source="callback", dedup_key="t-1")
    return account, store, f


@pytest.fixture
def campaign(world):
    from fencun.campaigns.services import create_campaign
    from fencun.catalog.models import Category

    account = world[0]
    category = Category.objects.create(account=account, key="sofa", name="沙发", large_item=True)
    return create_campaign(account, name="双十一沙发", category=category)


def _pages(store, f):
    return ["/", "/followers/", "/followers/?q=follower", f"/followers/{f.pk}/", "/stores/",
            "/stores/new/", f"/stores/{store.pk}/", "/segments/", "/campaigns/", "/rules/", "/campaigns/new/",
            "/products/", "/products/new/", "/auto-replies/", "/auto-replies/new/", "/broadcast/",
            "/costs/"]


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["活动报告", "已送达", "没有对照组"]),
    ("en", ["Campaign report", "Delivered", "No holdout"]),
])
def test_campaign_list_and_report(client, staff, campaign, lang, words):
    client.cookies["django_language"] = lang
    assert "双十一沙发" in client.get("/campaigns/").content.decode()
    r = client.get(f"/campaigns/{campaign.pk}/report/")
    assert r.status_code == 200
    html = r.content.decode()
    for w in words:
        assert w in html
    assert client.get(f"/campaigns/{campaign.pk + 1000}/report/").status_code == 404


@pytest.mark.parametrize(("lang", "expected", "absent"), [
    ("zh-hans", "概览", "Overview"),
    ("en", "Overview", "概览"),
])
def test_every_page_renders_in_both_languages(client, staff, world, lang, expected, absent):
    account, store, f = world
    client.cookies["django_language"] = lang
    for url in _pages(store, f):
        r = client.get(url)
        assert r.status_code == 200, url
        html = r.content.decode()
        assert expected in html and f">{absent}<" not in html, url
    html = client.get(f"/followers/{f.pk}/").content.decode()
    assert ("到最近门店的距离" if lang == "zh-hans" else "Distance to the nearest store") in html
    assert "1.5 km" in html  # 23.12,114.42 to 23.11,114.41
    html = client.get("/").content.decode()
    assert ("当前粉丝" if lang == "zh-hans" else "Followers now") in html


def test_model_labels_from_chinese_source_are_translated_to_english(client, staff, world):
    client.cookies["django_language"] = "en"
    html = client.get("/stores/new/").content.decode()
    assert "Latitude" in html and "纬度" not in html
    client.cookies["django_language"] = "zh-hans"
    assert "纬度" in client.get("/stores/new/").content.decode()


def test_language_switch_sets_the_language(client, staff, world):
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/stores/"})
    assert r.status_code == 302 and r["Location"] == "/stores/"
    assert "Add a store" in client.get("/stores/").content.decode()


def test_login_then_the_overview(client, world):
    grant(User.objects.create_user("owner", password="a-long-password-1"), world[0], "analyst")
    assert client.get("/").status_code == 302
    r = client.post("/accounts/login/", {"username": "owner", "password": "wrong"})
    assert r.status_code == 200 and "用户名或密码错误" in r.content.decode()
    r = client.post("/accounts/login/", {"username": "owner", "password": "a-long-password-1"})
    assert r.status_code == 302 and r["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("bad", [
    {"name": "", "address": "x", "lat": "23", "lng": "114"},
    {"name": "A", "address": "x", "lat": "91", "lng": "114"},
    {"name": "A", "address": "x", "lat": "23", "lng": "not-a-number"},
    {"name": "A" * 101, "address": "x", "lat": "23", "lng": "114"},
])
def test_store_form_rejects_bad_input_and_changes_nothing(client, staff, world, bad):
    account, store, f = world
    before = list(Store.objects.values_list("id", "name", "lat", "lng"))
    r = client.post("/stores/new/", bad)
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    r = client.post(f"/stores/{store.pk}/", bad)
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    assert list(Store.objects.values_list("id", "name", "lat", "lng")) == before


def test_store_form_creates_and_edits(client, staff, world):
    account, store, f = world
    r = client.post("/stores/new/", {"name": "江北店", "address": "", "lat": "23.1", "lng": "114.4"})
    assert r.status_code == 302
    assert Store.objects.get(name="江北店").account == account
    client.post(f"/stores/{store.pk}/", {"name": "新名字", "address": "", "lat": "23.1", "lng": "114.4"})
    store.refresh_from_db()
    assert store.name == "新名字"


@pytest.mark.parametrize("bad", [
    {"quiet_start": "25:00"},
    {"quiet_end": "8am"},
    {"weekly_cap": "-1"},
    {"holdout_fraction": "0.9"},
    {"min_gap_hours": "soon"},
    {"control_fraction": "0.5"},
    {"control_fraction": "-0.01"},
    {"control_fraction": "a tenth"},
    {"control_fraction": ""},
])
def test_rules_form_rejects_bad_input_and_changes_nothing(client, staff, world, bad):
    from fencun.campaigns.models import Rules
    from fencun.campaigns.services import rules_for

    account = world[0]
    rules_for(account)
    before = list(Rules.objects.values())
    good = {"quiet_start": "22:00", "quiet_end": "08:00", "weekly_cap": "3", "category_cooldown_days": "3",
            "min_gap_hours": "20", "holdout_fraction": "0.05", "control_fraction": "0.05",
            "follower_value_yuan": ""}
    r = client.post("/rules/", {**good, **bad})
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    assert list(Rules.objects.values()) == before


def test_rules_save_and_show_the_platform_limits_with_sources(client, staff, world):
    from fencun.campaigns.services import rules_for

    account = world[0]
    html = client.get("/rules/").content.decode()
    assert "平台限制" in html and "/doc/" in html
    r = client.post("/rules/", {"quiet_start": "21:30", "quiet_end": "09:00", "weekly_cap": "2",
                                "category_cooldown_days": "5", "min_gap_hours": "24",
                                "holdout_fraction": "0.1", "control_fraction": "0.2", "follower_value_yuan": "30"})
    assert r.status_code == 302
    rules = rules_for(account)
    assert (rules.quiet_start, rules.weekly_cap, rules.holdout_fraction) == ("21:30", 2, 0.1)
    assert rules.control_fraction == 0.2 and rules.as_engine_rules().control_fraction == 0.2


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["分寸如何决定发不发", "本来就会购买的粉丝不算推送的功劳", "取消关注的概率", "长期对照组比例",
                 "从不接收营销推送"]),
    ("en", ["How fencun decides whether to send", "followers who would buy anyway earn the push no credit",
            "the chance the push makes the follower unfollow", "Control group share",
            "never get marketing pushes"]),
])
def test_the_rules_page_explains_the_decision_and_the_control_group(client, staff, world, lang, words):
    client.cookies["django_language"] = lang
    html = client.get("/rules/").content.decode()
    for w in words:
        assert w in html, w
    assert 'name="control_fraction"' in html and 'value="0.05"' in html


def test_campaign_steps_lint_dry_run_approve(client, staff, campaign):
    from fencun.campaigns.models import Campaign

    campaign.title = "双十一沙发特惠"
    campaign.body = "黄山路店沙发八折，到店看样。"
    campaign.save()
    url = f"/campaigns/{campaign.pk}/"
    assert client.get(url).status_code == 200
    r = client.post(url, {"step": "approve"})  # out of order: refused, nothing changes
    assert "error" in r.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == campaign.status
    client.post(url, {"step": "lint", "acknowledge": "1"})
    # Tomorrow at ten, Shanghai time: outside the quiet hours whenever the test runs.
    from datetime import timedelta

    from django.utils import timezone

    from fencun.audience.services import record_event
    from fencun.campaigns.segments import forget_states
    from fencun.campaigns.services import update_rules

    # Twenty followers asked about sofas; no control group, no holdout, nothing lost by a
    # push: the plan reaches some of them whatever its draws.
    for n in range(20):
        record_event(campaign.account, kind="subscribe", openid=f"o-asked-{n}", occurred_at=timezone.now(),
                     payload={}, source="test", dedup_key=f"s-sofa-{n}")
        record_event(campaign.account, kind="text", openid=f"o-asked-{n}", occurred_at=timezone.now(),
                     payload={"content": "沙发有货吗"}, source="test", dedup_key=f"t-sofa-{n}")
    update_rules(campaign.account, control_fraction=0.0, holdout_fraction=0.0, follower_value_yuan=0.0)
    forget_states()
    at = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    r = client.post(url, {"step": "dry_run", "send_at": at})
    assert r.status_code == 200 and "预演计划" in r.content.decode()
    client.post(url, {"step": "approve"})
    c = Campaign.objects.get(pk=campaign.pk)
    assert c.status not in ("draft", "linted", "planned"), c.status


@pytest.mark.parametrize("bad", [
    {"segment": "interest:sofa AND AND"},
    {"name": ""},
    {"category": "999999"},
    {"title": ""},
])
def test_new_campaign_rejects_bad_input_and_creates_nothing(client, staff, campaign, bad):
    from fencun.campaigns.models import Campaign

    good = {"name": "春季", "category": str(campaign.category_id), "segment": "", "title": "春季上新", "body": "新品到店"}
    before = Campaign.objects.count()
    r = client.post("/campaigns/new/", {**good, **bad})
    assert r.status_code == 200 and "errorlist" in r.content.decode()
    assert Campaign.objects.count() == before
    r = client.post("/campaigns/new/", good)
    assert r.status_code == 302 and Campaign.objects.count() == before + 1


def test_products_and_auto_replies_refuse_bad_input_and_save_good(client, staff, campaign):
    from fencun.catalog.models import Product
    from fencun.gateway.models import AutoReply

    cat = str(campaign.category_id)
    r = client.post("/products/new/", {"category": cat, "sku": "S1", "name": "沙发", "price": "abc",
                                       "image_url": "not a url", "link_url": "", "active": "on"})
    assert r.status_code == 200 and "errorlist" in r.content.decode() and Product.objects.count() == 0
    r = client.post("/products/new/", {"category": cat, "sku": "S1", "name": "沙发", "price": "1999",
                                       "image_url": "", "link_url": "", "active": "on"})
    assert r.status_code == 302 and Product.objects.get().account == campaign.account
    r = client.post("/auto-replies/new/", {"match": "nonsense", "keyword": "地址", "priority": "x",
                                           "reply_type": "text", "content": "a"})
    assert r.status_code == 200 and "errorlist" in r.content.decode() and AutoReply.objects.count() == 0


@pytest.fixture
def lift_world(make_account):
    """200 followers for 200 days; of everyone outside the control group, every second one
    ordered 1,500 yuan last month; the control group bought nothing; the rollup ran."""
    from datetime import timedelta

    import numpy as np
    from django.utils import timezone

    from fencun.audience.services import NewEvent, record_events
    from fencun.campaigns.models import Rules
    from fencun.campaigns.planning import build_state
    from fencun.engine import planner
    from fencun.insights import rollups
    from fencun.insights.orders import import_orders

    account = make_account()
    Rules.objects.create(account=account, control_fraction=0.2)
    now = timezone.now()
    openids = [f"o-ov-{n:03d}" for n in range(200)]
    record_events(account, [NewEvent("subscribe", o, now - timedelta(days=200), {}, "test", f"s:{o}")
                            for o in openids])
    state = build_state(account)
    control = {state.openids[i] for i in np.flatnonzero(planner.control_mask(state, 0.2))}
    others = [o for o in openids if o not in control]
    import_orders(account, [{"order_id": f"ov{i}", "amount": "1500", "openid": o,
                             "ordered_at": (now - timedelta(days=30)).isoformat()}
                            for i, o in enumerate(others[::2])])
    rollups.run(lag=0)
    return account, control, others


@pytest.mark.parametrize(("lang", "words", "money"), [
    ("zh-hans", ["长期效果", "长期对照组", "其他粉丝", "人均订单", "营销大约多带来了", "差值（95% 区间）"], r"\d{1,3}(,\d{3})+ 元"),
    ("en", ["Long-run lift", "Control group", "Everyone else", "Orders per follower", "Marketing added about",
            "95 % interval"], r"¥\d{1,3}(,\d{3})+"),
])
def test_the_overview_shows_the_long_run_lift(client, lift_world, lang, words, money):
    account, control, others = lift_world
    user = User.objects.create_user("analyst", password="a-long-password-1")
    grant(user, account, "analyst")
    client.force_login(user)
    client.cookies["django_language"] = lang
    html = client.get("/").content.decode()
    for w in words:
        assert w in html, w
    assert re.search(money, html), money
    assert "20%" in html  # the control group's share
    assert f"<td>{len(control)}</td><td>{len(others)}</td>" in html
    assert 'id="c-lift"' in html and "lift_revenue" in html


def test_the_overview_says_when_there_is_no_control_group(client, staff, world):
    from fencun.campaigns.models import Rules

    Rules.objects.create(account=world[0], control_fraction=0.0)
    client.cookies["django_language"] = "en"
    html = client.get("/").content.decode()
    assert "There is no control group" in html and 'id="c-lift"' not in html


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["克制省下了什么", "没有发给受众中的 800 位粉丝，约少了 12 人取消关注，也没有少卖",
                 "这次推送约失去 18 位粉丝", "两组都还没有人购买"]),
    ("en", ["What holding back saved", "Not sending to 800 followers of the audience spared about 12 unfollows "
            "and gave up no sales", "It cost about 18 followers", "Nobody in either group has bought yet"]),
])
def test_the_report_says_what_the_push_cost_and_what_holding_back_saved(client, staff, campaign, lang, words):
    from datetime import timedelta

    from django.utils import timezone

    from fencun.audience.services import NewEvent, record_events
    from fencun.campaigns.models import PlanSnapshot
    from fencun.insights import rollups, services

    account, at = campaign.account, timezone.now() - timedelta(days=2)
    sent = [f"s{i}" for i in range(200)]
    services.record_deliveries(account, campaign.pk, sent, at)
    services.record_deliveries(account, campaign.pk, [f"h{i}" for i in range(200)], at, holdout=True)
    record_events(account, [NewEvent("unsubscribe", o, at + timedelta(hours=5), {}, "test", f"u-{o}")
                            for o in [*sent[:20], "h0", "h1"]])
    PlanSnapshot.objects.create(
        campaign=campaign, planned_for=at, reach=200, audience=1000, approved_at=at,
        predicted={"reach": 200, "revenue": 900.0, "unfollows": 3.2},
        send_to_all={"reach": 1000, "revenue": 700.0, "unfollows": 15.7},
    )
    rollups.run(lag=0)
    client.cookies["django_language"] = lang
    html = client.get(f"/campaigns/{campaign.pk}/report/").content.decode()
    for w in words:
        assert w in html
