"""A periodic task's lock cannot outlive a worker killed inside the task: on Redis it
expires, and the embedded queue's one worker clears what it finds when it starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from huey import SqliteHuey
from huey.exceptions import TaskLockedException

QUEUE_URL = os.environ.get("FENCUN_QUEUE_URL", "")


@pytest.mark.skipif(not QUEUE_URL.startswith("redis"), reason="needs Redis: set FENCUN_QUEUE_URL=redis://…")
def test_on_redis_a_held_lock_refuses_a_second_run_and_expires_on_its_own():
    from huey.contrib.djhuey import HUEY

    from fencun.tasklocks import LOCK_TTL_S, lock_task

    lock = lock_task("lock-expiry-check")
    with lock:
        with pytest.raises(TaskLockedException):
            lock_task("lock-expiry-check").acquire()
        ttl = HUEY.storage.conn.ttl(HUEY.storage.result_key(f"{HUEY.name}.lock.lock-expiry-check"))
        assert 0 < ttl <= LOCK_TTL_S  # a holder killed now leaves it for at most that long
    assert not lock.is_locked()


@pytest.mark.slow(seconds=10)
def test_the_embedded_worker_clears_a_lock_left_by_a_killed_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL")}
    env.update(FENCUN_DATA_DIR=str(tmp_path), FENCUN_QUEUE_NAME="locks")
    queue = SqliteHuey("locks", filename=str(tmp_path / "queue.sqlite3"))
    left = queue.lock_task("insights-rollup")
    left.acquire()  # as a worker killed inside the rollup leaves it
    assert left.is_locked()
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", "worker"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while left.is_locked() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        assert not left.is_locked(), "the worker started and left the stale lock set"
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
