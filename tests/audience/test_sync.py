"""The follower sync from the sandbox into the event log: complete, idempotent, resumable."""

from __future__ import annotations

import pytest

from fencun.accounts.models import Account
from fencun.audience.models import Event, Follower, Tag
from fencun.audience.services import rebuild_followers
from fencun.audience.sync import sync_followers
from fencun.channels.models import FollowerSync
from fencun.channels.services import wechat_client
from fencun.channels.wechat import errors
from fencun.channels.wechat.tokens import MemoryTokenStore


def _account(box) -> Account:
    return Account.objects.create(
        app_id=box.config.app_id,
        app_secret=box.config.app_secret,
        token=box.config.token,
        aes_key=box.config.aes_key,
        mode=box.config.mode,
        account_type=box.config.account_type,
        is_default=True,
    )


def _client(account, box):
    return wechat_client(account, api_base=box.api_base, token_store=MemoryTokenStore(), backoff=0)


@pytest.mark.django_db(transaction=True)
def test_full_sync_brings_every_follower_with_profile_and_tags(make_sandbox):
    box = make_sandbox(followers=2_500, user_page_size=1_000)
    account = _account(box)
    seen: list[tuple[int, int]] = []
    with _client(account, box) as client:
        result = sync_followers(account, client, progress=lambda d, t: seen.append((d, t)))
    assert result.followers == 2_500 and result.recorded == 2_500 and result.pages == 3
    assert Follower.objects.filter(account=account, subscribed=True).count() == 2_500
    assert Event.objects.filter(account=account, kind="profile", source="sync").count() == 2_500
    assert seen[-1] == (2_500, 2_500)
    sample = Follower.objects.filter(account=account).order_by("openid")[123]
    platform = box.follower(sample.openid)
    assert sample.subscribe_scene == platform["scene"]
    assert sample.tags == sorted(platform["tags"])
    assert sample.subscribed_at is not None
    assert {t.wechat_id for t in Tag.objects.filter(account=account)} == {
        t.id for t in result.tags
    }
    calls = box.state()["calls"]
    assert calls["/cgi-bin/user/get"] == 4 and calls["/cgi-bin/user/info/batchget"] == 25


@pytest.mark.django_db(transaction=True)
def test_second_sync_records_nothing_new_and_replay_rebuilds_the_same(make_sandbox):
    box = make_sandbox(followers=1_200)
    account = _account(box)
    with _client(account, box) as client:
        sync_followers(account, client)
        before = list(Follower.objects.filter(account=account).order_by("openid").values(
            "openid", "subscribed", "subscribe_scene", "tags", "language", "subscribed_at"
        ))
        again = sync_followers(account, client)
    assert again.followers == 1_200 and again.recorded == 0 and not again.resumed
    assert Event.objects.filter(account=account).count() == 1_200
    rebuild_followers(account)
    after = list(Follower.objects.filter(account=account).order_by("openid").values(
        "openid", "subscribed", "subscribe_scene", "tags", "language", "subscribed_at"
    ))
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_sync_interrupted_by_a_fault_resumes_at_the_next_page(make_sandbox):
    box = make_sandbox(followers=2_500, user_page_size=1_000)
    account = _account(box)

    def fail_after_first_page(done: int, total: int) -> None:
        if done >= 1_000:
            box.set_faults([{"path": "/cgi-bin/user/get", "errcode": 45009}])

    with _client(account, box) as client:
        with pytest.raises(errors.QuotaExceeded):
            sync_followers(account, client, progress=fail_after_first_page)
        state = FollowerSync.objects.get(account=account)
        assert state.in_progress and state.pages_done == 1 and state.next_openid
        assert Follower.objects.filter(account=account).count() == 1_000
        box.clear_faults()
        result = sync_followers(account, client)
    assert result.resumed and result.pages == 2 and result.followers == 1_500
    assert box.state()["calls"]["/cgi-bin/user/get"] == 2 + 3  # page 1 was not fetched again
    assert Follower.objects.filter(account=account, subscribed=True).count() == 2_500
    assert Event.objects.filter(account=account).count() == 2_500
    assert not FollowerSync.objects.get(account=account).in_progress


@pytest.mark.django_db(transaction=True)
def test_sync_sees_a_follower_who_left(make_sandbox):
    box = make_sandbox(followers=300)
    account = _account(box)
    with _client(account, box) as client:
        sync_followers(account, client)
        leaver = Follower.objects.filter(account=account).order_by("openid").first()
        box.post_events([{"kind": "unsubscribe", "openid": leaver.openid}])
        profile = client.get_profile(leaver.openid)
    assert not profile.subscribed
