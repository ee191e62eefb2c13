"""The dry-run benchmark builds its history once and times two dry runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_the_dry_run_benchmark_reports_both_runs_and_the_peak():
    # The database of the run (SQLite in a data dir of its own, or DATABASE_URL's).
    env = {k: v for k, v in os.environ.items() if k != "FENCUN_QUEUE_URL"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fencun.cli.main",
            "bench",
            "dry-run",
            "--followers",
            "40",
            "--events",
            "400",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    for key in ("seconds", "seconds_next", "peak_rss_mb", "rebuild_seconds", "build_seconds"):
        assert result[key] > 0, key
    assert result["followers"] == 40 and result["events"] == 400
    assert result["new_events"] >= 1
    # Both plans saw the whole audience: the snapshot held every follower.
    assert result["first"]["audience"] == result["next"]["audience"] == 40
