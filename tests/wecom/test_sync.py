"""The external-contact sync against the WeCom sandbox over HTTP: complete, idempotent,
resumable, repairs missed deletions, and joins people across channels by unionid."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.conftest import sqlite_pass_only

from fencun.accounts.models import Account
from fencun.audience.models import Event, Follower
from fencun.audience.wecom_sync import sync_contacts
from fencun.channels.models import ContactSync, ExternalContact, WecomCorp, WecomTag
from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.channels.wecom.client import MemoryDispatchLedger, WeComClient
from fencun.channels.wecom.contacts import followers_joined
from fencun.channels.wecom.errors import FrequencyLimited

pytestmark = pytest.mark.django_db


def _corp(box, account: Account | None = None) -> WecomCorp:
    account = account or Account.objects.create(
        app_id="wx5a4db0c0a7f0e001", token="t", is_default=True
    )
    return WecomCorp.objects.create(
        account=account,
        corp_id=box.config.corp_id,
        secret=box.config.secret,
        token=box.config.token,
        aes_key=box.config.aes_key,
    )


def _client(box) -> WeComClient:
    return WeComClient(
        box.config.corp_id,
        box.config.secret,
        api_base=box.api_base,
        backoff=0.0,
        token_store=MemoryTokenStore(),
        ledger=MemoryDispatchLedger(),
    )


def _platform_relations(box) -> dict[str, set[str]]:
    return {c.external_userid: set(c.follows) for c in box.platform.contacts.values() if c.follows}


def _stored_relations(corp) -> dict[str, set[str]]:
    return {
        c.external_userid: {f["userid"] for f in c.follow_users}
        for c in ExternalContact.objects.filter(corp=corp, active=True)
    }


def test_sync_brings_every_contact_with_follow_users_tags_and_unionid(wecom_sandbox):
    corp = _corp(wecom_sandbox)
    result = sync_contacts(corp, _client(wecom_sandbox), page_size=7)
    assert _stored_relations(corp) == _platform_relations(wecom_sandbox)
    assert result.contacts >= len(_platform_relations(wecom_sandbox)) and result.pages > 1
    some = wecom_sandbox.platform.contacts[sorted(_platform_relations(wecom_sandbox))[0]]
    stored = ExternalContact.objects.get(corp=corp, external_userid=some.external_userid)
    assert stored.unionid == some.unionid and stored.name == some.name
    assert stored.tags == sorted({t for f in some.follows.values() for t in f["tag_id"]})
    assert WecomTag.objects.filter(corp=corp).count() == 4
    snapshots = Event.objects.filter(account=corp.account, kind="wecom_contact")
    relations = sum(len(users) for users in _platform_relations(wecom_sandbox).values())
    assert snapshots.count() == relations == result.recorded == result.relations
    assert not Follower.objects.exists()


def test_a_second_sync_over_unchanged_contacts_records_nothing(wecom_sandbox):
    corp = _corp(wecom_sandbox)
    sync_contacts(corp, _client(wecom_sandbox))
    again = sync_contacts(corp, _client(wecom_sandbox))
    assert again.recorded == 0 and not again.resumed


def test_an_interrupted_sync_resumes_at_the_next_page(wecom_sandbox):
    corp = _corp(wecom_sandbox)
    path = "/cgi-bin/externalcontact/batch/get_by_user"
    pages_seen = []

    def fail_after_two_pages(done: int) -> None:
        pages_seen.append(done)
        if len(pages_seen) == 2:
            wecom_sandbox.set_faults([{"path": path, "errcode": 45009}])

    with pytest.raises(FrequencyLimited):
        sync_contacts(corp, _client(wecom_sandbox), page_size=5, progress=fail_after_two_pages)
    state = ContactSync.objects.get(corp=corp)
    assert state.in_progress and state.pages_done == 2 and state.cursor
    wecom_sandbox.clear_faults()
    calls_before = wecom_sandbox.platform.calls[path]
    result = sync_contacts(corp, _client(wecom_sandbox), page_size=5)
    assert result.resumed
    assert _stored_relations(corp) == _platform_relations(wecom_sandbox)
    total_pairs = sum(len(u) for u in _platform_relations(wecom_sandbox).values())
    # Only the pages not yet done were fetched again.
    assert wecom_sandbox.platform.calls[path] - calls_before == result.pages
    assert state.pages_done + result.pages >= total_pairs // 5


def test_a_deletion_whose_callback_was_missed_is_repaired_by_the_next_sync(wecom_sandbox):
    corp = _corp(wecom_sandbox)
    sync_contacts(corp, _client(wecom_sandbox))
    customer, relation = next(
        (k, v) for k, v in _platform_relations(wecom_sandbox).items() if len(v) == 1
    )
    wecom_sandbox.delete_contact(next(iter(relation)), customer)  # no callback URL: missed
    result = sync_contacts(corp, _client(wecom_sandbox))
    assert result.dropped == 1
    contact = ExternalContact.objects.get(corp=corp, external_userid=customer)
    assert not contact.active and contact.follow_users == []


def test_a_person_on_both_channels_is_joined_by_unionid(make_sandbox, make_wecom_sandbox):
    from fencun.audience.sync import sync_followers
    from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient

    official = make_sandbox(followers=60)
    account = Account.objects.create(
        app_id=official.config.app_id,
        app_secret=official.config.app_secret,
        token=official.config.token,
        is_default=True,
    )
    with WeChatClient(
        official.config.app_id,
        official.config.app_secret,
        api_base=official.api_base,
        token_store=MemoryTokenStore(),
        ledger=MemoryMassLedger(),
    ) as wechat:
        sync_followers(account, wechat)
    shared = list(
        Follower.objects.filter(account=account)
        .exclude(unionid="")
        .order_by("openid")
        .values_list("unionid", flat=True)
    )[:4]
    assert len(shared) == 4
    box = make_wecom_sandbox(contacts=12, shared_unionids=tuple(shared))
    corp = _corp(box, account)
    sync_contacts(corp, _client(box))
    pairs = followers_joined(corp)
    assert sorted(f.unionid for f, _ in pairs) == sorted(shared)
    assert all(f.unionid == c.unionid and c.external_userid.startswith("wm") for f, c in pairs)


# -- the command ---------------------------------------------------------------------------


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "wecom", "sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(box, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL")}
    env.update(
        FENCUN_DATA_DIR=str(tmp_path),
        WECHAT_APP_ID="wx5a4db0c0a7f0e001",
        WECHAT_TOKEN="token",
        WECOM_CORP_ID=box.config.corp_id,
        WECOM_SECRET=box.config.secret,
        WECOM_TOKEN=box.config.token,
        WECOM_AES_KEY=box.config.aes_key,
        WECOM_API_BASE=box.api_base,
    )
    return env


@sqlite_pass_only
@pytest.mark.slow
def test_wecom_sync_command_stops_on_a_fault_keeps_progress_and_finishes_later(
    wecom_sandbox, tmp_path
):
    env = _env(wecom_sandbox, tmp_path)
    wecom_sandbox.set_faults(
        [{"path": "/cgi-bin/externalcontact/batch/get_by_user", "errcode": 45009}]
    )
    failed = _run(env)
    assert failed.returncode == 1, failed.stderr
    assert "进度已保存" in failed.stderr and "45009" in failed.stderr
    assert wecom_sandbox.config.secret not in failed.stdout + failed.stderr
    wecom_sandbox.clear_faults()
    done = _run(env)
    assert done.returncode == 0, done.stderr
    assert (
        f"完成：{len(_platform_relations(wecom_sandbox))} 位客户" in done.stdout
        and "（续传）" in done.stdout
    )
    again = _run(env)
    assert "新记录 0 条" in again.stdout


def test_wecom_sync_command_without_a_corp_says_so(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WECOM_", "WECHAT_", "DATABASE_URL"))
    }
    env["FENCUN_DATA_DIR"] = str(tmp_path)
    result = _run(env)
    assert result.returncode == 2 and "找不到企业微信" in result.stderr


def test_wecom_sync_command_with_a_bad_aes_key_says_so(wecom_sandbox, tmp_path):
    env = {**_env(wecom_sandbox, tmp_path), "WECOM_AES_KEY": "short"}
    result = _run(env)
    assert result.returncode == 2 and "WECOM_AES_KEY" in result.stderr


def test_wecom_sandbox_command_serves_the_api(tmp_path):
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "FENCUN_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fencun.cli.main",
            "wecom",
            "sandbox",
            "--port",
            str(port),
            "--contacts",
            "7",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "企业微信沙盒已启动" in process.stdout.readline()
        deadline = time.monotonic() + 10
        while True:
            try:
                state = httpx.get(f"http://127.0.0.1:{port}/sandbox/wecom/state").json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert state["contacts"] == 7
    finally:
        process.terminate()
        process.wait(timeout=10)
