"""``fencun bench sync``: a full follower sync from the sandbox into a fresh database.

The sandbox runs in-process (pages of 10,000, info batches of 100, ``--latency-ms`` per
API call); the database is a new SQLite file in a temporary data directory unless
``DATABASE_URL`` is set. Prints followers/s, wall time, API calls and peak RSS (the
process holds both the sandbox and the sync, so the memory figure is an upper bound).

The floor is the time the platform's own page sizes and the sandbox's latency allow: every
call but ``batchget`` one after another (the list pages chain, each starting at the last
page's ``next_openid``), ``batchget`` calls ``--workers`` at a time. ``vs_floor`` is how
many times the floor the sync took.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
import time

import typer

from fencun.language import gettext

# The Django apps are imported inside the functions: the benchmark sets Django up first,
# on a data dir and settings of its own.


def command(
    followers: int = typer.Option(
        1_000_000, "--followers", help=gettext("Followers in the sandbox.")
    ),
    latency_ms: float = typer.Option(
        20.0, "--latency-ms", help=gettext("Sandbox latency per API call.")
    ),
    workers: int = typer.Option(8, "--workers", help=gettext("batchget calls in flight at once.")),
    as_json: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Followers/s and peak memory of a full ``fencun sync`` against the sandbox."""
    if followers < 1:
        raise typer.BadParameter(gettext("at least 1"), param_hint="--followers")
    if not os.environ.get("DATABASE_URL"):
        os.environ["FENCUN_DATA_DIR"] = tempfile.mkdtemp(prefix="fencun-bench-sync-")
    from fencun.datadir import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from fencun.accounts.models import Account
    from fencun.audience.sync import sync_followers
    from fencun.channels.services import wechat_client
    from fencun.channels.wechat.tokens import MemoryTokenStore
    from fencun.sandbox.server import Sandbox

    with Sandbox(followers=followers, latency_ms=latency_ms) as box:
        account, _ = Account.objects.update_or_create(
            app_id=box.config.app_id,
            defaults={"app_secret": box.config.app_secret, "token": box.config.token},
        )
        with wechat_client(
            account, api_base=box.api_base, token_store=MemoryTokenStore()
        ) as client:
            started = time.perf_counter()
            result = sync_followers(account, client, restart=True, workers=workers)
            seconds = time.perf_counter() - started
        calls = box.state()["calls"]
    calls = {k.rsplit("/cgi-bin/", 1)[-1]: v for k, v in calls.items()}
    floor = floor_seconds(calls, latency_ms, workers)
    figures = {
        "benchmark": "sync",
        "followers": result.followers,
        "events_recorded": result.recorded,
        "seconds": round(seconds, 2),
        "followers_per_second": round(result.followers / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "latency_ms": latency_ms,
        "calls": calls,
        "floor_seconds": round(floor, 2),
        "vs_floor": round(seconds / floor, 1) if floor else None,
        "database": "postgresql" if os.environ.get("DATABASE_URL") else "sqlite",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    typer.echo(json.dumps(figures, ensure_ascii=False, indent=None if as_json else 2))


def floor_seconds(calls: dict[str, int], latency_ms: float, workers: int) -> float:
    """The least time ``calls`` (path -> count) can take at ``latency_ms`` each, with
    ``batchget`` calls ``workers`` at a time and every other call in sequence."""
    batch = sum(n for path, n in calls.items() if path.endswith("info/batchget"))
    rest = sum(calls.values()) - batch
    return (rest + -(-batch // max(workers, 1))) * latency_ms / 1000
