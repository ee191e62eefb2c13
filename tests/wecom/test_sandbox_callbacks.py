"""The WeCom sandbox posts change_external_contact callbacks, signed and encrypted, to the
product's /wecom/callback over HTTP; the product stores each once."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from fencun.accounts.models import Account
from fencun.audience.models import Event
from fencun.channels.models import ExternalContact, WecomCorp


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _corp(box) -> WecomCorp:
    account = Account.objects.create(app_id="wx5a4db0c0a7f0e001", token="t", is_default=True)
    return WecomCorp.objects.create(
        account=account,
        corp_id=box.config.corp_id,
        secret=box.config.secret,
        token=box.config.token,
        aes_key=box.config.aes_key,
    )


@pytest.mark.django_db(transaction=True)
def test_added_and_deleted_contacts_reach_the_product(make_wecom_sandbox, live_server):
    box = make_wecom_sandbox(callback_url=f"{live_server.url}/wecom/callback", contacts=5)
    corp = _corp(box)
    customer = box.add_contact("lisi", unionid="oUshared000000000000000001")
    box.add_contact("zhangsan", external_userid=customer)
    box.delete_contact("lisi", customer, by="customer")
    box.delete_contact("zhangsan", customer, by="member")
    box.flush()
    _wait_for(lambda: Event.objects.filter(account=corp.account).count() >= 4)
    kinds = Counter(Event.objects.filter(account=corp.account).values_list("kind", flat=True))
    assert kinds == {
        "wecom_add_external_contact": 2,
        "wecom_del_follow_user": 1,
        "wecom_del_external_contact": 1,
    }
    contact = ExternalContact.objects.get(corp=corp, external_userid=customer)
    assert contact.follow_users == [] and not contact.active
    assert all(
        r["outcome"] == "delivered" and r["status"] == 200 for r in box.platform.poster.records
    )


@pytest.mark.django_db(transaction=True)
def test_the_url_check_and_a_replayed_callback(make_wecom_sandbox, live_server):
    box = make_wecom_sandbox(callback_url=f"{live_server.url}/wecom/callback", contacts=1)
    corp = _corp(box)
    poster = box.platform.poster
    # The URL check WeCom runs when the callback is configured: GET with an encrypted echostr.
    echostr = poster.crypto.encrypt("8273645102938475")
    from fencun.protocol.signatures import sign

    ts, nonce = str(int(time.time())), "99"
    check = httpx.get(
        f"{live_server.url}/wecom/callback",
        params={
            "msg_signature": sign(box.config.token, ts, nonce, echostr),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": echostr,
        },
    )
    assert check.status_code == 200 and check.text == "8273645102938475"
    # A retry of a delivered callback (WeCom retries after 5 s) is stored once.
    fields = {
        "ToUserName": box.config.corp_id,
        "FromUserName": "sys",
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": "edit_external_contact",
        "UserID": "zhangsan",
        "ExternalUserID": "wmRETRIED0000000000000000000AAAA",
    }
    url, body = poster.signed(fields, int(time.time()))
    assert [httpx.post(url, content=body).status_code for _ in range(3)] == [200, 200, 200]
    assert (
        Event.objects.filter(account=corp.account, kind="wecom_edit_external_contact").count() == 1
    )
    # The same request signed with another token is refused and changes nothing.
    forged_box = make_wecom_sandbox(
        callback_url=f"{live_server.url}/wecom/callback", token="another", contacts=1
    )
    url, body = forged_box.platform.poster.signed(
        {**fields, "ChangeType": "add_external_contact"}, int(time.time())
    )
    refused = httpx.post(url, content=body)
    assert refused.status_code == 403 and "BadSignature" in refused.text
    assert Event.objects.filter(account=corp.account).count() == 1
