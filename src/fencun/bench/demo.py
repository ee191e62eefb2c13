"""``fencun bench demo``: how long the README's first command takes, headless.

Runs ``fencun demo --no-serve`` as a user would (a fresh process each time, its own empty
data dir, the embedded database and queue) ``--repeats`` times and reports the wall
seconds of each run and their median, beside the target: the headless month within
``TARGET_SECONDS``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer

from fencun.language import gettext

TARGET_SECONDS = 120.0


def run_once(days: int, followers: int, seed: int) -> float:
    """Wall seconds of one headless demo in a fresh process and data dir."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL", "FENCUN_DATA_DIR")
    }
    with tempfile.TemporaryDirectory(prefix="fencun-bench-demo-") as tmp:
        args = [
            sys.executable,
            "-m",
            "fencun.cli.main",
            "demo",
            "--no-serve",
            "--data-dir",
            str(Path(tmp) / "demo"),
            "--days",
            str(days),
            "--seed",
            str(seed),
        ]
        if followers:
            args += ["--followers", str(followers)]
        started = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our own CLI
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the demo failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def command(
    repeats: int = typer.Option(
        3, "--repeats", min=1, help=gettext("Runs; the median is reported.")
    ),
    days: int = typer.Option(
        30, "--days", min=1, max=90, help=gettext("Simulated days, as `fencun demo --days`.")
    ),
    followers: int = typer.Option(
        0, "--followers", min=0, help=gettext("Starting followers (0: the demo's 25,000).")
    ),
    seed: int = typer.Option(1, "--seed", help=gettext("The demo's seed.")),
) -> None:
    """The headless demo (`fencun demo --no-serve`), timed end to end in fresh processes."""
    runs = [round(run_once(days, followers, seed), 1) for _ in range(repeats)]
    median = statistics.median(runs)
    print(
        json.dumps(
            {
                "benchmark": "demo",
                "days": days,
                "followers": followers or 25_000,
                "seconds": runs,
                "median_seconds": median,
                "target_seconds": TARGET_SECONDS,
                "target_met": median <= TARGET_SECONDS,
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                },
            }
        )
    )
