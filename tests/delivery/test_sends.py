"""Delivery over real HTTP to the sandbox: every planned recipient exactly once, faults
pause with the reason shown, resume never re-sends."""

from __future__ import annotations

from collections import Counter

import pytest

from fencun.campaigns import delivery, services
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.seeding import ready_campaign, seed_account
from fencun.channels.services import wechat_client

S = Campaign.Status
pytestmark = pytest.mark.django_db


def _factory(box):
    return lambda account: wechat_client(account, api_base=box.api_base, backoff=0.0, timeout=1.0)


def _drain(box, rounds: int = 20) -> None:
    for _ in range(rounds):
        delivery.run_scheduler("sched")
        delivery.work("w", client_factory=_factory(box))
        # Rows released for a retry wait for their backoff: let them go now.
        OutboxItem.objects.filter(status="pending").update(not_before=None)
        if not delivery.has_work():
            break


def _mass_counts(box) -> Counter[str]:
    box.flush()
    return Counter(d["openid"] for d in box.deliveries(kind="mass"))


def _assert_exactly_once(box, campaign) -> None:
    counts = _mass_counts(box)
    planned = services.recipients_of(campaign, sent_only=False)
    assert planned, "the campaign planned nobody"
    assert set(counts) == set(planned), "lost or unexpected recipients"
    assert max(counts.values()) == 1, "someone received it twice"


def test_service_account_sends_every_recipient_once_in_openid_batches(make_sandbox, monkeypatch):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 40)
    box = make_sandbox(account_type="service", followers=200, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    assert OutboxItem.objects.filter(campaign=campaign).count() == 5
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    _assert_exactly_once(box, campaign)
    assert services.campaign_for_msg_id(campaign.account, OutboxItem.objects.first().msg_id) == campaign


@pytest.mark.parametrize("gone_count", [1, 3])
def test_followers_who_unfollowed_are_taken_out_and_the_rest_of_their_batch_sent_once(
    make_sandbox, monkeypatch, gone_count
):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 150)
    box = make_sandbox(account_type="service", followers=400, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    batch = OutboxItem.objects.filter(campaign=campaign).order_by("pk").first()
    # Unfollowed after the plan: the platform refuses the whole openid list (40003).
    gone = batch.openids[7 : 7 + gone_count * 60 : 60]
    box.post_events([{"kind": "unsubscribe", "openid": o} for o in gone])
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    counts = _mass_counts(box)
    planned = services.recipients_of(campaign, sent_only=False)
    assert set(counts) == set(planned) - set(gone), "lost or unexpected recipients"
    assert max(counts.values()) == 1, "someone received it twice"
    assert sorted(services.recipients_of(campaign)) == sorted(counts)
    failed = OutboxItem.objects.filter(campaign=campaign, status="failed")
    assert sorted(o for row in failed for o in row.openids) == sorted(gone)
    assert all("40003" in row.reason and "no longer follows" in row.reason for row in failed)
    batch.refresh_from_db()
    assert batch.status == "sent" and not set(gone) & set(batch.openids)
    assert "refused" in batch.reason


def test_an_openid_of_another_account_is_found_by_halving_and_refused_alone(make_sandbox, monkeypatch):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 150)
    box = make_sandbox(account_type="service", followers=300, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    batch = OutboxItem.objects.filter(campaign=campaign).order_by("pk").first()
    stranger = "o_of_another_account_0000000"
    OutboxItem.objects.filter(pk=batch.pk).update(openids=[*batch.openids, stranger])
    _drain(box)
    counts = _mass_counts(box)
    assert stranger not in counts and max(counts.values()) == 1
    assert set(counts) == set(services.recipients_of(campaign, sent_only=False)) - {stranger}
    (failed,) = OutboxItem.objects.filter(campaign=campaign, status="failed")
    assert failed.openids == [stranger] and "not a follower of this account" in failed.reason


def test_subscription_account_sends_to_a_tag_of_the_chosen_followers(make_sandbox):
    box = make_sandbox(account_type="subscription", followers=120, retry_too_fast_seconds=0)
    with box.platform.lock:
        chosen = [r.openid for r in box.platform.population.subscribed()][:70]
    campaign = ready_campaign(seed_account(box, openids=chosen))
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    _assert_exactly_once(box, campaign)
    assert set(_mass_counts(box)) == set(chosen)
    item = OutboxItem.objects.get(campaign=campaign)
    assert delivery.cleanup_tags(older_than_s=0, client_factory=_factory(box)) == 1
    assert item.tag_id not in box.platform.tags


@pytest.mark.parametrize(
    "fault",
    [
        {"path": "/cgi-bin/message/mass/send", "action": "timeout_after", "seconds": 1.5, "times": 2},
        {"path": "/cgi-bin/message/mass/send", "action": "error", "errcode": -1, "times": 3},
    ],
    ids=["timeout-after-acceptance", "busy"],
)
def test_transient_faults_neither_duplicate_nor_lose(make_sandbox, monkeypatch, fault):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 50)
    box = make_sandbox(account_type="service", followers=150, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    box.set_faults([fault])
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE, campaign.pause_reason
    _assert_exactly_once(box, campaign)


def test_token_invalidation_mid_campaign_neither_duplicates_nor_loses(make_sandbox, monkeypatch):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 50)
    box = make_sandbox(account_type="service", followers=150, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    delivery.run_scheduler("s")
    delivery.work("w", max_items=1, client_factory=_factory(box))
    box.invalidate_tokens()
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE, campaign.pause_reason
    _assert_exactly_once(box, campaign)


def test_daily_quota_pauses_with_the_reason_and_resume_sends_only_the_rest(make_sandbox, monkeypatch):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 50)
    box = make_sandbox(account_type="service", followers=200, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    delivery.run_scheduler("s")
    delivery.work("w", max_items=2, client_factory=_factory(box))
    box.set_faults([{"path": "/cgi-bin/message/mass/send", "action": "error", "errcode": 45009}])
    _drain(box, rounds=3)
    campaign.refresh_from_db()
    assert campaign.status == S.PAUSED
    assert "45009" in campaign.pause_reason
    sent_before = services.delivery_counts(campaign)["recipients_sent"]
    assert sent_before == 100 and len(_mass_counts(box)) == 100
    box.clear_faults()
    services.resume(campaign)
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    _assert_exactly_once(box, campaign)


@pytest.mark.parametrize("ledger_recorded", [True, False], ids=["in-ledger", "not-in-ledger"])
def test_a_row_accepted_before_its_worker_died_is_recorded_not_resent(
    make_sandbox, monkeypatch, ledger_recorded
):
    from fencun.channels.wechat.client import MemoryMassLedger
    from fencun.channels.wechat.messages import text

    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 50)
    box = make_sandbox(account_type="service", followers=100, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    delivery.run_scheduler("sched")
    item = delivery.claim("dead-worker", lease_seconds=0.01)
    # The dead worker's send reached WeChat; its process died before marking the row.
    options = {} if ledger_recorded else {"ledger": MemoryMassLedger()}
    with wechat_client(campaign.account, api_base=box.api_base, **options) as client:
        accepted = client.send_to_openids(item.openids, text("x"), clientmsgid=item.clientmsgid)
    _drain(box)
    item.refresh_from_db()
    assert item.status == OutboxItem.Status.SENT and item.msg_id == accepted.msg_id
    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    _assert_exactly_once(box, campaign)
