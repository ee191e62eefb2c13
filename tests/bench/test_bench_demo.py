"""``fencun bench demo`` times the headless demo in fresh processes and judges the median
against its target."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="the demo always runs on its own SQLite data dir; it runs in the SQLite pass",
)


@pytest.mark.slow(seconds=60)
def test_the_bench_times_each_run_and_reports_the_median():
    env = {k: v for k, v in os.environ.items() if k != "FENCUN_DATA_DIR"}
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "fencun.cli.main", "bench", "demo", "--repeats", "2", "--days", "2",
         "--followers", "300"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert (result["benchmark"], result["days"], result["followers"]) == ("demo", 2, 300)
    assert len(result["seconds"]) == 2 and all(s > 0 for s in result["seconds"])
    assert min(result["seconds"]) <= result["median_seconds"] <= max(result["seconds"])
    assert result["target_seconds"] == 120.0
    assert result["target_met"] == (result["median_seconds"] <= 120.0)
