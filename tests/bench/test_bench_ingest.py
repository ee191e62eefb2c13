"""The ingest benchmark takes signed callbacks in through the WSGI application and
stores each distinct one exactly once (repeats de-duplicated)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import sqlite_pass_only


@sqlite_pass_only
def test_the_ingest_benchmark_stores_every_distinct_callback_once():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL")}
    out = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "bench", "ingest", "--callbacks", "600", "--threads", "8", "--json"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["statuses"] == {"200": 600}
    # The traffic repeats about one callback in ten, as WeChat's retries do.
    assert 480 < result["events_expected"] < 600
    assert result["events_stored"] == result["events_expected"]
