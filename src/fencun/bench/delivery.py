"""``fencun bench delivery``: a service account's campaign planned, written to the outbox
and delivered by worker processes to the sandbox over HTTP.

It runs on a fresh SQLite database in a temporary data directory (never the configured
one). For each worker count: seconds to plan (the dry-run over the whole account), to
enqueue (the approval writing the outbox), to deliver (until every row is sent);
recipients per second; mass API calls in the busiest minute against the platform's
limit; duplicates and losses read from the sandbox's delivery record (both must be 0).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import typer


def _run(box, account, workers: int, env: dict[str, str], name: str) -> dict[str, Any]:
    from fencun.campaigns import delivery, planning, services
    from fencun.campaigns.models import Campaign
    from fencun.catalog.models import Category

    campaign = services.create_campaign(
        account,
        name=name,
        category=Category.objects.get(account=account, key="sofa"),
        body="新款布艺沙发到店，欢迎来看看。",
        title=name,
    )
    services.lint_campaign(campaign, acknowledge_warnings=True)
    t0 = time.perf_counter()
    planning.dry_run(campaign, policy="blast")
    t1 = time.perf_counter()
    rows = planning.approve(campaign, by="bench", scheduled_for=None)
    services.schedule(campaign)
    t2 = time.perf_counter()
    delivery.run_scheduler("bench")
    # Migrate here, once: worker processes started together would race to migrate.
    from fencun.datadir import ensure_migrated

    ensure_migrated()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fencun.cli.main", "campaign", "work", "--role", "sender",
             "--until-idle", "--poll", "0.2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise RuntimeError(err.decode()[-2000:])
    t3 = time.perf_counter()
    box.flush(timeout=600)
    prefix = f"fc{campaign.pk}-"
    counts = Counter(d["openid"] for d in box.deliveries(kind="mass") if d["key"].startswith(prefix))
    planned = services.recipients_of(campaign, sent_only=False)
    campaign.refresh_from_db()
    with box.platform.lock:
        per_minute = [
            n for (path, _), n in box.platform.minute_calls.items() if path.startswith("/cgi-bin/message/mass/")
        ]
    return {
        "workers": workers,
        "recipients": len(planned),
        "outbox_rows": rows,
        "plan_s": round(t1 - t0, 3),
        "enqueue_s": round(t2 - t1, 3),
        "deliver_s": round(t3 - t2, 3),
        "sends_per_s": round(len(planned) / (t3 - t2), 1) if t3 > t2 else None,
        "max_mass_calls_per_minute": max(per_minute, default=0),
        "duplicates": sum(v - 1 for v in counts.values() if v > 1),
        "losses": len(set(planned) - set(counts)),
        "status": campaign.status,
        "done": campaign.status == Campaign.Status.DONE,
    }


def command(
    followers: int = typer.Option(1_000_000, "--followers", help="Followers of the service account."),
    workers: str = typer.Option("1,3", "--workers", help="Worker process counts, comma-separated."),
    latency_ms: float = typer.Option(20.0, "--latency-ms", help="Sandbox latency per API call."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Delivery: plan, enqueue and deliver a campaign to the sandbox; sends/s, duplicates, losses."""
    counts = [int(w) for w in workers.split(",") if w.strip()]
    if not counts or min(counts) < 1 or followers < 2:
        raise typer.BadParameter("--workers: positive counts; --followers: at least 2")
    data_dir = Path(tempfile.mkdtemp(prefix="fencun-bench-delivery-"))
    os.environ["FENCUN_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)  # never the configured database
    os.environ.pop("FENCUN_QUEUE_URL", None)
    from fencun.datadir import setup_django

    setup_django()
    from django.core.management import call_command

    from fencun.campaigns.seeding import seed_account
    from fencun.sandbox.server import Sandbox

    call_command("migrate", verbosity=0)
    box = Sandbox(
        account_type="service", followers=followers, latency_ms=latency_ms, retry_too_fast_seconds=0
    ).start()
    try:
        t = time.perf_counter()
        account = seed_account(box)
        seed_s = time.perf_counter() - t
        env = dict(os.environ, WECHAT_API_BASE=box.api_base)
        runs = [_run(box, account, w, env, f"bench-{i}") for i, w in enumerate(counts)]
    finally:
        box.stop()
    from fencun.engine.limits import load_platform_limits

    result = {
        "benchmark": "delivery",
        "followers": followers,
        "sandbox_latency_ms": latency_ms,
        "seed_s": round(seed_s, 2),
        "platform_mass_calls_per_minute": load_platform_limits("service").mass_api_requests_per_minute,
        "runs": runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "db": "sqlite"},
    }
    typer.echo(json.dumps(result, ensure_ascii=False, indent=None if as_json else 2))
