"""The gateway benchmark runs fencun as ``fencun serve`` does and counts what it stored:
every distinct acknowledged callback in the event log once the inbox is folded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tests.conftest import sqlite_pass_only


@sqlite_pass_only
@pytest.mark.slow(seconds=30)
def test_the_gateway_benchmark_stores_every_acknowledged_callback_once():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL")}
    out = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "bench", "gateway", "--seconds", "2", "--no-compare", "--json"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    fencun = result["fencun"]
    assert fencun["errors"] == 0 and set(fencun["statuses"]) == {"200"}
    assert fencun["events_expected"] > 100
    assert fencun["events_stored"] == fencun["events_expected"]
    assert "fencun_vs_werobot" not in result  # --no-compare
