"""Two schedulers and three queue workers at once on PostgreSQL and Redis: no duplicate."""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from tests.conftest import requires_postgres

from fencun.campaigns import services
from fencun.campaigns.models import Campaign
from fencun.campaigns.seeding import ready_campaign, seed_account

from . import processes

QUEUE_URL = os.environ.get("FENCUN_QUEUE_URL", "")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    requires_postgres,
    pytest.mark.skipif(
        not QUEUE_URL.startswith("redis"), reason="needs Redis: set FENCUN_QUEUE_URL=redis://…"
    ),
]


def test_two_schedulers_and_three_workers_send_each_recipient_once(make_sandbox, monkeypatch, tmp_path):
    monkeypatch.setattr("fencun.campaigns.planning.OPENID_BATCH", 500)
    box = make_sandbox(
        account_type="service", followers=6000, retry_too_fast_seconds=0, latency_ms=10
    )
    account = seed_account(box)
    first = ready_campaign(account, name="a")
    second = ready_campaign(account, name="b", urgent=True)
    env = processes.environment(box.api_base, tmp_path, lease_s=3.0, queue_url=QUEUE_URL)
    procs = [processes.start(["campaign", "work", "--role", "scheduler", "--poll", "0.2"], env) for _ in range(2)]
    procs += [processes.start(["worker", "--workers", "2"], env) for _ in range(3)]
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            statuses = set(Campaign.objects.values_list("status", flat=True))
            if statuses == {Campaign.Status.DONE}:
                break
            for p in procs:
                assert p.poll() is None, p.stderr.read().decode()[-2000:] if p.stderr else ""
            time.sleep(0.3)
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
    box.flush()
    for campaign in (first, second):
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.DONE, campaign.pause_reason
        mine = Counter(
            d["openid"] for d in box.deliveries(kind="mass") if d["key"].startswith(f"fc{campaign.pk}-")
        )
        assert set(mine) == set(services.recipients_of(campaign, sent_only=False))
        assert max(mine.values()) == 1
