"""The callback endpoint: every message and event type, both modes, replies and refusals."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from tests.conftest import AES_KEY, APP_ID, TOKEN, message

from fencun.audience.models import Event, Follower
from fencun.gateway.models import AutoReply
from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.signatures import sign

URL = "/wechat/callback"

MESSAGES = {
    "text": dict(MsgType="text", Content="你好", MsgId=1001),
    "image": dict(MsgType="image", PicUrl="http://p/1.jpg", MediaId="m1", MsgId=1002),
    "voice": dict(MsgType="voice", MediaId="m2", Format="amr", Recognition="沙发", MsgId=1003),
    "video": dict(MsgType="video", MediaId="m3", ThumbMediaId="t3", MsgId=1004),
    "shortvideo": dict(MsgType="shortvideo", MediaId="m4", ThumbMediaId="t4", MsgId=1005),
    "location": dict(
        MsgType="location",
        Location_X="23.1100",
        Location_Y="114.4100",
        Scale=15,
        Label="惠州",
        MsgId=1006,
    ),
    "link": dict(MsgType="link", Title="t", Description="d", Url="http://x", MsgId=1007),
}
EVENTS = {
    "subscribe": dict(MsgType="event", Event="subscribe"),
    "subscribe_qr": dict(
        MsgType="event", Event="subscribe", EventKey="qrscene_store42", Ticket="tk"
    ),
    "scan": dict(MsgType="event", Event="SCAN", EventKey="store42", Ticket="tk"),
    "unsubscribe": dict(MsgType="event", Event="unsubscribe"),
    "location_event": dict(
        MsgType="event", Event="LOCATION", Latitude="23.1", Longitude="114.4", Precision="30"
    ),
    "click": dict(MsgType="event", Event="CLICK", EventKey="MENU_SOFA"),
    "view": dict(MsgType="event", Event="VIEW", EventKey="http://shop/1"),
    "masssendjobfinish": dict(
        MsgType="event",
        Event="MASSSENDJOBFINISH",
        MsgID=1000001625,
        Status="send success",
        TotalCount=100,
        FilterCount=80,
        SentCount=75,
        ErrorCount=5,
    ),
    "templatesendjobfinish": dict(
        MsgType="event", Event="TEMPLATESENDJOBFINISH", MsgID=200163836, Status="success"
    ),
    "unknown": dict(MsgType="event", Event="some_new_event", Foo="bar"),
}
EXPECTED_KIND = {
    "subscribe_qr": "subscribe",
    "location_event": "location",
    "scan": "scan",
    "unknown": "some_new_event",
}


def post(client, query, body):
    return client.post(f"{URL}?{urlencode(query)}", data=body, content_type="text/xml")


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
@pytest.mark.parametrize("name", [*MESSAGES, *EVENTS])
def test_every_type_is_stored_once_in_both_modes(client, make_account, signer, mode, name):
    make_account(mode=mode)
    fields = message(**(MESSAGES.get(name) or EVENTS[name]))
    query, body = (signer.plain if mode == "plaintext" else signer.safe)(fields)
    response = post(client, query, body)
    assert response.status_code == 200
    assert response.content == b"success"
    events = list(Event.objects.all())
    assert len(events) == 1
    assert events[0].kind == EXPECTED_KIND.get(name, name)
    assert events[0].source == "callback"
    # A retry of the same message is accepted and collapses into the stored event.
    assert (
        post(client, *(signer.plain if mode == "plaintext" else signer.safe)(fields)).status_code
        == 200
    )
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_subscribe_with_qr_scene_updates_follower(client, make_account, signer):
    make_account()
    post(client, *signer.plain(message("o_qr", **EVENTS["subscribe_qr"])))
    follower = Follower.objects.get(openid="o_qr")
    assert follower.subscribed
    assert follower.subscribe_scene == "ADD_SCENE_QR_CODE"
    assert follower.subscribe_scene_value == "store42"
    assert follower.last_interaction_at is not None


@pytest.mark.django_db
def test_unsubscribe_after_subscribe_and_late_retry_of_subscribe(client, make_account, signer):
    make_account()
    now = int(time.time())
    sub = message("o_x", CreateTime=now - 60, **EVENTS["subscribe"])
    unsub = message("o_x", CreateTime=now, **EVENTS["unsubscribe"])
    post(client, *signer.plain(sub))
    post(client, *signer.plain(unsub))
    # The subscribe is retried after the unsubscribe arrived: it must not resurrect.
    post(client, *signer.plain(sub))
    follower = Follower.objects.get(openid="o_x")
    assert not follower.subscribed
    assert follower.unsubscribed_at is not None


@pytest.mark.django_db
def test_location_event_is_converted_from_wgs84_and_message_kept_in_gcj02(
    client, make_account, signer
):
    make_account()
    now = int(time.time())
    post(client, *signer.plain(message("o_l", CreateTime=now - 10, **EVENTS["location_event"])))
    follower = Follower.objects.get(openid="o_l")
    # GCJ-02 sits a few hundred metres from the GPS fix in Huizhou.
    assert follower.lat != pytest.approx(23.1, abs=1e-4)
    assert follower.lat == pytest.approx(23.1, abs=0.01)
    post(client, *signer.plain(message("o_l", CreateTime=now, **MESSAGES["location"])))
    follower.refresh_from_db()
    assert (follower.lat, follower.lng) == (pytest.approx(23.11), pytest.approx(114.41))


@pytest.mark.django_db
def test_url_verification_echoes(client, make_account):
    make_account()
    ts, nonce = str(int(time.time())), "123"
    query = {
        "signature": sign(TOKEN, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": "hello123",
    }
    response = client.get(f"{URL}?{urlencode(query)}")
    assert response.status_code == 200
    assert response.content == b"hello123"
    query["signature"] = "0" * 40
    assert client.get(f"{URL}?{urlencode(query)}").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_keyword_and_greeting_replies(client, make_account, signer, mode):
    account = make_account(mode=mode)
    AutoReply.objects.create(account=account, match="subscribe", content="欢迎关注！")
    AutoReply.objects.create(
        account=account, match="contains", keyword="沙发", content="低优先级", priority=1
    )
    AutoReply.objects.create(
        account=account, match="contains", keyword="沙发", content="沙发目录", priority=5
    )
    AutoReply.objects.create(
        account=account,
        match="exact",
        keyword="地址",
        reply_type="news",
        articles=[{"title": "门店", "description": "惠城区", "url": "http://s"}],
    )
    send = signer.plain if mode == "plaintext" else signer.safe

    def reply_of(fields):
        response = post(client, *send(fields))
        assert response.status_code == 200
        parsed = xmlmsg.parse(response.content)
        if mode == "safe":
            assert parsed["MsgSignature"] == sign(
                TOKEN, parsed["TimeStamp"], parsed["Nonce"], parsed["Encrypt"]
            )
            parsed = xmlmsg.parse(MessageCrypto(AES_KEY, APP_ID).decrypt(parsed["Encrypt"]))
        return parsed

    greeting = reply_of(message("o_r", **EVENTS["subscribe"]))
    assert (greeting["MsgType"], greeting["Content"], greeting["ToUserName"]) == (
        "text",
        "欢迎关注！",
        "o_r",
    )
    assert (
        reply_of(message("o_r", MsgType="text", Content="有没有布艺沙发", MsgId=1))["Content"]
        == "沙发目录"
    )
    news = reply_of(message("o_r", MsgType="text", Content="地址", MsgId=2))
    assert news["MsgType"] == "news" and news["Articles"]["item"]["Title"] == "门店"
    response = post(client, *send(message("o_r", MsgType="text", Content="随便问问", MsgId=3)))
    assert response.content == b"success"


# --- refusals: each is refused, answered fast, and stores nothing --------------------------


def _assert_refused(response, status):
    assert response.status_code == status
    assert Event.objects.count() == 0
    assert Follower.objects.count() == 0


@pytest.mark.django_db
def test_forged_signature_is_403(client, make_account, signer):
    make_account()
    query, body = signer.plain(message(**MESSAGES["text"]))
    query["signature"] = sign("wrong-token", query["timestamp"], query["nonce"])
    _assert_refused(post(client, query, body), 403)


@pytest.mark.django_db
@pytest.mark.parametrize("skew", [-301, 301, None])
def test_stale_or_missing_timestamp_is_403(client, make_account, signer, skew, monkeypatch):
    make_account()
    if skew is None:
        query, body = signer.plain(message(**MESSAGES["text"]))
        query["timestamp"] = "yesterday"
    else:
        # The gateway checks at the very second the request was signed: one second
        # later (a busy machine) would bring 301 back inside the window.
        now = int(time.time())
        monkeypatch.setattr("fencun.clock.time", lambda: float(now))
        query, body = signer.plain(message(**MESSAGES["text"]), timestamp=now + skew)
    _assert_refused(post(client, query, body), 403)


@pytest.mark.django_db
def test_plaintext_to_safe_mode_account_is_a_refused_downgrade(client, make_account, signer):
    make_account(mode="safe")
    _assert_refused(post(client, *signer.plain(message(**MESSAGES["text"]))), 403)


@pytest.mark.django_db
def test_compatible_mode_accepts_both(client, make_account, signer):
    make_account(mode="compatible")
    assert post(client, *signer.plain(message(**MESSAGES["text"]))).status_code == 200
    assert (
        post(client, *signer.safe(message(MsgType="text", Content="x", MsgId=9))).status_code == 200
    )
    assert Event.objects.count() == 2


@pytest.mark.django_db
def test_bad_ciphertext_is_400(client, make_account, signer):
    make_account(mode="safe")
    query, _ = signer.safe(message(**MESSAGES["text"]))
    garbage = "QUJD" * 30
    query["msg_signature"] = sign(TOKEN, query["timestamp"], query["nonce"], garbage)
    body = xmlmsg.build({"ToUserName": "gh", "Encrypt": garbage}).encode()
    _assert_refused(post(client, query, body), 400)


@pytest.mark.django_db
def test_wrong_appid_inside_ciphertext_is_400(client, make_account):
    from tests.conftest import WeChatSigner

    make_account(mode="safe")
    other = WeChatSigner(app_id="wx_someone_else")
    response = post(client, *other.safe(message(**MESSAGES["text"])))
    _assert_refused(response, 400)
    assert b"WrongAppId" in response.content


@pytest.mark.django_db
def test_msg_signature_over_other_ciphertext_is_403(client, make_account, signer):
    make_account(mode="safe")
    query, body = signer.safe(message(**MESSAGES["text"]))
    query["msg_signature"] = query["signature"]  # the plaintext signature is not the right one
    _assert_refused(post(client, query, body), 403)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b"<xml><ToUserName>gh</ToUserName></xml>",  # no sender
        b"<xml><FromUserName>o</FromUserName><ToUserName>g</ToUserName><CreateTime>x</CreateTime><MsgType>text</MsgType></xml>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><FromUserName>&a;</FromUserName></xml>',
        b"<xml><FromUserName>o</FromUserName><ToUserName>g</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>LOCATION</Event><Latitude>999</Latitude><Longitude>1</Longitude></xml>",
    ],
)
def test_malformed_xml_is_400(client, make_account, signer, body):
    make_account()
    query, _ = signer.plain(message())
    _assert_refused(post(client, query, body), 400)


@pytest.mark.django_db
def test_oversized_body_is_refused_without_reading_it(client, make_account, signer):
    make_account()
    fields = message(MsgType="text", Content="大" * 40000, MsgId=5)
    started = time.perf_counter()
    _assert_refused(post(client, *signer.plain(fields)), 413)
    assert time.perf_counter() - started < 1


@pytest.mark.django_db
def test_no_account_configured_is_404(client):
    assert client.post(URL, data=b"<xml/>", content_type="text/xml").status_code == 404


@pytest.mark.django_db
def test_other_methods_are_405(client, make_account):
    make_account()
    assert client.put(URL).status_code == 405
