"""Customer-service messages over HTTP to the sandbox. The platform takes no idempotency
key for them and cannot be asked what it sent, so delivery decides from the answer: an
``errcode`` (-1 busy included) or a connection never made means nothing was sent and the
row is tried again; a request that left without an answer ends the row ``unknown``, shown
to the merchant and never sent twice."""

from __future__ import annotations

import socket
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from fencun.campaigns import delivery, services
from fencun.campaigns.delivery import RowMemo
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.seeding import ready_campaign, seed_account
from fencun.channels.services import wechat_client

from .customer_service import CUSTOM_SEND, cs_campaign, outcomes

pytestmark = pytest.mark.django_db
S = Campaign.Status
OS = OutboxItem.Status


def _box(make_sandbox, followers: int):
    """A service account's sandbox with an AppID of its own: the PostgreSQL run keeps
    access tokens in Redis by AppID, and another test's sandbox would refuse this one's
    (a refused request is answered, so a fault meant for a send would land on it)."""
    return make_sandbox(account_type="service", followers=followers, retry_too_fast_seconds=0,
                        app_id=f"wx{uuid.uuid4().hex[:16]}")


def _factory(api_base: str):
    return lambda account: wechat_client(account, api_base=api_base, backoff=0.0, timeout=1.0)


def _drain(box, api_base: str | None = None, rounds: int = 20) -> None:
    for _ in range(rounds):
        delivery.run_scheduler("sched")
        delivery.work("w", client_factory=_factory(api_base or box.api_base))
        OutboxItem.objects.filter(status="pending").update(not_before=None)
        if not delivery.has_work():
            break


def _eventually(read, done, timeout: float = 30.0):
    """``read()`` once ``done`` holds of it (or at the timeout, for the assertion to show)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_busy_answers_are_retried_and_every_follower_gets_it_once(make_sandbox):
    box = _box(make_sandbox, 12)
    campaign = cs_campaign(box)
    # -1 answered without sending, several times over and to the same rows more than once.
    box.set_faults([{"path": CUSTOM_SEND, "action": "error", "errcode": -1, "times": 8}])
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE, campaign.pause_reason
    found = outcomes(box, campaign)
    assert found == {**found, "planned": 12, "sent": 12, "lost": 0, "duplicated": 0, "unknown": 0}
    assert OutboxItem.objects.filter(campaign=campaign, attempts__gt=1).exists(), "no row was retried"


def test_an_answer_lost_after_the_platform_sent_is_reported_unknown_and_not_sent_again(make_sandbox):
    box = _box(make_sandbox, 6)
    campaign = cs_campaign(box)
    # The platform sends, then answers after the client gave up (1 s).
    box.set_faults([{"path": CUSTOM_SEND, "action": "timeout_after", "seconds": 1.5, "times": 1}])
    _drain(box)
    campaign.refresh_from_db()
    assert campaign.status == S.DONE, campaign.pause_reason
    # On a loaded machine the client may give up before the platform got to the request:
    # the platform still sends it, once, a moment later.
    found = _eventually(lambda: outcomes(box, campaign), lambda f: f["unknown_delivered"] == 1)
    assert found == {**found, "planned": 6, "sent": 5, "lost": 0, "duplicated": 0, "unknown": 1,
                     "unknown_delivered": 1}
    (row,) = OutboxItem.objects.filter(campaign=campaign, status=OS.UNKNOWN)
    assert row.reason_code == "outcome_unknown" and "ApiTimeout" in row.reason
    counts = services.delivery_counts(campaign)
    assert (counts["recipients_sent"], counts["recipients_unknown"], counts["recipients_failed"]) == (5, 1, 0)


def test_a_request_that_timed_out_before_the_platform_acted_is_unknown_too(make_sandbox):
    # Nothing tells this apart from the case above: the row is reported, not guessed.
    box = _box(make_sandbox, 4)
    campaign = cs_campaign(box)
    box.set_faults([{"path": CUSTOM_SEND, "action": "timeout", "seconds": 1.5, "times": 1}])
    _drain(box)
    found = outcomes(box, campaign)
    assert found == {**found, "sent": 3, "lost": 0, "duplicated": 0, "unknown": 1, "unknown_delivered": 0}


def test_a_connection_never_made_is_retried(make_sandbox):
    box = _box(make_sandbox, 3)
    campaign = cs_campaign(box)
    with socket.socket() as s:  # a port nobody listens on: the connection is refused
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    delivery.run_scheduler("sched")
    # The token comes from the sandbox; the send finds nobody at the closed port.
    with wechat_client(campaign.account, api_base=box.api_base) as client:
        client.access_token()
    result = delivery.work("w", client_factory=_factory(closed))
    assert result.retried == 3 and result.unknown == 0
    assert not OutboxItem.objects.filter(campaign=campaign, attempt_started_at__isnull=False).exists()
    _drain(box)
    found = outcomes(box, campaign)
    assert found == {**found, "sent": 3, "lost": 0, "duplicated": 0, "unknown": 0}


def test_a_row_whose_worker_died_mid_request_ends_unknown(make_sandbox):
    box = _box(make_sandbox, 3)
    campaign = cs_campaign(box)
    delivery.run_scheduler("sched")
    item = delivery.claim("dead-worker", lease_seconds=0.01)
    # The dead worker had marked its attempt and sent the request; no answer was recorded.
    RowMemo(item, campaign, "A").put("attempt", repr(timezone.now().timestamp()))
    _drain(box)
    item.refresh_from_db()
    assert item.status == OS.UNKNOWN and item.reason_code == "outcome_unknown"
    found = outcomes(box, campaign)
    assert found == {**found, "sent": 2, "lost": 0, "duplicated": 0, "unknown": 1}
    campaign.refresh_from_db()
    assert campaign.status == S.DONE


@pytest.mark.parametrize(("hours_ago", "status"), [(1, OS.SENT), (25, OS.UNKNOWN)])
def test_a_mass_send_is_asked_again_only_while_the_platform_remembers_its_clientmsgid(
    make_sandbox, monkeypatch, hours_ago, status
):
    from fencun.channels.wechat.client import MemoryMassLedger
    from fencun.channels.wechat.messages import text

    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 50)
    box = _box(make_sandbox, 100)
    campaign = ready_campaign(seed_account(box))
    delivery.run_scheduler("sched")
    item = delivery.claim("dead-worker", lease_seconds=0.01)
    # Accepted by the platform; the worker died before recording it (nor the ledger).
    with wechat_client(campaign.account, api_base=box.api_base, ledger=MemoryMassLedger()) as client:
        client.send_to_openids(item.openids, text("x"), clientmsgid=item.clientmsgid)
    OutboxItem.objects.filter(pk=item.pk).update(attempt_started_at=timezone.now() - timedelta(hours=hours_ago))
    _drain(box)
    item.refresh_from_db()
    # Within 24 h the same clientmsgid is answered 45065 (already sent); after, the
    # platform no longer knows it, and sending again could reach them twice.
    assert item.status == status
    box.flush()
    counts = {}
    for d in box.deliveries(kind="mass"):
        counts[d["openid"]] = counts.get(d["openid"], 0) + 1
    assert max(counts.values()) == 1 and len(counts) == 100


@pytest.mark.parametrize(("lang", "words"), [("zh-hans", "结果未知"), ("en", "Outcome unknown")])
def test_the_reasons_are_told_in_the_merchants_language(make_sandbox, lang, words):
    box = _box(make_sandbox, 3)
    campaign = cs_campaign(box)
    box.set_faults([{"path": CUSTOM_SEND, "action": "timeout_after", "seconds": 1.5, "times": 1}])
    _drain(box)
    with translation.override(lang):
        (group,) = services.delivery_reasons(campaign)
    assert (group.status, group.code, group.rows, group.recipients) == ("unknown", "outcome_unknown", 1, 1)
    assert words in group.label
