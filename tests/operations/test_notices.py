"""Subscription notices: the followers' accepts, read from their popup events through the
gateway; one notice per accept, refused and counted without one, sent once per key."""

from __future__ import annotations

import time

import pytest

from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Event
from fencun.channels.services import wechat_client
from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.operations import notices
from fencun.operations.models import NoticeSend
from fencun.sandbox.wechat import notice

pytestmark = pytest.mark.django_db(transaction=True)

SHIPPED = {"character_string1": "A20261207001", "thing2": "北欧布艺沙发", "time3": "2026-12-07 10:00"}


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def service(make_sandbox, live_server):
    box = make_sandbox(account_type="service", callback_url=f"{live_server.url}/wechat/callback", followers=20)
    account = Account.objects.create(
        app_id=box.config.app_id, app_secret=box.config.app_secret, token=box.config.token,
        aes_key=box.config.aes_key, mode=box.config.mode, account_type="service", is_default=True,
    )
    client = wechat_client(account, api_base=box.api_base, token_store=MemoryTokenStore(), backoff=0)
    yield account, client, box
    client.close()


def _popup(box, account, openid, choices):
    before = Event.objects.filter(account=account, kind=kinds.NOTICE_POPUP).count()
    notice.popup(box.platform, openid, choices)
    box.flush()
    _wait_for(lambda: Event.objects.filter(account=account, kind=kinds.NOTICE_POPUP).count() > before)


def test_one_notice_per_accept_once_per_key(service):
    account, client, box = service
    assert any(t["tid"] == 1001 for t in client.notice_library())
    template_id = client.add_notice_template(1001, [1, 2, 3], "订单发货")
    (template,) = client.notice_templates()
    assert template.keywords == ("character_string1", "thing2", "time3")
    openid = client.get_followers().openids[0]

    refused = notices.send(account, client, openid=openid, template_id=template_id, data=SHIPPED, key="order-1")
    assert refused.status == NoticeSend.Status.NO_CONSENT
    assert not box.platform.deliveries_json(openid=openid, kind="notice")

    _popup(box, account, openid, {template_id: "accept"})
    assert notices.consents(account, openid) == {template_id: 1}
    sent = notices.send(account, client, openid=openid, template_id=template_id, data=SHIPPED, key="order-2")
    assert sent.status == NoticeSend.Status.SENT and sent.msgid
    again = notices.send(account, client, openid=openid, template_id=template_id, data=SHIPPED, key="order-2")
    assert again.pk == sent.pk
    assert len(box.platform.deliveries_json(openid=openid, kind="notice")) == 1
    assert notices.consents(account, openid) == {template_id: 0}
    spent = notices.send(account, client, openid=openid, template_id=template_id, data=SHIPPED, key="order-3")
    assert spent.status == NoticeSend.Status.NO_CONSENT
    assert notices.counts(account) == {"sent": 1, "no_consent": 2}


def test_turning_notices_off_voids_the_accepts_left(service):
    account, client, box = service
    template_id = client.add_notice_template(1002, [1, 2], "预约")
    openid = client.get_followers().openids[1]
    _popup(box, account, openid, {template_id: "accept"})
    # Two popups of one second with the same answers are one event to the gateway (a
    # retry looks the same), so the second comes a little later.
    box.advance_clock(2)
    _popup(box, account, openid, {template_id: "accept"})
    assert notices.consents(account, openid) == {template_id: 2}
    notice.refuse(box.platform, openid, [template_id])
    box.flush()
    _wait_for(lambda: Event.objects.filter(account=account, kind=kinds.NOTICE_CHANGE).exists())
    assert notices.consents(account, openid) == {template_id: 0}


@pytest.mark.parametrize(("data", "field"), [
    ({**SHIPPED, "thing2": "一" * 21}, "data"),
    ({"thing2": "沙发"}, "data"),
    ({**SHIPPED, "thing9": "x"}, "data"),
])
def test_bad_data_is_refused_before_anything_is_recorded(service, data, field):
    account, client, box = service
    template_id = client.add_notice_template(1001, [1, 2, 3], "订单发货")
    openid = client.get_followers().openids[2]
    _popup(box, account, openid, {template_id: "accept"})
    with pytest.raises(notices.NoticeError) as refused:
        notices.send(account, client, openid=openid, template_id=template_id, data=data, key="k")
    assert field in refused.value.errors
    assert not NoticeSend.objects.exists()
    assert notices.consents(account, openid) == {template_id: 1}


def test_a_subscription_account_has_no_notices(make_sandbox, db):
    box = make_sandbox(account_type="subscription")
    account = Account.objects.create(
        app_id=box.config.app_id, app_secret=box.config.app_secret, token=box.config.token,
        aes_key=box.config.aes_key, mode=box.config.mode, account_type="subscription", is_default=True,
    )
    client = wechat_client(account, api_base=box.api_base, token_store=MemoryTokenStore(), backoff=0)
    with client, pytest.raises(notices.NoticeError) as refused:
        notices.send(account, client, openid="o1", template_id="t", data={}, key="k")
    assert "48001" in refused.value.errors["__all__"][0]
