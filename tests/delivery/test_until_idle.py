"""``fencun campaign work --until-idle`` after a killed worker: it waits out the dead
worker's leases (at most their length), takes the work and sends it once, and only then
exits."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from fencun.campaigns import delivery, services
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.seeding import ready_campaign, seed_account

from . import processes

pytestmark = pytest.mark.django_db(transaction=True)

LEASE_S = 2.0
#: The dead worker's leases outlast the new process's start even on a loaded machine, so
#: the loop always meets them held and has to wait them out.
DEAD_LEASE_S = 15.0


def _until_idle(box, tmp_path) -> tuple[float, str]:
    """Run the loop as a merchant would; returns (seconds taken, stderr)."""
    env = processes.environment(box.api_base, tmp_path, lease_s=LEASE_S)
    started = time.monotonic()
    final = processes.start(["campaign", "work", "--until-idle", "--poll", "0.1", "--lang", "en"], env)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-2000:]
    return time.monotonic() - started, err.decode()


def _assert_sent_once(box, campaign) -> None:
    box.flush()
    counts = Counter(d["openid"] for d in box.deliveries(kind="mass"))
    planned = services.recipients_of(campaign, sent_only=False)
    assert planned and set(counts) == set(planned), "lost or unexpected recipients"
    assert max(counts.values()) == 1, "someone received it twice"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE


def test_a_row_claimed_by_a_dead_worker_is_sent_once_when_its_lease_ends(make_sandbox, monkeypatch, tmp_path):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 50)
    box = make_sandbox(account_type="service", followers=100, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    delivery.run_scheduler("dead-worker")
    item = delivery.claim("dead-worker", lease_seconds=DEAD_LEASE_S)
    assert item is not None
    # The dead worker also held the scheduler lease, as long as a row's.
    delivery.acquire_scheduler("dead-worker", seconds=DEAD_LEASE_S)

    took, err = _until_idle(box, tmp_path)

    item.refresh_from_db()
    assert item.status == OutboxItem.Status.SENT and item.attempts == 2
    _assert_sent_once(box, campaign)
    assert "outbox rows leased by another worker" in err
    assert took < 60, "waited for more than the leases"


def test_a_due_campaign_behind_a_dead_schedulers_lease_is_started_and_sent(make_sandbox, monkeypatch, tmp_path):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 50)
    box = make_sandbox(account_type="service", followers=100, retry_too_fast_seconds=0)
    campaign = ready_campaign(seed_account(box))
    assert campaign.status == Campaign.Status.SCHEDULED
    # A worker took the scheduler lease and was killed before starting the campaign.
    delivery.acquire_scheduler("dead-worker", seconds=DEAD_LEASE_S)

    took, err = _until_idle(box, tmp_path)

    _assert_sent_once(box, campaign)
    assert "the scheduler lease held elsewhere" in err
    assert took < 60, "waited for more than the lease"
