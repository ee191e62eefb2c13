"""Saved segments in the console: live counts from the event log, refusals that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from fencun.accounts.roles import grant
from fencun.audience.models import Follower, Segment, Store
from fencun.audience.services import record_event
from fencun.campaigns import segments as service
from fencun.catalog.models import Category


@pytest.fixture
def shop(db, client, make_account):
    account = make_account()
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    Category.objects.create(account=account, key="sofa", name="沙发", large_item=True)
    Category.objects.create(account=account, key="lamp", name="灯具")
    Store.objects.create(account=account, name="惠城店", lat=23.111, lng=114.416)
    now = timezone.now()
    # Three followers near the store; two of them ask about sofas; one far away.
    for n, (lat, lng, text) in enumerate([
        (23.112, 114.417, "布艺沙发有货吗"),
        (23.120, 114.420, "沙发多少钱"),
        (23.115, 114.410, "周末营业吗"),
        (22.540, 114.060, "沙发有活动吗"),  # Shenzhen, ~100 km away
    ]):
        openid = f"o-seg-{n}"
        record_event(account, kind="subscribe", openid=openid, occurred_at=now - timedelta(days=30),
                     payload={}, source="test", dedup_key=f"s{n}")
        record_event(account, kind="location", openid=openid, occurred_at=now - timedelta(days=2),
                     payload={"lat": lat, "lng": lng, "datum": "gcj02"}, source="test", dedup_key=f"l{n}")
        record_event(account, kind="text", openid=openid, occurred_at=now - timedelta(days=1),
                     payload={"content": text}, source="test", dedup_key=f"t{n}")
    service.forget_states()
    yield account
    service.forget_states()


def test_live_count_follows_interest_and_distance(client, shop):
    r = client.get("/segments/count/", {"text": "interest:沙发"})
    assert r.status_code == 200 and r.json() == {"matched": 3, "subscribed": 4}
    r = client.get("/segments/count/", {"text": "interest:沙发 and distance<30km"})
    assert r.json()["matched"] == 2
    r = client.get("/segments/count/", {"text": "not interest:沙发"})
    assert r.json()["matched"] == 1


@pytest.mark.parametrize("bad", ["interest:沙发 and (", "interest:衣柜", "distance<<3km", "   "])
def test_bad_filters_are_refused_with_a_reason_and_nothing_saved(client, shop, bad):
    r = client.get("/segments/count/", {"text": bad})
    assert r.status_code == 400 and r.json()["error"]
    r = client.post("/segments/", {"name": "坏的", "text": bad})
    assert r.status_code == 400
    assert not Segment.objects.exists()


def test_save_list_with_counts_and_delete(client, shop):
    r = client.post("/segments/", {"name": "附近的沙发客", "text": "interest:沙发 and distance<30km"})
    assert r.status_code == 302
    page = client.get("/segments/").content.decode()
    assert "附近的沙发客" in page and "2 / 4" in page
    # The same name again is refused and changes nothing.
    r = client.post("/segments/", {"name": "附近的沙发客", "text": "interest:灯具"})
    assert r.status_code == 400 and Segment.objects.count() == 1
    segment = Segment.objects.get()
    client.post(f"/segments/{segment.pk}/delete/")
    assert not Segment.objects.exists()


def test_counts_follow_unsubscribes_once_the_state_is_rebuilt(client, shop):
    assert client.get("/segments/count/", {"text": "interest:沙发"}).json()["matched"] == 3
    record_event(shop, kind="unsubscribe", openid="o-seg-0", occurred_at=timezone.now(),
                 payload={}, source="test", dedup_key="u0")
    assert not Follower.objects.get(openid="o-seg-0").subscribed
    service.forget_states()  # what the cache's expiry does after STATE_SECONDS
    assert client.get("/segments/count/", {"text": "interest:沙发"}).json() == {"matched": 2, "subscribed": 3}
