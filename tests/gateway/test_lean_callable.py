"""Production answers /wechat/callback from a plain WSGI callable (fencun.gateway.wsgi),
the test client and the URL conf from the Django view. Both must answer alike."""

from __future__ import annotations

import io
import threading
import time
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from tests.conftest import AES_KEY, APP_ID, TOKEN, WeChatSigner, message, requires_postgres

from fencun.audience.models import Event, Follower
from fencun.gateway.models import AutoReply
from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.signatures import sign
from fencun.testing.wsgi import call, environ
from fencun.wsgi import application

URL = "/wechat/callback"


def lean(method: str, query: dict | str, body: bytes = b"", path: str = URL, length: str | None = None):
    """Call the WSGI entry point as gunicorn does; return (status, headers, body)."""
    query_string = query if isinstance(query, str) else urlencode(query)
    return call(application, environ(method, path, query_string, body, length))


def django_view(client, method: str, query: dict, body: bytes = b""):
    if method == "GET":
        response = client.get(f"{URL}?{urlencode(query)}")
    elif method == "POST":
        response = client.post(f"{URL}?{urlencode(query)}", data=body, content_type="text/xml")
    else:
        response = client.generic(method, f"{URL}?{urlencode(query)}")
    return response.status_code, response["Content-Type"], response.content


def both(client, method, query, body=b""):
    status, headers, content = lean(method, query, body)
    if method != "HEAD":  # a HEAD answer states the length of the body it leaves out
        assert headers["Content-Length"] == str(len(content))
    return (status, headers["Content-Type"], content), django_view(client, method, query, body)


def _verification(signature_token: str = TOKEN, skew: int = 0) -> dict:
    ts, nonce = str(int(time.time()) + skew), "4242"
    return {"signature": sign(signature_token, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "e-123"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "case",
    ["verify", "verify_forged", "verify_stale", "verify_no_echostr", "put", "head"],
)
def test_verification_and_methods_are_answered_alike(client, make_account, case):
    make_account(mode="safe")
    query = {
        "verify": _verification(),
        "verify_forged": _verification("not-the-token"),
        "verify_stale": _verification(skew=-301),
        "verify_no_echostr": {k: v for k, v in _verification().items() if k != "echostr"},
    }.get(case, {})
    method = {"put": "PUT", "head": "HEAD"}.get(case, "GET")
    ours, djangos = both(client, method, query)
    assert ours == djangos
    expected = {"verify": 200, "verify_forged": 403, "verify_stale": 403, "verify_no_echostr": 400}.get(case, 405)
    assert ours[0] == expected
    if case == "verify":
        assert ours[2] == b"e-123"


def _refusals(signer: WeChatSigner) -> dict[str, tuple[dict, bytes]]:
    text = message(MsgType="text", Content="你好", MsgId=1)
    forged_q, forged_b = signer.safe(text)
    forged_q["msg_signature"] = sign("wrong", forged_q["timestamp"], forged_q["nonce"], "x")
    stale = signer.safe(text, timestamp=int(time.time()) - 301)
    garbage_q, _ = signer.safe(text)
    garbage = "QUJD" * 30
    garbage_q["msg_signature"] = sign(TOKEN, garbage_q["timestamp"], garbage_q["nonce"], garbage)
    dtd_q, _ = signer.safe(text)  # the envelope is parsed before anything else is checked
    return {
        "downgrade": signer.plain(text),
        "forged": (forged_q, forged_b),
        "stale": stale,
        "bad_ciphertext": (garbage_q, xmlmsg.build({"ToUserName": "gh", "Encrypt": garbage}).encode()),
        "wrong_appid": WeChatSigner(app_id="wx_someone_else").safe(text),
        "doctype": (dtd_q, b'<!DOCTYPE x [<!ENTITY a "a">]><xml><FromUserName>&a;</FromUserName></xml>'),
        "not_xml": (dtd_q, b"not xml"),
        "oversized": signer.safe(message(MsgType="text", Content="大" * 40000, MsgId=2)),
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "case, status",
    [("downgrade", 403), ("forged", 403), ("stale", 403), ("bad_ciphertext", 400), ("wrong_appid", 400),
     ("doctype", 400), ("not_xml", 400), ("oversized", 413)],
)
def test_refusals_are_answered_alike_and_store_nothing(client, make_account, signer, case, status):
    make_account(mode="safe")
    query, body = _refusals(signer)[case]
    ours, djangos = both(client, "POST", query, body)
    assert ours == djangos
    assert ours[0] == status
    assert ours[1] == "text/plain; charset=utf-8"
    assert Event.objects.count() == 0 and Follower.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_declared_oversized_body_is_refused_before_it_is_read(make_account, signer):
    make_account()
    query, body = signer.plain(message(MsgType="text", Content="x", MsgId=3))
    status, _, content = lean("POST", query, body, length=str(10**9))
    assert status == 413 and content.startswith(b"PayloadTooLarge")


class _Dribble(io.RawIOBase):
    """A de-chunked body as a server hands it over: a few bytes per read, then its end."""

    def __init__(self, body: bytes, step: int = 7) -> None:
        self.body, self.step, self.taken = body, step, 0

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        part = self.body[self.taken : self.taken + size]
        self.taken += len(part)
        return part


def _chunked(query: dict, body: bytes, path: str = URL, terminated: bool = True) -> dict:
    """The environ gunicorn builds for a chunked POST: no CONTENT_LENGTH, the input ended."""
    env = environ("POST", path, urlencode(query), body)
    del env["CONTENT_LENGTH"]
    env["HTTP_TRANSFER_ENCODING"] = "chunked"
    env["wsgi.input"] = _Dribble(body)
    if terminated:
        env["wsgi.input_terminated"] = True
    return env


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", [URL, f"{URL}/{APP_ID}"])
@pytest.mark.parametrize("handler", ["lean", "django"])
def test_a_chunked_callback_is_read_and_stored_once(make_account, signer, handler, path):
    make_account(mode="safe")
    query, body = signer.safe(message("o_chunk", MsgType="text", Content="分块", MsgId=21))
    # The Django view sits behind the full handler (a path only Django answers reaches it).
    app = application if handler == "lean" else WSGIHandler()
    for _ in range(2):
        status, _, content = call(app, _chunked(query, body, path))
        assert (status, content) == (200, b"success")
    assert list(Event.objects.values_list("openid", "payload__content")) == [("o_chunk", "分块")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("handler", ["lean", "django"])
def test_an_oversized_chunked_body_is_refused_after_the_limit_not_read_to_its_end(make_account, signer, handler):
    make_account()
    query, _ = signer.plain(message(MsgType="text", Content="x", MsgId=5))
    env = _chunked(query, b"<xml>" + b"x" * (settings.CALLBACK_MAX_BYTES * 4))
    env["wsgi.input"].step = 4096
    status, _, content = call(application if handler == "lean" else WSGIHandler(), env)
    assert status == 413 and content.startswith(b"PayloadTooLarge")
    assert env["wsgi.input"].taken == settings.CALLBACK_MAX_BYTES + 1
    assert Event.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_the_server_left_encoded_is_refused_as_411(make_account, signer):
    make_account()
    query, body = signer.plain(message(MsgType="text", Content="x", MsgId=6))
    env = _chunked(query, b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body), terminated=False)
    status, _, content = call(application, env)
    assert status == 411 and content.startswith(b"LengthRequired")
    assert env["wsgi.input"].taken == 0 and Event.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_replies_are_answered_alike(client, make_account, signer, mode):
    account = make_account(mode=mode)
    AutoReply.objects.create(account=account, match="contains", keyword="沙发", content="沙发目录")
    send = signer.plain if mode == "plaintext" else signer.safe

    def reply(answer):
        status, content_type, content = answer
        assert (status, content_type) == (200, "application/xml; charset=utf-8")
        parsed = xmlmsg.parse(content)
        if mode == "safe":
            assert parsed["MsgSignature"] == sign(TOKEN, parsed["TimeStamp"], parsed["Nonce"], parsed["Encrypt"])
            parsed = xmlmsg.parse(MessageCrypto(AES_KEY, APP_ID).decrypt(parsed["Encrypt"]))
        return parsed["ToUserName"], parsed["MsgType"], parsed["Content"]

    ours = lean("POST", *send(message("o_r", MsgType="text", Content="布艺沙发", MsgId=10)))
    theirs = django_view(client, "POST", *send(message("o_r", MsgType="text", Content="布艺沙发", MsgId=11)))
    assert reply((ours[0], ours[1]["Content-Type"], ours[2])) == reply(theirs) == ("o_r", "text", "沙发目录")
    # No rule applies: "success", stored all the same; a retry is stored once.
    quiet = send(message("o_r", MsgType="text", Content="随便", MsgId=12))
    assert lean("POST", *quiet)[2] == b"success"
    assert django_view(client, "POST", *quiet)[2] == b"success"
    assert Event.objects.filter(openid="o_r").count() == 3


@pytest.mark.django_db(transaction=True)
def test_callback_for_a_named_account_and_paths_that_are_not_the_callback(make_account, signer):
    make_account()
    query, body = signer.plain(message("o_n", MsgType="event", Event="subscribe"))
    assert lean("POST", query, body, path=f"{URL}/{APP_ID}")[::2] == (200, b"success")
    assert Event.objects.filter(openid="o_n").count() == 1
    status, headers, content = lean("POST", query, body, path=f"{URL}/wx_unknown")
    assert (status, content) == (404, "NoAccount: 没有配置公众号".encode())
    # Not the callback's shape: Django answers (its 404, with the console's headers).
    status, headers, _ = lean("POST", query, body, path=f"{URL}/{APP_ID}/more")
    assert status == 404 and headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db(transaction=True)
def test_no_account_and_too_many_query_fields(make_account, signer):
    status, _, content = lean("POST", {"timestamp": "1"}, b"<xml/>")
    assert (status, content) == (404, "NoAccount: 没有配置公众号".encode())
    make_account()
    status, _, _ = lean("POST", "&".join(f"f{i}=1" for i in range(1001)), b"<xml/>")
    assert status == 400


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_error_is_a_bare_500_that_shows_nothing(make_account, signer, monkeypatch, caplog):
    from fencun.gateway import endpoint

    make_account()

    def broken(*args, **kwargs):
        raise RuntimeError("database says: secret-detail")

    monkeypatch.setattr(endpoint, "receive_message", broken)
    status, headers, content = lean("POST", *signer.plain(message(MsgType="text", Content="x", MsgId=4)))
    assert (status, content) == (500, b"server error")
    assert b"secret-detail" not in content
    assert "callback failed" in caplog.text


def _concurrently(threads: int, send) -> list[int]:
    barrier = threading.Barrier(threads)
    statuses: list[int] = []

    def run():
        barrier.wait()
        try:
            statuses.append(send())
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return statuses


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_concurrent_retries_through_the_lean_callable_store_one_event(make_account, signer, mode):
    make_account(mode=mode)
    query, body = (signer.plain if mode == "plaintext" else signer.safe)(
        message("o_race", MsgType="text", Content="在吗", MsgId=777)
    )
    others = [signer.plain(message("o_race", MsgType="text", Content=str(i), MsgId=800 + i)) for i in range(4)]
    if mode == "safe":
        others = [signer.safe(message("o_race", MsgType="text", Content=str(i), MsgId=800 + i)) for i in range(4)]
    sends = [lambda: lean("POST", query, body)[0]] * 8 + [lambda q=q, b=b: lean("POST", q, b)[0] for q, b in others]
    pending = iter(sends)
    lock = threading.Lock()

    def next_send():
        with lock:
            send = next(pending)
        return send()

    assert _concurrently(len(sends), next_send) == [200] * len(sends)
    assert Event.objects.filter(openid="o_race", payload__content="在吗").count() == 1
    assert Event.objects.filter(openid="o_race").count() == 5
    assert Follower.objects.filter(openid="o_race").count() == 1
    follower = Follower.objects.get(openid="o_race")
    assert follower.last_interaction_at == max(Event.objects.filter(openid="o_race").values_list("occurred_at", flat=True))


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_new_followers_and_retries_on_postgres(make_account, signer):
    assert connection.vendor == "postgresql"
    make_account()
    requests = [signer.plain(message(f"o_pg{i % 3}", MsgType="event", Event="subscribe")) for i in range(3)] * 4
    pending = iter(requests)
    lock = threading.Lock()

    def send():
        with lock:
            query, body = next(pending)
        return lean("POST", query, body)[0]

    assert _concurrently(len(requests), send) == [200] * len(requests)
    assert Event.objects.count() == 3
    assert sorted(Follower.objects.filter(subscribed=True).values_list("openid", flat=True)) == ["o_pg0", "o_pg1", "o_pg2"]
