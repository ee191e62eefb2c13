"""``fencun bench insights``: the overview and a campaign report on a large event log.

A fresh database (a temporary SQLite data dir, or a new PostgreSQL database next to the
one ``DATABASE_URL`` names) is filled with N synthetic events of a plausible mix --
deliveries of 60 campaigns with holdouts and two variants, reads, clicks, orders,
(un)follows and chatter -- by bulk insert (``executemany`` on SQLite, ``COPY`` on
PostgreSQL). The rollups are then built by the same :func:`fencun.insights.rollups.run`
the periodic task calls, and the service calls are timed (and the console pages, when
the console has them), each in a child process so nothing is shared between databases.
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
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import typer

from fencun.language import gettext

# The Django apps are imported inside the functions: the benchmark sets Django up first,
# on a data dir and settings of its own.

CAMPAIGNS = 60
CHUNK = 200_000
APP_ID = "wxbenchinsights0001"
# Shares of the event log by kind; the rest is chatter (text and location reports).
MIX = {
    "delivery": 0.45,
    "holdout": 0.05,
    "read": 0.12,
    "link_click": 0.05,
    "order": 0.01,
    "subscribe": 0.03,
    "unsubscribe": 0.015,
}
COLUMNS = (
    "account_id",
    "follower_id",
    "openid",
    "kind",
    "occurred_at",
    "received_at",
    "payload",
    "source",
    "dedup_key",
)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def _timed(fn: Any, repeats: int) -> dict[str, float]:
    fn()  # warm the connection and caches once, as a page served twice would be
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(_percentile(samples, 99), 2),
        "max_ms": round(max(samples), 2),
        "samples": repeats,
    }


def _generate(n_events: int, n_followers: int, follower_ids: list[int], account_id: int, seed: int):
    """Yield chunks of rows (tuples in COLUMNS order)."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=CAMPAIGNS + 5)
    received = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    kinds = list(MIX) + ["text", "location"]
    rest = 1.0 - sum(MIX.values())
    probs = list(MIX.values()) + [rest * 0.7, rest * 0.3]
    serial = 0
    done = 0
    start64 = np.datetime64(start.replace(tzinfo=None), "us")
    openids = [f"o{f:027d}" for f in range(n_followers)]
    while done < n_events:
        n = min(CHUNK, n_events - done)
        kind_idx = rng.choice(len(kinds), size=n, p=probs)
        follower = rng.integers(0, n_followers, size=n)
        campaign = rng.integers(1, CAMPAIGNS + 1, size=n)
        # Campaign c goes out on day c; outcomes follow within days, chatter is anywhere.
        hours = (campaign - 1) * 24.0 + 10 + rng.exponential(18.0, size=n)
        chatter = rng.uniform(0, (CAMPAIGNS + 4) * 24.0, size=n)
        amount = np.round(rng.gamma(2.0, 600.0, size=n), 2)
        variant = rng.integers(0, 2, size=n)
        hours_at = np.where(
            np.isin(kind_idx, [0, 1]),
            (campaign - 1) * 24.0 + 10,
            np.where(np.isin(kind_idx, [2, 3, 4]), hours, chatter),
        )
        stamps = start64 + (hours_at * 3_600_000_000).astype("timedelta64[us]")
        texts = np.char.replace(np.datetime_as_string(stamps, unit="us"), "T", " ").tolist()
        # (account, follower id or None for a receipt, openid, kind, at, received, payload, source, key)
        rows: list[tuple[int, int | None, str, str, str, str, str, str, str]] = []
        for i in range(n):
            kind = kinds[kind_idx[i]]
            f = int(follower[i])
            c = int(campaign[i])
            if kind == "delivery":
                payload = f'{{"campaign": {c}, "variant": "{"AB"[variant[i]]}", "msg_id": "{10_000 + c}"}}'
            elif kind in ("holdout", "read"):
                payload = f'{{"campaign": {c}}}'
            elif kind == "link_click":
                payload = f'{{"campaign": {c}, "product": "p{f % 40}"}}'
            elif kind == "order":
                campaign_text = c if variant[i] else "null"
                payload = f'{{"campaign": {campaign_text}, "amount": {amount[i]:.2f}, "product": "p{f % 40}"}}'
            elif kind == "location":
                payload = '{"lat": 23.1, "lng": 114.4}'
            else:
                payload = "{}"
            rows.append(
                (
                    account_id,
                    follower_ids[f],
                    openids[f],
                    kind,
                    texts[i],
                    received,
                    payload,
                    "bench",
                    f"b{serial}",
                )
            )
            serial += 1
        if done == 0:  # each campaign's mass-send receipt
            for c in range(1, CAMPAIGNS + 1):
                at = (start + timedelta(hours=(c - 1) * 24.0 + 10.5)).strftime(
                    "%Y-%m-%d %H:%M:%S.%f"
                )
                payload = json.dumps(
                    {
                        "msg_id": str(10_000 + c),
                        "status": "send success",
                        "raw": {"SentCount": str(int(n_events * MIX["delivery"] / CAMPAIGNS))},
                    }
                )
                rows.append(
                    (
                        account_id,
                        None,
                        "",
                        "masssendjobfinish",
                        at,
                        received,
                        payload,
                        "bench",
                        f"r{c}",
                    )
                )
        done += n
        yield rows


def _fill(n_events: int, seed: int) -> dict[str, Any]:
    from django.db import connection, transaction

    from fencun.accounts.models import Account
    from fencun.audience.models import Follower
    from fencun.campaigns.models import Campaign
    from fencun.catalog.models import Category

    account = Account.objects.create(app_id=APP_ID, token="bench", is_default=True)  # noqa: S106 - a throwaway database
    # The campaigns the events name (ids 1..CAMPAIGNS in a fresh database), so that their
    # report pages render as the merchant sees them.
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    made = Campaign.objects.bulk_create(
        [
            Campaign(
                account=account,
                name=f"活动 {n}",
                category=sofa,
                title=f"活动 {n}",
                status=Campaign.Status.DONE,
            )
            for n in range(1, CAMPAIGNS + 1)
        ]
    )
    if [c.pk for c in made] != list(range(1, CAMPAIGNS + 1)):
        raise RuntimeError("the benchmark needs a fresh database (campaign ids 1..N)")
    n_followers = max(1000, n_events // 40)
    rng = np.random.default_rng(seed)
    subscribed = rng.random(n_followers) < 0.9
    t0 = time.perf_counter()
    followers = Follower.objects.bulk_create(
        [
            Follower(account=account, openid=f"o{i:027d}", subscribed=bool(subscribed[i]))
            for i in range(n_followers)
        ],
        batch_size=5000,
    )
    ids = [f.pk for f in followers]
    qn = connection.ops.quote_name
    table = qn("audience_event")
    cols = ", ".join(qn(c) for c in COLUMNS)
    inserted = 0
    for rows in _generate(n_events, n_followers, ids, account.pk, seed):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with (
                    connection.cursor() as cursor,
                    cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(
                            (
                                row[0],
                                row[1],
                                row[2],
                                row[3],
                                row[4] + "+00",
                                row[5] + "+00",
                                row[6],
                                row[7],
                                row[8],
                            )
                        )
            else:
                placeholders = ", ".join("?" * len(COLUMNS))
                connection.connection.executemany(
                    f"INSERT INTO {table} ({cols}) VALUES ({placeholders})",  # noqa: S608
                    rows,
                )
        inserted += len(rows)
        print(f"inserted {inserted}", file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "account_id": account.pk,
        "followers": n_followers,
        "events": inserted,
        "fill_seconds": round(time.perf_counter() - t0, 1),
    }


def _page_urls() -> list[tuple[str, str]]:
    """The console's overview and campaign-report pages, if the console has them."""
    from django.urls import NoReverseMatch, reverse

    found = []
    for label, names, args in (
        ("overview", ("console:overview", "console-overview"), []),
        (
            "campaign_report",
            ("console:campaign-report", "console:campaign_report", "console-campaign-report"),
            [1],
        ),
    ):
        for name in names:
            try:
                found.append((label, reverse(name, args=args)))
                break
            except NoReverseMatch:
                continue
    return found


def _existing() -> dict[str, Any]:
    """What an earlier run of this benchmark left in the configured database."""
    from fencun.accounts.models import Account
    from fencun.audience.models import Event, Follower

    account = Account.objects.filter(app_id=APP_ID).first()
    if account is None:
        raise RuntimeError("--existing: this database was not filled by `fencun bench insights`")
    return {
        "account_id": account.pk,
        "followers": Follower.objects.filter(account=account).count(),
        "events": Event.objects.filter(account=account).count(),
        "fill_seconds": None,
        "reused": True,
    }


def child(n_events: int, repeats: int, seed: int, existing: bool = False) -> dict[str, Any]:
    from fencun.datadir import setup_django

    setup_django()
    from django.db import connection

    from fencun.accounts.models import Account
    from fencun.insights import rollups, services

    fill = _existing() if existing else _fill(n_events, seed)
    t0 = time.perf_counter()
    # Reusing a database, this only finishes a build an earlier run left unfinished.
    folded = rollups.run(batch_size=100_000, lag=0)
    rollup_seconds = time.perf_counter() - t0
    # The periodic task's steady state: a minute's worth of new events after a full build.
    account = Account.objects.get(pk=fill["account_id"])
    rng = np.random.default_rng(seed + 1)
    result: dict[str, Any] = {
        "database": connection.vendor,
        **fill,
        "rollup_seconds": round(rollup_seconds, 1),
        "rollup_events_per_second": round(folded / rollup_seconds) if rollup_seconds else None,
        "service": {
            "overview": _timed(lambda: services.overview(account, days=30), repeats),
            "campaign_report": _timed(
                lambda: services.campaign_report(int(rng.integers(1, CAMPAIGNS + 1))), repeats
            ),
        },
    }
    pages = _page_urls()
    if pages:
        from django.contrib.auth import get_user_model
        from django.test import Client

        user = get_user_model().objects.create_superuser(
            "bench", "bench@example.com", "bench-password-1"
        )
        client = Client()
        client.force_login(user)
        result["page"] = {}
        for label, url in pages:
            status = client.get(url).status_code
            if status != 200:
                raise RuntimeError(f"{url} answered {status}: nothing worth timing")
            result["page"][label] = {
                "url": url,
                "status": status,
                **_timed(lambda url=url: client.get(url), repeats),
            }
    else:
        result["page"] = "the console has no overview/report page yet"
    report = services.campaign_report(1)
    result["sample_report"] = {
        "sent": report.sent,
        "delivered": report.delivered,
        "read": report.read,
        "clicked": report.clicked,
        "ordered": report.ordered,
        "revenue": report.revenue,
        "holdout": report.holdout,
        "lift_conversion_ci": report.lift.conversion_ci if report.lift else None,
    }
    return result


def _postgres_url(base: str) -> str:
    """A fresh database beside the one ``base`` names, for the benchmark only."""
    import psycopg
    from psycopg import sql

    name = "fencun_bench_insights"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    head, _, _tail = base.rpartition("/")
    return f"{head}/{name}"


def run_one(
    database: str, n_events: int, repeats: int, seed: int, existing: str = ""
) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("FENCUN_QUEUE_URL", None)
    if existing:
        # Time again what an earlier run filled: its data dir (SQLite) or database URL.
        if existing.startswith("postgresql://"):
            env["DATABASE_URL"] = existing
            env["FENCUN_DATA_DIR"] = tempfile.mkdtemp(prefix="fencun-bench-insights-")
        else:
            env.pop("DATABASE_URL", None)
            env["FENCUN_DATA_DIR"] = existing
        out = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "fencun.bench.insights",
                str(n_events),
                str(repeats),
                str(seed),
                "existing",
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    data_dir = tempfile.mkdtemp(prefix="fencun-bench-insights-")
    env["FENCUN_DATA_DIR"] = data_dir
    if database == "postgresql":
        base = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
        env["DATABASE_URL"] = _postgres_url(base)
    else:
        env.pop("DATABASE_URL", None)
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "fencun.bench.insights", str(n_events), str(repeats), str(seed)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def command(
    events: int = typer.Option(
        10_000_000, "--events", help=gettext("Events in the synthetic log.")
    ),
    database: str = typer.Option(
        "both", "--database", help=gettext("The database: sqlite, postgresql or both.")
    ),
    repeats: int = typer.Option(
        200, "--repeats", help=gettext("Timed calls of each measured function.")
    ),
    seed: int = typer.Option(0, "--seed"),
    existing: str = typer.Option(
        "",
        "--existing",
        help=gettext(
            "Time again a database an earlier run filled: its data dir, or a postgresql:// URL."
        ),
    ),
    as_json: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """p50/p99 of the overview and a campaign report on a large event log."""
    if database not in ("sqlite", "postgresql", "both"):
        raise typer.BadParameter(gettext("sqlite, postgresql or both"), param_hint="--database")
    if events < 1000:
        raise typer.BadParameter(gettext("at least 1000"), param_hint="--events")
    targets = (
        ["existing"] if existing else ["sqlite", "postgresql"] if database == "both" else [database]
    )
    result: dict[str, Any] = {
        "benchmark": "insights",
        "events": events,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "runs": [run_one(t, events, repeats, seed, existing) for t in targets],
    }
    typer.echo(json.dumps(result, ensure_ascii=False, indent=None if as_json else 2))


if __name__ == "__main__":
    n, reps, s = (int(a) for a in sys.argv[1:4])
    print(json.dumps(child(n, reps, s, existing=sys.argv[4:5] == ["existing"]), default=str))
