"""The subscription-notices page: templates selected from the library on the platform,
what was sent and refused, one follower's accepts; a subscription account is told why
it has none."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fencun.accounts.roles import grant
from fencun.audience.services import record_event
from fencun.campaigns.seeding import seed_account
from fencun.operations.models import NoticeSend

pytestmark = pytest.mark.django_db


def _shop(make_sandbox, settings, client, account_type):
    box = make_sandbox(followers=5, account_type=account_type)
    settings.WECHAT = {**settings.WECHAT, "API_BASE": box.api_base}
    account = seed_account(box)
    user = User.objects.create_user("notices", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    return account, box


def test_a_template_is_selected_from_the_library_and_listed(make_sandbox, settings, client):
    account, box = _shop(make_sandbox, settings, client, "service")
    page = client.get("/notices/").content.decode()
    assert "订单发货提醒" in page  # the library
    added = client.post("/notices/templates/", {"tid": "1001", "kids": "1，2,3", "scene": "订单发货"})
    assert added.status_code == 302
    assert [t["title"] for t in box.platform.notices.templates.values()] == ["订单发货提醒"]
    page = client.get("/notices/").content.decode()
    assert "character_string1, thing2, time3" in page


@pytest.mark.parametrize(("form", "says"), [
    ({"tid": "1001", "kids": "1", "scene": "订单发货"}, "2"),
    ({"tid": "x", "kids": "1,2", "scene": "订单发货"}, "1001"),
    ({"tid": "1001", "kids": "1,2", "scene": "这个服务场景的描述超过了十五个字的限制"}, "15"),
])
def test_a_refused_template_says_why_and_selects_nothing(make_sandbox, settings, client, form, says):
    _, box = _shop(make_sandbox, settings, client, "service")
    refused = client.post("/notices/templates/", form)
    assert refused.status_code == 400 and says in refused.content.decode()
    assert not box.platform.notices.templates


def test_sends_are_counted_and_a_followers_accepts_are_shown(make_sandbox, settings, client):
    account, _ = _shop(make_sandbox, settings, client, "service")
    NoticeSend.objects.create(account=account, openid="o_1", template_id="T1", key="k1", status="sent")
    NoticeSend.objects.create(account=account, openid="o_2", template_id="T1", key="k2", status="no_consent")
    from django.utils import timezone

    record_event(account, kind="subscribe_msg_popup_event", openid="o_3", occurred_at=timezone.now(),
                 payload={"templates": [{"template_id": "T1", "status": "accept"}]}, source="test", dedup_key="p1")
    page = client.get("/notices/?openid=o_3").content.decode()
    assert "T1</code>: 1" in page and "已发送: 1" in page


def test_a_subscription_account_is_told_notices_are_for_service_accounts(make_sandbox, settings, client):
    _shop(make_sandbox, settings, client, "subscription")
    page = client.get("/notices/").content.decode()
    assert "服务号" in page
