"""SIGKILL a worker at random points of a 20,000-recipient campaign, twenty times over
(6,000 recipients and eight kills on CI): every recipient exactly once in the sandbox's
delivery record, none lost, status true."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter

import pytest
from django.utils import timezone
from tests.conftest import sized

from fencun.campaigns import services
from fencun.campaigns.models import Campaign, OutboxItem
from fencun.campaigns.seeding import ready_campaign, seed_account

from . import processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow(seconds=sized(90, 60))]

RECIPIENTS = sized(20_000, 6_000)
KILLS = sized(20, 8)
BATCH = 200
ROWS = RECIPIENTS // BATCH
# Each API call is this slow, so that the short-lived workers cannot finish the
# campaign between them: the kills must land mid-campaign.
LATENCY_MS = 300


def test_killed_workers_never_send_twice_nor_lose_a_send(make_sandbox, monkeypatch, tmp_path):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", BATCH)
    box = make_sandbox(
        account_type="service", followers=RECIPIENTS, retry_too_fast_seconds=0, latency_ms=LATENCY_MS
    )
    campaign = ready_campaign(seed_account(box))
    assert OutboxItem.objects.filter(campaign=campaign).count() == ROWS
    env = processes.environment(box.api_base, tmp_path, lease_s=1.0)
    rng = random.Random(5)
    kills = 0
    rows = OutboxItem.objects.filter(campaign=campaign)
    for _ in range(KILLS):
        before = rows.filter(status="sent").count()
        worker = processes.start(["campaign", "work", "--poll", "0.1"], env)
        # Wait until this worker is at work (holds a lease or has sent), then kill it at a
        # random point of what it is doing.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and worker.poll() is None:
            if rows.filter(status="claimed", lease_until__gt=timezone.now()).exists() or (
                rows.filter(status="sent").count() > before
            ):
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.wait(10)
    assert kills == KILLS
    sent_mid = OutboxItem.objects.filter(campaign=campaign, status="sent").count()
    final = processes.start(["campaign", "work", "--until-idle", "--poll", "0.1"], env)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-2000:]

    box.flush()
    counts = Counter(d["openid"] for d in box.deliveries(kind="mass"))
    planned = services.recipients_of(campaign, sent_only=False)
    assert len(planned) == RECIPIENTS
    assert set(counts) == set(planned), f"{len(set(planned) - set(counts))} lost"
    assert max(counts.values()) == 1, f"{sum(1 for v in counts.values() if v > 1)} twice"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    assert services.delivery_counts(campaign)["recipients_sent"] == RECIPIENTS
    # The kills landed mid-campaign, not all before the first or after the last send.
    assert 0 < sent_mid < ROWS
