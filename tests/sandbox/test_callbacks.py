"""The sandbox's callbacks reach the product's gateway signed (and encrypted) as WeChat's do."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from fencun.accounts.models import Account
from fencun.audience.models import Event, Follower
from fencun.channels.receipts import parse_receipt
from fencun.channels.wechat import messages
from fencun.channels.wechat.articles import DraftArticle
from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient
from fencun.channels.wechat.tokens import MemoryTokenStore


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _setup(make_sandbox, live_server, mode: str, **config):
    box = make_sandbox(
        mode=mode, callback_url=f"{live_server.url}/wechat/callback", followers=30, **config
    )
    account = Account.objects.create(
        app_id=box.config.app_id,
        app_secret=box.config.app_secret,
        token=box.config.token,
        aes_key=box.config.aes_key if mode != "plaintext" else "",
        mode=mode,
        account_type=box.config.account_type,
        is_default=True,
    )
    client = WeChatClient(
        box.config.app_id,
        box.config.app_secret,
        account_type=box.config.account_type,
        api_base=box.api_base,
        token_store=MemoryTokenStore(),
        ledger=MemoryMassLedger(),
    )
    return box, account, client


@pytest.mark.parametrize("mode", ["safe", "plaintext"])
@pytest.mark.django_db(transaction=True)
def test_masssendjobfinish_reaches_the_callback_and_is_stored(make_sandbox, live_server, mode):
    box, account, client = _setup(make_sandbox, live_server, mode)
    result = client.sendall(messages.text("周末到店有礼"), clientmsgid="finish-1")
    box.flush()
    _wait_for(lambda: Event.objects.filter(account=account, kind="masssendjobfinish").exists())
    event = Event.objects.get(account=account, kind="masssendjobfinish")
    assert str(result.msg_id) in str(event.payload)
    records = [r.as_json() for r in box.platform.poster.records]
    assert records and all(r["outcome"] == "delivered" and r["status"] == 200 for r in records)


@pytest.mark.django_db(transaction=True)
def test_population_events_reach_the_callback_and_update_followers(make_sandbox, live_server):
    box, account, client = _setup(make_sandbox, live_server, "safe")
    openid = client.get_followers().openids[0]
    box.post_events(
        [
            {"kind": "subscribe", "openid": "oNEWFOLLOWER0000000000000001", "scene": "ADD_SCENE_QR_CODE"},
            {"kind": "location", "openid": openid, "lat": 23.11, "lng": 114.41},
            {"kind": "text", "openid": openid, "content": "沙发有现货吗"},
            {"kind": "click", "openid": openid, "key": "MENU_NEW"},
        ]
    )
    _wait_for(lambda: Event.objects.filter(account=account).count() >= 4)
    kinds = Counter(Event.objects.filter(account=account).values_list("kind", flat=True))
    assert kinds["subscribe"] == 1 and kinds["location"] == 1
    assert kinds["text"] == 1 and kinds["click"] == 1
    follower = Follower.objects.get(account=account, openid=openid)
    assert follower.lat == pytest.approx(23.11, abs=0.01) and follower.last_interaction_at is not None
    assert Follower.objects.get(account=account, openid="oNEWFOLLOWER0000000000000001").subscribed


@pytest.mark.django_db(transaction=True)
def test_duplicated_callbacks_are_stored_once_and_dropped_ones_never(make_sandbox, live_server):
    box, account, client = _setup(make_sandbox, live_server, "safe")
    openids = client.get_followers().openids[:2]
    box.set_faults(callbacks={"duplicate": 1})
    box.post_events([{"kind": "text", "openid": openids[0], "content": "一"}])
    box.set_faults(callbacks={"duplicate": 0, "drop": 1})
    box.post_events([{"kind": "text", "openid": openids[1], "content": "二"}])
    records = [r.as_json() for r in box.platform.poster.records]
    assert [r["outcome"] for r in records] == ["delivered", "dropped"]
    assert records[0]["copies"] == 2
    assert Event.objects.filter(account=account, openid=openids[0], kind="text").count() == 1
    assert not Event.objects.filter(account=account, openid=openids[1]).exists()


@pytest.mark.django_db(transaction=True)
def test_callbacks_with_the_wrong_token_are_refused_by_the_gateway(make_sandbox, live_server):
    box, account, client = _setup(make_sandbox, live_server, "safe")
    account.token = "not-the-sandbox-token"
    account.save()
    openid = client.get_followers().openids[0]
    box.post_events([{"kind": "text", "openid": openid, "content": "伪造"}])
    record = box.platform.poster.records[-1].as_json()
    assert record["outcome"] == "failed" and record["status"] == 403
    assert not Event.objects.filter(account=account).exists()


@pytest.mark.parametrize("mode", ["safe", "plaintext"])
@pytest.mark.django_db(transaction=True)
def test_publishjobfinish_reaches_the_callback_and_reads_as_a_publish_receipt(
    make_sandbox, live_server, mode
):
    box, account, client = _setup(make_sandbox, live_server, mode)
    cover = client.add_material(
        "thumb", "c.jpg", bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
    )
    articles = [
        DraftArticle(title=title, content="<p>头层牛皮</p>", thumb_media_id=cover.media_id)
        for title in ("周末到店价 1999 元沙发", "新品床垫")
    ]
    publish_id = client.publish(client.add_draft(articles))
    banned = client.add_draft(
        [
            DraftArticle(
                title="床",
                content=f"<p>{box.config.banned_words[0]}</p>",
                thumb_media_id=cover.media_id,
            )
        ]
    )
    failed_id = client.publish(banned)
    box.flush()
    _wait_for(lambda: Event.objects.filter(account=account, kind="publishjobfinish").count() == 2)
    receipts = {
        r.reference: r
        for r in (
            parse_receipt(e.kind, e.payload)
            for e in Event.objects.filter(account=account, kind="publishjobfinish")
        )
        if r is not None
    }
    published, status = receipts[publish_id], client.publish_status(publish_id)
    assert published.status == "posted" and published.delivered == 0
    assert published.article_id == status.article_id
    assert list(published.article_urls) == status.article_urls and len(status.article_urls) == 2
    refused = receipts[failed_id]
    assert refused.status == "failed" and refused.failed_items == (1,) and refused.reason
    assert (
        not Event.objects.filter(account=account, kind="publishjobfinish")
        .exclude(openid="")
        .exists()
    )
