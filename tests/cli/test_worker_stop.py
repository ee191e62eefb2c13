"""A worker stopped while it is still starting (Ctrl-C, systemd's SIGINT) stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.slow(seconds=5)
@pytest.mark.parametrize("after_s", [0.3, 1.0])
def test_a_worker_interrupted_while_starting_exits_cleanly(tmp_path, after_s):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL")}
    env.update(FENCUN_DATA_DIR=str(tmp_path), FENCUN_QUEUE_NAME="stopping")
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", "worker"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(after_s)  # Django and the tasks are still loading
    worker.send_signal(signal.SIGINT)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err[-2000:]
    assert "Traceback" not in out + err
