"""SIGKILL ``fencun sync`` at random points of a full follower sync, many times over, then
let a last run finish: every follower's profile is in the event log exactly once (none
lost, none twice), the followers are all there, and the sync is finished."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from tests import figures
from tests.conftest import sized
from tests.delivery.processes import database_url

from fencun.audience.models import Event, Follower
from fencun.channels.models import FollowerSync

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fuzz,
              pytest.mark.slow(seconds=sized(150, 40))]

FOLLOWERS = sized(30_000, 4_500)
KILLS = sized(20, 3)
PAGE = 500


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", "sync"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _profiles() -> int:
    return Event.objects.filter(kind="profile", source="sync").count()


def test_a_killed_sync_resumes_and_records_every_follower_exactly_once(make_sandbox, tmp_path):
    # Each API call takes a little while, so that a sync is still running when it is killed.
    box = make_sandbox(followers=FOLLOWERS, user_page_size=PAGE, latency_ms=30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WECHAT_")}
    env.update(
        DATABASE_URL=database_url(),
        FENCUN_DATA_DIR=str(tmp_path),
        WECHAT_APP_ID=box.config.app_id,
        WECHAT_APP_SECRET=box.config.app_secret,
        WECHAT_TOKEN=box.config.token,
        WECHAT_AES_KEY=box.config.aes_key,
        WECHAT_API_BASE=box.api_base,
    )
    rng = random.Random(11)
    at_kill = []
    for _ in range(KILLS):
        before = _profiles()
        sync = _start(env)
        # Once this run has written something of its own, kill it somewhere in what follows.
        deadline = time.monotonic() + 60
        while _profiles() == before and sync.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if sync.poll() is None:
            sync.send_signal(signal.SIGKILL)
        sync.wait(10)
        assert sync.returncode == -signal.SIGKILL, sync.stderr.read() if sync.stderr else ""
        at_kill.append(_profiles())
    final = _start(env)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err[-2000:]

    assert all(0 < n < FOLLOWERS for n in at_kill), at_kill  # every kill landed mid-sync
    assert "续传" in out  # the last run took up where the killed one stopped
    population = box.platform.population
    platform = {population.openid_of(i) for i in range(FOLLOWERS)}
    assert len(platform) == FOLLOWERS
    stored = Counter(Event.objects.filter(kind="profile", source="sync").values_list("openid", flat=True))
    lost = len(platform - set(stored))
    twice = sum(1 for n in stored.values() if n > 1)
    figures.record("sync-kill", followers=FOLLOWERS, kills=KILLS, lost=lost, duplicated=twice,
                   user_get_calls=box.state()["calls"]["/cgi-bin/user/get"])
    assert lost == 0, f"{lost} followers lost"
    assert twice == 0, f"{twice} followers recorded twice"
    assert Follower.objects.filter(subscribed=True).count() == FOLLOWERS
    assert not FollowerSync.objects.get().in_progress
