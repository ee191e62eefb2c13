"""The journeys benchmark finds exactly the due followers among many inside, and times it
at two sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_the_journeys_benchmark_finds_the_due_and_times_two_sizes():
    env = {k: v for k, v in os.environ.items() if k != "FENCUN_QUEUE_URL"}
    out = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "bench", "journeys", "--followers", "3000", "--due", "40", "--json"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["due_found"] == result["smaller_due_found"] == 40
    assert result["smaller_followers"] == 300
    assert result["due_seconds"] > 0 and result["smaller_due_seconds"] > 0


def test_a_bad_size_is_refused_without_a_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "bench", "journeys", "--followers", "10", "--due", "20"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode != 0 and "Traceback" not in out.stderr
