"""The WeChat client over real HTTP against the sandbox."""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from fencun.channels.wechat import errors, messages
from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient
from fencun.channels.wechat.tokens import MemoryTokenStore


def _client(box, **options) -> WeChatClient:
    options.setdefault("token_store", MemoryTokenStore())
    options.setdefault("ledger", MemoryMassLedger())
    options.setdefault("backoff", 0.0)
    return WeChatClient(
        box.config.app_id,
        box.config.app_secret,
        account_type=box.config.account_type,
        api_base=box.api_base,
        **options,
    )


def test_follower_pages_and_profiles_have_the_api_shapes(make_sandbox):
    box = make_sandbox(followers=12_345)
    with _client(box) as client:
        first = client.get_followers()
        assert first.total == 12_345 and len(first.openids) == 10_000
        second = client.get_followers(first.next_openid)
        assert len(second.openids) == 2_345
        assert not set(first.openids) & set(second.openids)
        profiles = client.get_profiles(first.openids[:100])
        assert [p.openid for p in profiles] == first.openids[:100]
        assert all(p.subscribed and p.subscribe_time for p in profiles)
        with pytest.raises(errors.LimitRefused):
            client.get_profiles(first.openids[:101])
    assert box.state()["calls"].get("/cgi-bin/user/info/batchget") == 1  # 101 never sent


def test_one_token_fetch_for_many_threads(sandbox):
    store = MemoryTokenStore()
    clients = [_client(sandbox, token_store=store) for _ in range(8)]
    barrier = threading.Barrier(len(clients))

    def work(client):
        barrier.wait()
        client.list_tags()

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sandbox.state()["token_fetches"] == 1


def test_rejected_token_is_refreshed_once_and_the_call_repeated(sandbox, sandbox_client):
    sandbox_client.list_tags()
    sandbox.invalidate_tokens()
    assert sandbox_client.list_tags()  # 40001, refresh, repeat
    assert sandbox.state()["token_fetches"] >= 2


def test_token_error_twice_in_a_row_is_raised_typed(sandbox, sandbox_client):
    sandbox.set_faults([{"path": "/cgi-bin/tags/get", "errcode": 40001}])
    with pytest.raises(errors.TokenInvalid):
        sandbox_client.list_tags()


def test_old_classic_token_stays_valid_five_minutes(sandbox):
    a = _client(sandbox, use_stable_token=False)
    b = _client(sandbox, use_stable_token=False)
    a.list_tags()
    b.list_tags()  # a second fetch: a's token is now the old one
    sandbox.advance_clock(240)
    a.list_tags()
    assert sandbox.state()["token_fetches"] == 2
    sandbox.advance_clock(120)
    a.list_tags()  # rejected after 5 min, refreshed, repeated
    assert sandbox.state()["token_fetches"] == 3


def test_system_busy_is_retried_with_backoff_then_succeeds(sandbox, sandbox_client):
    sandbox_client.list_tags()
    sandbox.set_faults([{"path": "/cgi-bin/tags/get", "errcode": -1, "times": 2}])
    assert sandbox_client.list_tags()
    assert sandbox.state()["calls"]["/cgi-bin/tags/get"] == 4


def test_system_busy_beyond_retries_raises_system_busy(sandbox, sandbox_client):
    sandbox.set_faults([{"path": "/cgi-bin/tags/get", "errcode": -1}])
    with pytest.raises(errors.SystemBusy):
        sandbox_client.list_tags()


def test_daily_quota_is_typed_and_not_retried(sandbox, sandbox_client):
    sandbox_client.list_tags()
    sandbox.set_faults([{"path": "/cgi-bin/tags/get", "errcode": 45009}])
    with pytest.raises(errors.QuotaExceeded):
        sandbox_client.list_tags()
    assert sandbox.state()["calls"]["/cgi-bin/tags/get"] == 2


def test_customer_service_message_is_never_retried(sandbox, sandbox_client):
    openid = sandbox_client.get_followers().openids[0]
    sandbox.post_events([{"kind": "text", "openid": openid, "content": "在吗"}])
    sandbox.set_faults([{"path": "/cgi-bin/message/custom/send", "errcode": -1}])
    with pytest.raises(errors.SystemBusy):
        sandbox_client.send_custom(
            openid, messages.text("在的"), last_interaction_at=datetime.now(UTC)
        )
    assert sandbox.state()["calls"]["/cgi-bin/message/custom/send"] == 1


def test_timeout_is_typed(sandbox):
    client = _client(sandbox, timeout=0.3, max_retries=0)
    client.list_tags()
    sandbox.set_faults([{"path": "/cgi-bin/tags/get", "action": "timeout", "seconds": 1.0}])
    with pytest.raises(errors.ApiTimeout):
        client.list_tags()


def test_secret_never_in_errors_or_logs_when_the_network_fails(caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed when the block ends: nothing listens
    secret = "TOPSECRET-appsecret-4242"
    caplog.set_level(logging.DEBUG)
    for stable in (True, False):
        client = WeChatClient(
            "wx0000000000000009",
            secret,
            api_base=f"http://127.0.0.1:{dead}",
            use_stable_token=stable,
            backoff=0.0,
        )
        with pytest.raises(errors.TransportError) as caught:
            client.list_tags()
        text = f"{caught.value!s} {caught.value!r} {caught.value.__cause__!r} {client!r}"
        assert secret not in text
        assert caught.value.__suppress_context__ or caught.value.__context__ is None
    assert secret not in caplog.text


def test_wrong_secret_is_a_credential_error_without_the_secret(sandbox):
    client = WeChatClient(sandbox.config.app_id, "wrong-secret-999", api_base=sandbox.api_base)
    with pytest.raises(errors.WeChatError) as caught:
        client.list_tags()
    assert "wrong-secret-999" not in str(caught.value)


def test_tags_create_tag_untag_and_delete(sandbox, sandbox_client):
    openids = sandbox_client.get_followers().openids[:3]
    tag = sandbox_client.create_tag("到店客户")
    sandbox_client.tag_followers(tag.id, openids)
    assert tag.id in sandbox_client.follower_tags(openids[0])
    assert set(sandbox_client.tag_members(tag.id).openids) == set(openids)
    with pytest.raises(errors.LimitRefused):
        sandbox_client.tag_followers(tag.id, [f"o{i}" for i in range(51)])
    sandbox_client.untag_followers(tag.id, openids[:1])
    assert tag.id not in sandbox_client.follower_tags(openids[0])
    sandbox_client.delete_tag(tag.id)
    assert tag.id not in [t.id for t in sandbox_client.list_tags()]


def test_sendall_reaches_each_follower_once_and_repeat_is_45065(sandbox, sandbox_client):
    first = sandbox_client.sendall(messages.text("周末到店有礼"), clientmsgid="camp-1")
    assert first.msg_id and not first.already_sent
    sandbox.advance_clock(61)  # inside a minute WeChat answers 45066 "retry later"
    again = _client(sandbox).sendall(messages.text("周末到店有礼"), clientmsgid="camp-1")
    assert again.already_sent
    sandbox.flush()
    counts = Counter(d["openid"] for d in sandbox.deliveries(kind="mass"))
    assert len(counts) == sandbox.state()["followers"] and set(counts.values()) == {1}


def test_subscription_account_second_mass_send_refused_before_calling(sandbox, sandbox_client):
    sandbox_client.sendall(messages.text("一"), clientmsgid="day-1")
    calls = sandbox.state()["calls"]["/cgi-bin/message/mass/sendall"]
    with pytest.raises(errors.LimitRefused):
        sandbox_client.sendall(messages.text("二"), clientmsgid="day-2")
    assert sandbox.state()["calls"]["/cgi-bin/message/mass/sendall"] == calls


def test_openid_list_send_only_for_service_accounts(sandbox, sandbox_client, make_sandbox):
    openids = sandbox_client.get_followers().openids[:5]
    with pytest.raises(errors.LimitRefused):
        sandbox_client.send_to_openids(openids, messages.text("嗨"), clientmsgid="l-1")
    assert "/cgi-bin/message/mass/send" not in sandbox.state()["calls"]
    service = make_sandbox(account_type="service")
    with _client(service) as client:
        ids = client.get_followers().openids[:5]
        with pytest.raises(errors.LimitRefused):
            client.send_to_openids(ids[:1], messages.text("嗨"), clientmsgid="l-2")
        result = client.send_to_openids(ids, messages.text("嗨"), clientmsgid="l-3")
        assert result.msg_id
        service.flush()
        assert sorted(d["openid"] for d in service.deliveries(kind="mass")) == sorted(ids)


def test_customer_service_window(make_sandbox):
    service = make_sandbox(account_type="service")
    with _client(service) as client:
        openid = client.get_followers().openids[0]
        stale = datetime.now(UTC) - timedelta(hours=49)
        with pytest.raises(errors.LimitRefused):
            client.send_custom(openid, messages.text("你好"), last_interaction_at=stale)
        assert "/cgi-bin/message/custom/send" not in service.state()["calls"]
        # The platform enforces its own window too: told wrongly, WeChat answers 45015.
        with pytest.raises(errors.OutOfWindow):
            client.send_custom(openid, messages.text("你好"), last_interaction_at=datetime.now(UTC))
        service.post_events([{"kind": "text", "openid": openid, "content": "你好"}])
        client.send_custom(openid, messages.text("您好"), last_interaction_at=datetime.now(UTC))
        assert [d["kind"] for d in service.deliveries(openid=openid)] == ["custom"]


def test_template_message_client_msg_id_delivers_once(make_sandbox):
    service = make_sandbox(account_type="service")
    with _client(service) as client:
        openid = client.get_followers().openids[0]
        ids = [
            client.send_template(
                openid, "TM_ORDER_SHIPPED", {"first": "已发货"}, client_msg_id="order-7"
            )
            for _ in range(2)
        ]
        assert ids[0] and ids[0] == ids[1]
        with pytest.raises(errors.LimitRefused):
            client.send_template(openid, "TM_ORDER_SHIPPED", {}, client_msg_id="")
    assert len(service.deliveries(openid=openid, kind="template")) == 1


def test_service_account_followers_receive_at_most_four_mass_sends_a_month(make_sandbox):
    service = make_sandbox(account_type="service", followers=5)
    # Mid-month on the platform's clock: five sends a minute apart stay in one month.
    service.set_now(datetime(2026, 6, 15, 12, tzinfo=UTC).timestamp())
    with _client(service) as client:
        ids = client.get_followers().openids
        with pytest.raises(errors.LimitRefused):
            client.send_to_openids(
                ids, messages.text("五"), clientmsgid="m-0", received_this_month={ids[0]: 4}
            )
        assert "/cgi-bin/message/mass/send" not in service.state()["calls"]
        for n in range(5):
            service.advance_clock(61)
            client.sendall(messages.text(f"第{n}次"), clientmsgid=f"month-{n}")
        service.flush()
    per_follower = Counter(d["openid"] for d in service.deliveries(kind="mass"))
    assert per_follower == {openid: 4 for openid in ids}


def test_token_is_refreshed_ahead_of_expiry_without_a_failed_call(sandbox, sandbox_client):
    from fencun import clock

    sandbox_client.list_tags()
    first = sandbox_client.access_token()
    assert sandbox.state()["token_fetches"] == 1
    try:
        # 7,000 s on, on both clocks: the token has 200 s left, inside the refresh margin.
        clock.set_now(clock.now() + timedelta(seconds=7000))
        sandbox.advance_clock(7000)
        sandbox_client.list_tags()
        assert sandbox.state()["token_fetches"] == 2  # refreshed before it expired
        assert sandbox_client.access_token() != first
        assert sandbox.platform.calls["/cgi-bin/tags/get"] == 2  # no call was refused and repeated
    finally:
        clock.reset()
