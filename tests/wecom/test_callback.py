"""The WeCom callback: WeCom's own crypto vectors, URL check, events stored once, refusals.

Crypto vectors: WeCom's official callback sample, ``callback/Sample.py`` in
github.com/sbzhu/weworkapi_python (the Python WXBizMsgCrypt sample linked from WeCom's
"加解密库下载与返回码" page), token ``hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo``, EncodingAESKey
``6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt``, CorpID ``ww1436e0e65a779aee``.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.wecom.factories import CORP_ID, contact_event

from fencun.audience.models import Event, Follower
from fencun.channels.models import ExternalContact, WecomCorp
from fencun.gateway.wecom_callback import decode, verify_url
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.errors import BadSignature, StaleTimestamp, WrongAppId
from fencun.protocol.signatures import sign

SAMPLE_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
SAMPLE_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
SAMPLE_CORP_ID = "ww1436e0e65a779aee"
SAMPLE_VERIFY = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
}
SAMPLE_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLN"
    "shw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh"
    "010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNf"
    "SsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
SAMPLE_MESSAGE = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
}
SAMPLE_PLAINTEXT = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)


def _sample_corp() -> WecomCorp:
    # Unsaved: the protocol functions need only the credentials.
    return WecomCorp(corp_id=SAMPLE_CORP_ID, token=SAMPLE_TOKEN, aes_key=SAMPLE_AES_KEY)


# -- WeCom's vectors ------------------------------------------------------------------


def test_sample_url_check_signature_and_echostr_decrypt_to_the_documented_values():
    assert verify_url(_sample_corp(), SAMPLE_VERIFY, now=1476416373) == "1288432023552776189"


def test_sample_message_signature_and_plaintext_match_the_sample():
    s = SAMPLE_MESSAGE
    assert sign(SAMPLE_TOKEN, s["timestamp"], s["nonce"], SAMPLE_ENCRYPT) == s["msg_signature"]
    plain = MessageCrypto(SAMPLE_AES_KEY, SAMPLE_CORP_ID).decrypt(SAMPLE_ENCRYPT)
    assert plain.decode("utf-8") == SAMPLE_PLAINTEXT


def test_sample_ciphertext_is_refused_for_another_corp():
    with pytest.raises(WrongAppId):
        MessageCrypto(SAMPLE_AES_KEY, "ww0000000000000009").decrypt(SAMPLE_ENCRYPT)


def test_sample_url_check_with_a_forged_signature_or_stale_clock_is_refused():
    with pytest.raises(BadSignature):
        verify_url(_sample_corp(), {**SAMPLE_VERIFY, "msg_signature": "0" * 40}, now=1476416373)
    with pytest.raises(StaleTimestamp):
        verify_url(_sample_corp(), SAMPLE_VERIFY, now=1476416373 + 301)


def test_encrypt_then_decode_round_trips_an_event():
    corp = _sample_corp()
    crypto = MessageCrypto(SAMPLE_AES_KEY, SAMPLE_CORP_ID)
    from fencun.protocol import xmlmsg

    encrypt = crypto.encrypt(xmlmsg.build(contact_event(CreateTime=1476422779)))
    query = {
        "timestamp": "1476422779",
        "nonce": "1",
        "msg_signature": sign(SAMPLE_TOKEN, "1476422779", "1", encrypt),
    }
    body = xmlmsg.build({"ToUserName": SAMPLE_CORP_ID, "Encrypt": encrypt}).encode()
    event = decode(corp, query, body, now=1476422779)
    assert event.kind == "wecom_add_external_contact"
    assert event.payload["external_userid"] == "wmAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"


# -- the endpoint ---------------------------------------------------------------------


def test_url_check_answers_the_decrypted_echostr(client, corp, wecom_signer):
    response = client.get("/wecom/callback", wecom_signer.verify("5927782489442352469"))
    assert response.status_code == 200
    assert response.content == b"5927782489442352469"


def test_url_check_by_corp_id_in_the_path(client, corp, wecom_signer):
    response = client.get(f"/wecom/callback/{CORP_ID}", wecom_signer.verify("42"))
    assert response.status_code == 200 and response.content == b"42"


@pytest.mark.django_db
def test_without_a_corp_the_endpoint_says_so_in_the_asked_language(client, wecom_signer):
    # WeCom sends no Accept-Language: 简体中文, the product's default.
    response = client.get("/wecom/callback", wecom_signer.verify())
    assert response.status_code == 404
    assert response.content.decode() == "NoCorp: 没有配置企业微信"
    response = client.get("/wecom/callback", wecom_signer.verify(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.content.decode() == "NoCorp: no WeCom corp is configured"


def test_a_refusal_is_in_chinese_unless_english_is_asked_for(client, corp, wecom_signer):
    query, body = wecom_signer.event(contact_event())
    forged = {**query, "msg_signature": "f" * 40}
    response = _post(client, forged, body, language="")
    assert response.status_code == 403 and response.content.decode() == "BadSignature: 签名不符"
    _nothing_stored(corp)


def _post(client, query, body, path="/wecom/callback", language="en"):
    """POST a callback; refusals in English (``language``), so they read as the code says."""
    from urllib.parse import urlencode

    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return client.generic("POST", f"{path}?{urlencode(query)}", body, content_type="text/xml", **extra)


def test_add_external_contact_is_stored_once_and_the_contact_follows_the_member(
    client, corp, wecom_signer
):
    query, body = wecom_signer.event(contact_event())
    first = _post(client, query, body)
    retry = _post(client, query, body)
    assert first.status_code == retry.status_code == 200
    events = Event.objects.filter(account=corp.account)
    assert events.count() == 1
    event = events.get()
    assert (
        event.kind == "wecom_add_external_contact"
        and event.source == "wecom"
        and event.openid == ""
    )
    assert event.payload["userid"] == "zhangsan"
    contact = ExternalContact.objects.get(
        corp=corp, external_userid="wmAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"
    )
    assert [f["userid"] for f in contact.follow_users] == ["zhangsan"] and contact.active
    assert not Follower.objects.exists()  # an external contact is not a follower


def _chunked(body: bytes) -> dict:
    """What gunicorn hands the view for a chunked POST: no Content-Length, the input ended."""
    import io

    return {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}


def test_a_chunked_event_is_read_and_stored_once(client, corp, wecom_signer):
    from urllib.parse import urlencode

    query, body = wecom_signer.event(contact_event())
    for _ in range(2):
        response = client.generic("POST", f"/wecom/callback?{urlencode(query)}", b"",
                                  content_type="text/xml", **_chunked(body))
        assert response.status_code == 200
    assert Event.objects.filter(account=corp.account).count() == 1


def test_every_change_type_is_stored_and_deletes_end_the_relationship(client, corp, wecom_signer):
    now = int(time.time())
    changes = [
        ("add_external_contact", {"UserID": "zhangsan", "State": "store-qr", "WelcomeCode": "WC1"}),
        ("add_external_contact", {"UserID": "lisi"}),
        ("edit_external_contact", {"UserID": "lisi"}),
        ("del_follow_user", {"UserID": "zhangsan"}),
        ("del_external_contact", {"UserID": "lisi", "Source": "DELETE_BY_TRANSFER"}),
        ("transfer_fail", {"UserID": "lisi", "FailReason": "customer_refused"}),
    ]
    for offset, (change, fields) in enumerate(changes):
        query, body = wecom_signer.event(contact_event(change, CreateTime=now + offset, **fields))
        assert _post(client, query, body).status_code == 200
    kinds = Counter(Event.objects.filter(account=corp.account).values_list("kind", flat=True))
    assert kinds == {
        "wecom_add_external_contact": 2,
        "wecom_edit_external_contact": 1,
        "wecom_del_follow_user": 1,
        "wecom_del_external_contact": 1,
        "wecom_transfer_fail": 1,
    }
    added = Event.objects.filter(
        kind="wecom_add_external_contact", payload__userid="zhangsan"
    ).get()
    assert added.payload["state"] == "store-qr" and added.payload["welcome_code"] == "WC1"
    contact = ExternalContact.objects.get(corp=corp)
    assert contact.follow_users == [] and not contact.active


def test_unknown_wecom_events_are_stored_not_refused(client, corp, wecom_signer):
    fields = {
        "ToUserName": CORP_ID,
        "FromUserName": "sys",
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "change_external_tag",
        "ChangeType": "create",
        "Id": "etXXXX",
        "TagType": "tag",
    }
    query, body = wecom_signer.event(fields)
    assert _post(client, query, body).status_code == 200
    assert Event.objects.get().kind == "wecom_change_external_tag"


def test_concurrent_retries_are_stored_once(live_server, corp, wecom_signer, transactional_db):
    import httpx

    query, body = wecom_signer.event(contact_event())
    with httpx.Client() as http, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda _: (
                    http.post(
                        f"{live_server.url}/wecom/callback", params=query, content=body
                    ).status_code
                ),
                range(8),
            )
        )
    assert statuses == [200] * 8
    assert Event.objects.filter(account=corp.account).count() == 1


# -- refusals change nothing ----------------------------------------------------------


def _nothing_stored(corp) -> None:
    assert not Event.objects.filter(account=corp.account).exists()
    assert not ExternalContact.objects.exists()


def test_forged_signature_is_403(client, corp, wecom_signer):
    query, body = wecom_signer.event(contact_event())
    response = _post(client, {**query, "msg_signature": "f" * 40}, body)
    assert response.status_code == 403 and b"BadSignature" in response.content
    _nothing_stored(corp)


def test_stale_timestamp_is_403(client, corp, wecom_signer):
    old = int(time.time()) - 600
    query, body = wecom_signer.event(contact_event(CreateTime=old), timestamp=old)
    response = _post(client, query, body)
    assert response.status_code == 403 and b"StaleTimestamp" in response.content
    _nothing_stored(corp)


def test_url_check_with_forged_signature_is_403(client, corp, wecom_signer):
    response = client.get("/wecom/callback", {**wecom_signer.verify(), "msg_signature": "0" * 40})
    assert response.status_code == 403


def test_another_corps_ciphertext_is_400(client, corp):
    from tests.wecom.factories import WeComSigner

    other = WeComSigner(corp_id="ww0000000000000009")
    query, body = other.event(contact_event())
    response = _post(client, query, body)
    assert response.status_code == 400 and b"WrongAppId" in response.content
    _nothing_stored(corp)


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"<xml><ToUserName>x</ToUserName></xml>", b"Encrypt missing"),
        (b"not xml", b"MalformedXml"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>', b"DTDs"),
        (b"<xml><Encrypt><![CDATA[bm90IGNpcGhlcnRleHQ=]]></Encrypt></xml>", b"BadCiphertext"),
    ],
)
def test_malformed_bodies_are_400(client, corp, wecom_signer, body, reason):
    from fencun.protocol import xmlmsg

    envelope = xmlmsg.parse(body) if b"DOCTYPE" not in body and body.startswith(b"<xml>") else {}
    encrypt = envelope.get("Encrypt", "") if isinstance(envelope, dict) else ""
    response = _post(client, wecom_signer.query(encrypt or "x"), body)
    assert response.status_code == 400 and reason in response.content
    _nothing_stored(corp)


def test_a_message_that_is_not_an_event_is_400(client, corp, wecom_signer):
    fields = {
        "ToUserName": CORP_ID,
        "FromUserName": "zhangsan",
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": "hi",
        "MsgId": "1",
    }
    query, body = wecom_signer.event(fields)
    response = _post(client, query, body)
    assert response.status_code == 400 and b"only events" in response.content
    _nothing_stored(corp)


def test_change_without_external_userid_is_400(client, corp, wecom_signer):
    fields = contact_event()
    del fields["ExternalUserID"]
    query, body = wecom_signer.event(fields)
    assert _post(client, query, body).status_code == 400
    _nothing_stored(corp)


def test_oversized_body_is_413(client, corp, wecom_signer):
    query, _ = wecom_signer.event(contact_event())
    response = _post(client, query, b"<xml>" + b"a" * (70 * 1024) + b"</xml>")
    assert response.status_code == 413
    _nothing_stored(corp)


def test_oversized_chunked_body_is_413(client, corp, wecom_signer):
    from urllib.parse import urlencode

    query, _ = wecom_signer.event(contact_event())
    big = b"<xml>" + b"a" * (70 * 1024) + b"</xml>"
    response = client.generic("POST", f"/wecom/callback?{urlencode(query)}", b"",
                              content_type="text/xml", **_chunked(big))
    assert response.status_code == 413
    _nothing_stored(corp)


def test_other_methods_are_405(client, corp):
    assert client.put("/wecom/callback").status_code == 405
