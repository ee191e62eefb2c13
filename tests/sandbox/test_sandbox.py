"""The sandbox as a WeChat stand-in: its admin API, faults, worlds and the command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest

from fencun.channels.wechat import errors, messages


def test_api_answers_in_wechat_shapes(sandbox):
    answer = httpx.get(f"{sandbox.api_base}/cgi-bin/tags/get", params={"access_token": "nope"})
    assert answer.status_code == 200
    assert answer.json()["errcode"] in (40001, 40014)
    token = httpx.post(
        f"{sandbox.api_base}/cgi-bin/stable_token",
        json={
            "grant_type": "client_credential",
            "appid": sandbox.config.app_id,
            "secret": sandbox.config.app_secret,
        },
    ).json()
    assert token["expires_in"] > 0 and token["access_token"]
    page = httpx.get(
        f"{sandbox.api_base}/cgi-bin/user/get", params={"access_token": token["access_token"]}
    ).json()
    assert set(page) == {"total", "count", "data", "next_openid"}
    assert page["count"] == len(page["data"]["openid"]) == 50
    wrong = httpx.get(
        f"{sandbox.api_base}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": sandbox.config.app_id, "secret": "x"},
    ).json()
    assert wrong["errcode"] != 0 and "access_token" not in wrong


def test_faults_through_the_admin_endpoint(sandbox, sandbox_client):
    base = sandbox.api_base
    rules = [{"path": "/cgi-bin/tags/get", "errcode": 45009, "times": 1}]
    assert httpx.post(f"{base}/sandbox/faults", json={"rules": rules}).status_code == 200
    with pytest.raises(errors.QuotaExceeded):
        sandbox_client.list_tags()
    assert sandbox_client.list_tags()  # the rule was for one call
    assert httpx.post(f"{base}/sandbox/tokens/invalidate").json() == {"invalidated": True}
    fetches = sandbox.state()["token_fetches"]
    assert sandbox_client.list_tags()
    assert sandbox.state()["token_fetches"] == fetches + 1
    assert httpx.post(f"{base}/sandbox/faults", json={"rules": [{"bad": 1}]}).status_code == 400
    assert httpx.delete(f"{base}/sandbox/faults").json() == {"faults": []}


def test_delivery_record_says_who_got_what_once(sandbox, sandbox_client):
    result = sandbox_client.sendall(messages.text("新品到店"), clientmsgid="rec-1")
    httpx.post(f"{sandbox.api_base}/sandbox/flush", json={})
    record = httpx.get(
        f"{sandbox.api_base}/sandbox/deliveries", params={"msg_id": result.msg_id}
    ).json()
    assert record["count"] == 50
    assert Counter(d["openid"] for d in record["deliveries"]).most_common(1)[0][1] == 1
    assert {d["key"] for d in record["deliveries"]} == {"rec-1"}


def test_an_openid_list_with_one_unfollowed_or_foreign_openid_is_refused_whole_with_40003(make_sandbox):
    """As WeChat: 40003 for the whole ``message/mass/send`` call, naming no openid; nothing
    is sent, and the clientmsgid stays free for the list without them."""
    from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient
    from fencun.channels.wechat.tokens import MemoryTokenStore

    box = make_sandbox(account_type="service", followers=20, retry_too_fast_seconds=0)
    with WeChatClient(box.config.app_id, box.config.app_secret, account_type="service", api_base=box.api_base,
                      token_store=MemoryTokenStore(), ledger=MemoryMassLedger(), backoff=0.0) as client:
        openids = client.get_followers().openids[:10]
        box.post_events([{"kind": "unsubscribe", "openid": openids[3]}])
        for bad in ([*openids], [*openids[:3], *openids[4:], "o_of_another_account"]):
            with pytest.raises(errors.InvalidRecipient) as refused:
                client.send_to_openids(bad, messages.text("上新"), clientmsgid="list-1")
            assert refused.value.errcode == 40003 and openids[3] not in str(refused.value)
        box.flush()
        assert box.deliveries(kind="mass") == []
        # user/info/batchget tells who unfollowed; a foreign openid refuses the call.
        profiles = {p.openid: p.subscribed for p in client.get_profiles(openids)}
        assert [o for o, subscribed in profiles.items() if not subscribed] == [openids[3]]
        with pytest.raises(errors.InvalidRecipient):
            client.get_profiles(["o_of_another_account"])
        rest = openids[:3] + openids[4:]
        client.send_to_openids(rest, messages.text("上新"), clientmsgid="list-1")
        box.flush()
        assert sorted(d["openid"] for d in box.deliveries(kind="mass")) == sorted(rest)


def test_mass_send_with_a_banned_word_is_rejected(sandbox, sandbox_client):
    with pytest.raises(errors.ContentRejected):
        sandbox_client.preview(sandbox_client.get_followers().openids[0], messages.text("违禁词"))


def test_followers_come_from_a_world(make_sandbox):
    from fencun.worlds import scenarios

    box = make_sandbox(followers=0)
    applied = box.load_world("fencun.worlds.furniture:world", scenarios.load("subscription-90d"), 3)
    assert applied > 0 and box.state()["followers"] > 1000
    with pytest.raises((ImportError, AttributeError)):
        box.load_world("fencun.worlds.furniture:no_such_factory", {}, 1)


def test_a_world_day_answers_what_was_sent_with_what_it_was_about(make_sandbox):
    """The admin endpoint hands the day's deliveries to the world, described by the caller
    (WeChat does not know a message's category); outcomes WeChat does not report come back."""
    from datetime import date, timedelta

    from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient
    from fencun.channels.wechat.tokens import MemoryTokenStore
    from fencun.worlds import scenarios

    box = make_sandbox(followers=0)
    scenario = {**scenarios.load("subscription-90d"), "followers": 3000,
                "start": (date.today() - timedelta(days=1)).isoformat()}
    box.load_world("fencun.worlds.furniture:world", scenario, 5)
    with WeChatClient(box.config.app_id, box.config.app_secret, api_base=box.api_base,
                      token_store=MemoryTokenStore(), ledger=MemoryMassLedger(), backoff=0.0) as client:
        client.sendall(messages.text("沙发上新"), clientmsgid="sofa-1")
    box.flush()
    sofa = [{"id": "sofa-3seat", "price": 4299.0}]
    answer = httpx.post(f"{box.api_base}/sandbox/world/day", json={
        "date": date.today().isoformat(),
        "campaigns": {"sofa-1": {"campaign": "c-sofa", "category": "sofa", "products": sofa}},
    }, timeout=60).json()
    outcomes = answer["outcomes"]
    assert outcomes and {e["kind"] for e in outcomes} <= {"read", "link_click", "order"}
    pushed = [e for e in outcomes if e.get("campaign") is not None]
    assert pushed and {e["campaign"] for e in pushed} == {"c-sofa"}
    # A second call hands nothing new to the world: no reads of today's push again.
    again = httpx.post(f"{box.api_base}/sandbox/world/day", json={"date": date.today().isoformat()},
                       timeout=60).json()["outcomes"]
    assert not [e for e in again if e["kind"] == "read"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_sandbox_command_serves_until_stopped():
    port = _free_port()
    secret = "cli-secret-never-printed-0001"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fencun.cli.main", "sandbox", "--port", str(port),
         "--followers", "120", "--account-type", "service", "--mode", "plaintext",
         "--fault", "/cgi-bin/user/get=-1x1"],
        env={**os.environ, "WECHAT_APP_SECRET": secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                state = httpx.get(f"{base}/sandbox/state", timeout=1).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert state["followers"] == 120 and state["account_type"] == "service"
        assert [f["errcode"] for f in state["faults"]] == [-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert base in out and secret not in out


def test_the_sandbox_command_refuses_bad_options():
    bad = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "sandbox", "--account-type", "enterprise"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "subscription" in bad.stdout + bad.stderr


def _stable(box, force: bool = False) -> dict:
    return httpx.post(
        f"{box.api_base}/cgi-bin/stable_token",
        json={
            "grant_type": "client_credential",
            "appid": box.config.app_id,
            "secret": box.config.app_secret,
            "force_refresh": force,
        },
    ).json()


def test_stable_token_modes_follow_the_documentation(sandbox):
    first = _stable(sandbox)
    assert _stable(sandbox)["access_token"] == first["access_token"]  # normal mode: same
    sandbox.advance_clock(first["expires_in"] - 200)  # inside the last 5 minutes
    rotated = _stable(sandbox)
    assert rotated["access_token"] != first["access_token"]
    assert rotated["expires_in"] >= 300
    forced = _stable(sandbox, force=True)
    assert forced["access_token"] != rotated["access_token"]
    assert _stable(sandbox, force=True)["access_token"] == forced["access_token"]  # < 30 s
    tags = httpx.get(
        f"{sandbox.api_base}/cgi-bin/tags/get", params={"access_token": rotated["access_token"]}
    ).json()
    assert tags["errcode"] == 40001  # a forced refresh ends the previous token at once
