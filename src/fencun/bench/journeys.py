"""``fencun bench journeys``: what the journey scheduler costs with many followers inside.

A fresh database (a temporary SQLite data dir, or the database ``DATABASE_URL`` names) gets
one live journey and ``--followers`` entries inside it, bulk inserted; ``--due`` of them
are due now, the rest days later. Then the scheduler's selection of the due followers
(``campaigns.journeys._due``, what every pass of ``send_due_steps`` does per journey) is
timed, and timed again with ten times fewer entrants: the target is a cost that follows
the due steps, not everyone inside (the index on (journey, due_at)). The planning of the
due steps themselves is the planner's, measured by ``fencun bench planner``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from fencun.language import gettext

REPEATS = 7
ROWS_PER_STATEMENT = 5_000


def _entries(journey: Any, start: int, count: int, due: int, now: datetime) -> None:
    """Bulk insert ``count`` entries; the first ``due`` of the whole journey are due now."""
    import numpy as np
    from django.db import connection

    from fencun.bench.dryrun import _db_time, _insert
    from fencun.campaigns.models import JourneyEntry

    # Due a minute ago; the others a month on.
    due_at, later = _db_time(np.array([now.timestamp() - 60, (now + timedelta(days=30)).timestamp()]), connection.vendor)
    cols = ["journey_id", "openid", "version", "step", "due_at", "entered_at", "left_reason"]
    for lo in range(start, start + count, ROWS_PER_STATEMENT):
        hi = min(lo + ROWS_PER_STATEMENT, start + count)
        rows = [
            (journey.pk, f"ob{i:012d}", journey.version, 0, due_at if i < due else later, due_at, "")
            for i in range(lo, hi)
        ]
        _insert(connection.vendor, JourneyEntry._meta.db_table, cols, rows)


def _time_due(journey: Any, now: datetime) -> tuple[float, int]:
    from fencun.campaigns.journeys import _due

    seconds = []
    found = 0
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        found = len(_due(journey, now, set()))
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), found


def run(followers: int, due: int) -> dict[str, Any]:
    if "DATABASE_URL" not in os.environ:
        os.environ["FENCUN_DATA_DIR"] = tempfile.mkdtemp(prefix="fencun-bench-journeys-")
    from fencun.datadir import setup_django

    setup_django()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    from fencun.accounts.models import Account
    from fencun.campaigns.journeys import create_journey, start
    from fencun.catalog.models import Category

    now = datetime.now(UTC).replace(microsecond=0)
    account = Account.objects.create(app_id=f"wxbenchjourney{int(time.time()) % 100000:05d}")
    Category.objects.create(account=account, key="sofa", name="沙发")
    definition = {
        "trigger": {"kind": "subscribe"},
        "steps": [{"send": {"title": "欢迎", "category": "sofa", "products": []}}, {"wait_days": 7},
                  {"send": {"title": "回访", "category": "sofa", "products": []}}],
        "exit": {"on_order": True},
    }
    journey = start(create_journey(account, name="bench", definition=definition))
    smaller = max(due, followers // 10)
    figures: dict[str, Any] = {"followers": followers, "due": due}
    t0 = time.perf_counter()
    with transaction.atomic():
        _entries(journey, 0, smaller, due, now)
    small_seconds, small_found = _time_due(journey, now)
    with transaction.atomic():
        _entries(journey, smaller, followers - smaller, due, now)
    figures["build_seconds"] = round(time.perf_counter() - t0, 2)
    seconds, found = _time_due(journey, now)
    figures.update(
        due_found=found,
        due_seconds=round(seconds, 4),
        smaller_followers=smaller,
        smaller_due_found=small_found,
        smaller_due_seconds=round(small_seconds, 4),
        cost_ratio=round(seconds / small_seconds, 2) if small_seconds else None,
        database=transaction.get_connection().vendor,
        machine=f"{platform.machine()}, {os.cpu_count()} cores",
    )
    return figures


def command(
    followers: int = typer.Option(1_000_000, "--followers", help=gettext("Followers inside the live journey.")),
    due: int = typer.Option(1_000, "--due", help=gettext("Of them, due now.")),
    json_: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Time the journey scheduler's selection of due steps among many entrants."""
    if followers < 1 or not 0 <= due <= followers:
        raise typer.BadParameter(gettext("at least 1 follower, and due between 0 and them"), param_hint="--due")
    figures = run(followers, due)
    if json_:
        typer.echo(json.dumps(figures))
    else:
        for key, value in figures.items():
            typer.echo(f"{key:>20}: {value}")
