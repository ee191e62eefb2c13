"""The console's actions through the API: campaigns (create, change, lint, plan, approve,
cancel, results), saved segments, products and stores, each over HTTP with a token.

Every refusal is a 4xx whose message says why, in the caller's language, and changes
nothing; another account's objects answer 404 (``test_isolation.py`` tries every
endpoint of the document on them, these included).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from fencun import clock
from fencun.api.models import ApiToken
from fencun.audience.models import Segment, Store
from fencun.audience.services import record_event
from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot
from fencun.campaigns.segments import forget_states
from fencun.campaigns.services import create_campaign, update_rules
from fencun.catalog.models import Category, Product

pytestmark = pytest.mark.django_db

# A Tuesday, 10:00 in Shanghai: outside quiet hours whatever the rules.
NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
FOLLOWERS = 12


@pytest.fixture
def shop(make_account):
    """An account with a sofa category, two products and followers who asked about sofas."""
    clock.set_now(NOW)
    account = make_account(account_type="service")
    sofa = Category.objects.create(account=account, key="sofa", name="沙发", keywords=["沙发"])
    Product.objects.create(account=account, category=sofa, sku="S1", name="三人沙发", price=4299)
    Product.objects.create(account=account, category=sofa, sku="S2", name="单人沙发", price=1999)
    for n in range(FOLLOWERS):
        openid = f"o-api-{n}"
        record_event(account, kind="subscribe", openid=openid, occurred_at=NOW - timedelta(days=60),
                     payload={}, source="test", dedup_key=f"s{n}")
        record_event(account, kind="text", openid=openid, occurred_at=NOW - timedelta(days=2),
                     payload={"content": "沙发有货吗"}, source="test", dedup_key=f"t{n}")
    # Any hour, no caps, no holdout: the plan reaches whoever the engine finds worth it.
    update_rules(account, quiet_start="00:00", quiet_end="00:00", holdout_fraction=0.0,
                 control_fraction=0.0, follower_value_yuan=0.0)
    forget_states()
    yield account
    clock.reset()
    forget_states()


@pytest.fixture
def token(shop):
    return ApiToken.issue("agency", [shop])[1]


def call(client, method: str, url: str, token: str, body: object = None, lang: str = "zh-hans"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": lang}
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **headers)


DRAFT = {"name": "周末沙发", "category": "sofa", "title": "周末沙发到店体验",
         "body": "黄山路店新到布艺沙发，欢迎到店看样。", "products": ["S1"]}


# --- campaigns -----------------------------------------------------------------------------

def test_create_plan_approve_writes_the_outbox_as_the_console_does(client, shop, token):
    r = call(client, "post", "/api/campaigns", token, DRAFT)
    assert r.status_code == 201, r.content
    created = r.json()
    campaign_id = created["campaign"]["id"]
    assert created["campaign"]["status"] == "draft" and created["campaign"]["products"] == ["S1"]
    assert isinstance(created["findings"], list)

    r = call(client, "post", f"/api/campaigns/{campaign_id}/lint", token, {"acknowledge_warnings": True})
    assert r.status_code == 200 and r.json()["campaign"]["status"] == "linted", r.content

    r = call(client, "post", f"/api/campaigns/{campaign_id}/plan", token)
    assert r.status_code == 200, r.content
    plan = r.json()
    assert plan["audience"] == FOLLOWERS
    assert plan["reach"] + sum(h["followers"] for h in plan["held_back"]) == plan["audience"]
    assert {"reach", "orders", "revenue", "unfollows"} <= plan["predicted"].keys() <= plan["send_to_all"].keys()
    assert all(h["label"] for h in plan["held_back"]) and plan["dial"]
    assert plan["reach"] > 0, plan

    r = call(client, "post", f"/api/campaigns/{campaign_id}/approve", token, {"plan": plan["id"]})
    assert r.status_code == 200, r.content
    approved = r.json()
    assert approved["campaign"]["status"] == "scheduled" and approved["campaign"]["approved_by"] == "api:agency"
    rows = OutboxItem.objects.filter(campaign_id=campaign_id)
    assert approved["outbox_rows"] == rows.count() > 0
    sent_to = sorted(o for item in rows for o in item.openids)
    assert sent_to == sorted(PlanSnapshot.objects.get(pk=plan["id"]).recipients)
    assert PlanSnapshot.objects.get(pk=plan["id"]).approved_at is not None

    got = call(client, "get", f"/api/campaigns/{campaign_id}", token).json()
    assert got["plan"]["id"] == plan["id"] and got["plan"]["approved_at"] is not None
    listed = call(client, "get", "/api/campaigns?status=scheduled", token).json()
    assert [c["id"] for c in listed] == [campaign_id]

    results = call(client, "get", f"/api/campaigns/{campaign_id}/results", token)
    assert results.status_code == 200, results.content
    assert {"sent", "holdout", "lift", "read", "ordered", "revenue", "unfollowed"} <= results.json().keys()

    # Changing an approved campaign is refused; cancelling it fails the rows not yet sent.
    r = call(client, "patch", f"/api/campaigns/{campaign_id}", token, {"title": "改一下"}, lang="en")
    assert r.status_code == 400 and "cannot be changed" in r.json()["detail"]
    r = call(client, "post", f"/api/campaigns/{campaign_id}/cancel", token)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert not rows.filter(status__in=("pending", "held")).exists()
    r = call(client, "post", f"/api/campaigns/{campaign_id}/cancel", token)
    assert r.status_code == 400 and r.json()["detail"] == "处于「已取消」状态的活动不能变为「已取消」。"


def test_the_plan_names_why_followers_were_held_back_in_the_callers_language(client, shop, token):
    update_rules(shop, control_fraction=0.2)
    campaign = create_campaign(shop, name="a", category=Category.objects.get(account=shop), title="沙发", body="到店看看")
    call(client, "post", f"/api/campaigns/{campaign.pk}/lint", token, {"acknowledge_warnings": True})
    zh = call(client, "post", f"/api/campaigns/{campaign.pk}/plan", token).json()
    en = call(client, "post", f"/api/campaigns/{campaign.pk}/plan", token, lang="en").json()
    assert any(h["reason"] == "control_group" and "对照组" in h["label"] for h in zh["held_back"]), zh["held_back"]
    assert any(h["reason"] == "control_group" and "Control group" in h["label"] for h in en["held_back"])


def test_a_draft_changes_while_not_approved_and_goes_back_to_draft(client, shop, token):
    campaign_id = call(client, "post", "/api/campaigns", token, DRAFT).json()["campaign"]["id"]
    call(client, "post", f"/api/campaigns/{campaign_id}/lint", token, {"acknowledge_warnings": True})
    r = call(client, "patch", f"/api/campaigns/{campaign_id}", token,
             {"title": "新品沙发到店", "segment": "interest:沙发", "products": ["S2", "S1"]})
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["status"] == "draft" and out["title"] == "新品沙发到店" and out["segment"] == "interest:沙发"
    assert out["products"] == ["S1", "S2"]
    # Planning a draft is refused until it is linted again.
    r = call(client, "post", f"/api/campaigns/{campaign_id}/plan", token, lang="en")
    assert r.status_code == 400 and "lint it first" in r.json()["detail"]


@pytest.mark.parametrize(("change", "lang", "words"), [
    ({"category": "lamp"}, "en", "No category lamp"),
    ({"category": "lamp"}, "zh-hans", "没有类目 lamp"),
    ({"products": ["NOPE"]}, "en", "No product NOPE"),
    ({"segment": "interest:沙发 and and"}, "en", "and"),
    ({"name": "  "}, "en", "needs a name"),
    ({"name": "  "}, "zh-hans", "名称"),
    ({"channel": "carrier-pigeon"}, "en", "carrier-pigeon"),
])
def test_a_bad_campaign_is_refused_with_why_and_nothing_is_created(client, shop, token, change, lang, words):
    r = call(client, "post", "/api/campaigns", token, {**DRAFT, **change}, lang=lang)
    assert r.status_code == 400, r.content
    assert words in r.json()["detail"]
    assert not Campaign.objects.exists()


def test_a_bad_change_keeps_the_campaign_as_it_was(client, shop, token):
    campaign_id = call(client, "post", "/api/campaigns", token, DRAFT).json()["campaign"]["id"]
    before = Campaign.objects.values().get(pk=campaign_id)
    for change in ({"segment": "distance<<3"}, {"category": "lamp"}, {"title": None}, {"winner_rule": "coin"}):
        r = call(client, "patch", f"/api/campaigns/{campaign_id}", token, change)
        assert r.status_code in (400, 422), (change, r.content)
    assert Campaign.objects.values().get(pk=campaign_id) == before


@pytest.mark.parametrize(("lang", "words"), [("en", "in the past"), ("zh-hans", "已经过去")])
def test_an_approval_for_a_time_past_is_refused_and_writes_no_outbox(client, shop, token, lang, words):
    campaign_id = call(client, "post", "/api/campaigns", token, DRAFT).json()["campaign"]["id"]
    call(client, "post", f"/api/campaigns/{campaign_id}/lint", token, {"acknowledge_warnings": True})
    call(client, "post", f"/api/campaigns/{campaign_id}/plan", token)
    past = (NOW - timedelta(hours=1)).isoformat()
    r = call(client, "post", f"/api/campaigns/{campaign_id}/approve", token, {"send_at": past}, lang=lang)
    assert r.status_code == 400 and words in r.json()["detail"], r.content
    r = call(client, "post", f"/api/campaigns/{campaign_id}/approve", token, {"plan": 2**40})
    assert r.status_code == 400
    assert Campaign.objects.get(pk=campaign_id).status == "planned" and not OutboxItem.objects.exists()
    later = (NOW + timedelta(days=1)).replace(tzinfo=None).isoformat()  # no offset: Asia/Shanghai
    r = call(client, "post", f"/api/campaigns/{campaign_id}/approve", token, {"send_at": later})
    assert r.status_code == 200, r.content
    assert Campaign.objects.get(pk=campaign_id).scheduled_for == NOW + timedelta(days=1) - timedelta(hours=8)


# --- saved segments ------------------------------------------------------------------------

def test_segments_are_saved_counted_changed_and_deleted(client, shop, token):
    r = call(client, "get", "/api/segments/count?text=interest:沙发", token)
    assert r.status_code == 200 and r.json() == {"matched": FOLLOWERS, "subscribed": FOLLOWERS}
    r = call(client, "post", "/api/segments", token, {"name": "沙发客", "text": "interest:沙发"})
    assert r.status_code == 201, r.content
    segment = r.json()
    assert segment["matched"] == FOLLOWERS and segment["error"] is None
    assert [s["name"] for s in call(client, "get", "/api/segments", token).json()] == ["沙发客"]
    r = call(client, "patch", f"/api/segments/{segment['id']}", token, {"name": "不要沙发的", "text": "not interest:沙发"})
    assert r.status_code == 200 and r.json()["matched"] == 0 and r.json()["name"] == "不要沙发的"
    assert call(client, "get", f"/api/segments/{segment['id']}", token).json()["text"] == "not interest:沙发"
    assert call(client, "delete", f"/api/segments/{segment['id']}", token).status_code == 204
    assert not Segment.objects.exists()
    assert call(client, "get", f"/api/segments/{segment['id']}", token).status_code == 404


@pytest.mark.parametrize(("body", "lang", "words"), [
    ({"name": "坏的", "text": "interest:沙发 and and"}, "en", "and"),
    ({"name": "坏的", "text": ""}, "en", "empty"),
    ({"name": "坏的", "text": ""}, "zh-hans", "为空"),
    ({"name": " ", "text": "subscribed"}, "en", "name"),
    ({"name": "沙发客", "text": "subscribed"}, "en", "exists already"),
])
def test_a_bad_segment_is_refused_and_nothing_is_saved(client, shop, token, body, lang, words):
    Segment.objects.create(account=shop, name="沙发客", text="interest:沙发")
    before = list(Segment.objects.values())
    r = call(client, "post", "/api/segments", token, body, lang=lang)
    assert r.status_code == 400 and words in r.json()["detail"], r.content
    other = Segment.objects.create(account=shop, name="其他", text="subscribed")
    r = call(client, "patch", f"/api/segments/{other.pk}", token, body, lang=lang)
    assert r.status_code == 400, r.content
    other.refresh_from_db()
    assert (other.name, other.text) == ("其他", "subscribed")
    assert list(Segment.objects.exclude(pk=other.pk).values()) == before
    r = call(client, "get", "/api/segments/count?text=distance<<3", token)
    assert r.status_code == 400 and r.json()["detail"]


# --- products and stores ---------------------------------------------------------------------

def test_products_are_added_listed_changed_and_deleted(client, shop, token):
    r = call(client, "post", "/api/products", token, {"sku": "L1", "name": "落地灯", "price": "399.50"})
    assert r.status_code == 201, r.content
    lamp = r.json()
    assert lamp["category"] is None and lamp["price"] == "399.50" and lamp["active"] is True
    assert [p["sku"] for p in call(client, "get", "/api/products", token).json()] == ["L1", "S1", "S2"]
    r = call(client, "patch", f"/api/products/{lamp['id']}", token, {"category": "sofa", "active": False})
    assert r.status_code == 200 and r.json()["category"] == "sofa" and r.json()["active"] is False
    assert call(client, "delete", f"/api/products/{lamp['id']}", token).status_code == 204
    assert not Product.objects.filter(sku="L1").exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"sku": "S1", "name": "重复", "price": 1}, "__all__"),
    ({"sku": "L1", "name": "灯", "price": 1, "category": "lamp"}, "category"),
    ({"sku": "L1", "name": "灯", "price": 1, "link_url": "not a url"}, "link_url"),
    ({"sku": "", "name": "灯", "price": 1}, "sku"),
])
def test_a_bad_product_is_refused_by_field_and_nothing_is_saved(client, shop, token, body, field):
    before = list(Product.objects.order_by("pk").values())
    r = call(client, "post", "/api/products", token, body, lang="en")
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"] and r.json()["detail"]
    s2 = Product.objects.get(sku="S2")
    r = call(client, "patch", f"/api/products/{s2.pk}", token, {k: v for k, v in body.items() if k != "name"})
    assert r.status_code == 400, r.content
    assert list(Product.objects.order_by("pk").values()) == before


def test_a_bad_product_value_is_a_422(client, shop, token):
    for body in ({"sku": "L1", "name": "灯", "price": -1}, {"sku": "L1", "name": "灯", "price": "1.001"},
                 {"sku": "L1\x00", "name": "灯", "price": 1}, {"sku": "L1", "name": "灯", "price": 10**13}):
        assert call(client, "post", "/api/products", token, body).status_code == 422, body
    assert Product.objects.count() == 2


@pytest.mark.parametrize(("lang", "words"), [("en", "untick"), ("zh-hans", "在售")])
def test_a_product_a_campaign_names_is_not_deleted(client, shop, token, lang, words):
    call(client, "post", "/api/campaigns", token, DRAFT)
    s1 = Product.objects.get(sku="S1")
    r = call(client, "delete", f"/api/products/{s1.pk}", token, lang=lang)
    assert r.status_code == 400 and words in " ".join(r.json()["errors"]["__all__"]), r.content
    assert Product.objects.filter(pk=s1.pk).exists()


def test_stores_are_added_listed_changed_and_deleted(client, shop, token):
    r = call(client, "post", "/api/stores", token, {"name": "黄山路店", "lat": 23.11, "lng": 114.41})
    assert r.status_code == 201, r.content
    store = r.json()
    assert call(client, "get", "/api/stores", token).json() == [store]
    r = call(client, "patch", f"/api/stores/{store['id']}", token, {"address": "惠州市惠城区"})
    assert r.status_code == 200 and r.json()["address"] == "惠州市惠城区" and r.json()["lat"] == 23.11
    assert call(client, "delete", f"/api/stores/{store['id']}", token).status_code == 204
    assert not Store.objects.exists()


def test_a_bad_store_is_refused_and_nothing_is_saved(client, shop, token):
    store = Store.objects.create(account=shop, name="黄山路店", lat=23.1, lng=114.4)
    for body in ({"name": "x", "lat": 91, "lng": 0}, {"name": "x", "lat": 0, "lng": -181},
                 {"name": "x" * 101, "lat": 0, "lng": 0}, {"name": "x", "lat": "north", "lng": 0}):
        assert call(client, "post", "/api/stores", token, body).status_code == 422, body
        assert call(client, "patch", f"/api/stores/{store.pk}", token, body).status_code == 422, body
    r = call(client, "patch", f"/api/stores/{store.pk}", token, {"name": None}, lang="en")
    assert r.status_code == 400 and "name" in r.json()["errors"]
    r = call(client, "patch", f"/api/stores/{store.pk}", token, {"name": ""}, lang="en")
    assert r.status_code == 400 and "name" in r.json()["errors"]
    assert list(Store.objects.values("name", "lat", "lng")) == [{"name": "黄山路店", "lat": 23.1, "lng": 114.4}]


# --- tokens and accounts ---------------------------------------------------------------------

def test_another_accounts_objects_answer_404_and_a_read_only_token_changes_nothing(client, shop, make_account):
    other = make_account(app_id="wx-other-0000000001")
    theirs = {
        "campaigns": create_campaign(shop, name="a", category=Category.objects.get(account=shop)).pk,
        "segments": Segment.objects.create(account=shop, name="s", text="subscribed").pk,
        "products": Product.objects.get(sku="S1").pk,
        "stores": Store.objects.create(account=shop, name="店", lat=23, lng=114).pk,
    }
    outsider = ApiToken.issue("outsider", [other])[1]
    reader = ApiToken.issue("reader", [shop], scope="read")[1]
    for kind, pk in theirs.items():
        for method, body in (("get", None), ("patch", {}), ("delete", None)):
            if kind == "campaigns" and method == "delete":
                continue
            r = call(client, method, f"/api/{kind}/{pk}", outsider, body)
            assert r.status_code == 404, (kind, method, r.status_code)
            assert call(client, method, f"/api/{kind}/{pk}", reader, body).status_code == (
                200 if method == "get" else 403), (kind, method)
    for action in ("lint", "plan", "approve", "cancel"):
        body = {} if action in ("lint", "approve") else None
        assert call(client, "post", f"/api/campaigns/{theirs['campaigns']}/{action}", outsider, body).status_code == 404
        assert call(client, "post", f"/api/campaigns/{theirs['campaigns']}/{action}", reader, body).status_code == 403
    assert call(client, "get", f"/api/campaigns/{theirs['campaigns']}/results", outsider).status_code == 404
    r = call(client, "post", "/api/stores", outsider, {"account": shop.app_id, "name": "x", "lat": 0, "lng": 0})
    assert r.status_code == 404
    assert Campaign.objects.get().status == "draft" and Store.objects.count() == 1 and Segment.objects.count() == 1
