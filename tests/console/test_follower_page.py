"""A follower's page: interests from the event log, and a timeline with pushes and orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from fencun.accounts.roles import grant
from fencun.audience.models import Follower
from fencun.audience.services import record_event
from fencun.campaigns import segments
from fencun.campaigns.services import create_campaign
from fencun.catalog.models import Category
from fencun.insights.orders import import_orders, register_code
from fencun.insights.services import record_deliveries


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-hans", ["收到推送", "订单", "兴趣"]),
    ("en", ["Push received", "Order", "Interests"]),
])
def test_timeline_shows_pushes_orders_and_interests(db, client, make_account, lang, words):
    account = make_account()
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    Category.objects.create(account=account, key="lamp", name="灯具")
    campaign = create_campaign(account, name="周末沙发节", category=sofa)
    now = timezone.now()
    record_event(account, kind="subscribe", openid="o-page", occurred_at=now - timedelta(days=9),
                 payload={}, source="test", dedup_key="s")
    record_event(account, kind="text", openid="o-page", occurred_at=now - timedelta(days=3),
                 payload={"content": "真皮沙发还有吗"}, source="test", dedup_key="t")
    record_deliveries(account, campaign.pk, ["o-page"], now - timedelta(days=2))
    register_code(account, "coupon", "SOFA10", campaign.pk, at=now - timedelta(days=2))
    import_orders(account, [{"order_id": "A1", "amount": "4299", "ordered_at": (now - timedelta(days=1)).isoformat(),
                             "openid": "o-page", "coupon": "SOFA10"}])
    segments.forget_states()
    follower = Follower.objects.get(openid="o-page")
    client.cookies["django_language"] = lang
    page = client.get(f"/followers/{follower.pk}/").content.decode()
    for word in words:
        assert word in page
    assert "周末沙发节" in page  # the push and the order name their campaign
    assert "¥4,299.00" in page
    assert "沙发 0." in page and "灯具 0." not in page  # interested in sofas, not lamps
