"""The delivery benchmark runs end to end on both channels, small, in its own process
(it makes its own data directory and sandboxes), and finds every recipient exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tests.conftest import sqlite_pass_only


@sqlite_pass_only
@pytest.mark.slow
@pytest.mark.parametrize("channel", ["wechat", "wecom"])
def test_the_delivery_benchmark_delivers_everyone_once(channel, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL")}
    env["FENCUN_DATA_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "bench", "delivery", "--followers", "300",
         "--workers", "1,2", "--latency-ms", "0", "--channel", channel, "--json"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["channel"] == channel and len(result["runs"]) == 2
    for run in result["runs"]:
        assert run["done"] and run["recipients"] == 300
        assert (run["duplicates"], run["losses"]) == (0, 0)
