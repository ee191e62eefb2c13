"""SIGKILL a worker at random points of a customer-service campaign, sixteen times over
(six on CI), while the platform answers some calls with -1 (busy). Customer-service
messages carry no idempotency key and cannot be looked up, so a kill after a request
left makes that row's outcome unknown: it is reported, never sent again. Every other
follower gets the message exactly once: nobody lost, nobody twice, and at most one row
unknown per kill (a worker sends one row at a time)."""

from __future__ import annotations

import random
import signal
import time

import pytest
from django.utils import timezone
from tests.conftest import sized

from fencun.campaigns import services
from fencun.campaigns.models import Campaign, OutboxItem

from . import processes
from .customer_service import CUSTOM_SEND, cs_campaign, outcomes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow(seconds=sized(120, 60))]

RECIPIENTS = sized(300, 60)
KILLS = sized(16, 6)
# The platform takes this long before acting and again before answering, so that kills
# land before a request, while it is in flight, and after the platform sent.
LATENCY_S = 0.15
BUSY_RATE = 0.15
BUSY_MAX = 1_000_000  # counted down by the sandbox: what is left tells how many it gave


def test_killed_workers_lose_no_one_send_no_one_twice_and_report_the_unknown(make_sandbox, tmp_path, capsys):
    box = make_sandbox(
        account_type="service", followers=RECIPIENTS, retry_too_fast_seconds=0, latency_ms=LATENCY_S * 1000
    )
    campaign = cs_campaign(box)
    rows = OutboxItem.objects.filter(campaign=campaign)
    assert rows.count() == RECIPIENTS
    box.set_faults([
        {"path": CUSTOM_SEND, "action": "error", "errcode": -1, "rate": BUSY_RATE, "times": BUSY_MAX},
        {"path": CUSTOM_SEND, "action": "timeout_after", "seconds": LATENCY_S},
    ])
    env = processes.environment(box.api_base, tmp_path, lease_s=2.0)
    rng = random.Random(7)
    kills = 0
    for _ in range(KILLS):
        before = rows.filter(status="sent").count()
        worker = processes.start(["campaign", "work", "--poll", "0.1"], env)
        # Let this worker hold a row and send a few (none to four), then kill it at a
        # random point of what it is doing: by progress, not by the clock, which a loaded
        # machine stretches past any fixed delay.
        sends = rng.randint(0, 4)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            if rows.filter(status="sent").count() >= before + sends and (
                sends or rows.filter(status="claimed", lease_until__gt=timezone.now()).exists()
            ):
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.6))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.wait(10)
    assert kills == KILLS
    sent_mid = rows.filter(status="sent").count()
    final = processes.start(["campaign", "work", "--until-idle", "--poll", "0.1"], env)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()[-2000:]

    found = outcomes(box, campaign)
    with capsys.disabled():
        print(f"\ncustomer-service kills: {kills} kills, {BUSY_MAX - box.platform.faults[0].times} busy answers, {found}")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE, campaign.pause_reason
    assert found["lost"] == 0 and found["false_sent"] == 0, found
    assert found["duplicated"] == 0, found
    assert found["sent"] + found["unknown"] == RECIPIENTS, found
    assert found["unknown"] <= kills, found
    counts = services.delivery_counts(campaign)
    assert (counts["recipients_sent"], counts["recipients_unknown"]) == (found["sent"], found["unknown"])
    # Busy answers were given (and, nobody being lost, tried again and got through).
    busy = BUSY_MAX - box.platform.faults[0].times
    assert busy > 0
    # The kills landed mid-campaign.
    assert 0 < sent_mid < RECIPIENTS
