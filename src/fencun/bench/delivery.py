"""``fencun bench delivery``: a service account's campaign planned, written to the outbox
and delivered by worker processes to the sandbox over HTTP; with ``--channel wecom``, a
WeCom campaign to the corp's customers delivered to the WeCom sandbox as mass tasks of
10,000 customers each.

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

from fencun.language import gettext

# The Django apps are imported inside the functions: the benchmark sets Django up first,
# on a data dir and settings of its own.


def _wechat_record(box, campaign) -> tuple[Counter[str], int]:
    """Recipients of ``campaign`` in the sandbox's delivery record, and the busiest
    minute's mass API calls."""
    box.flush(timeout=600)
    prefix = f"fc{campaign.pk}-"
    counts = Counter(
        d["openid"] for d in box.deliveries(kind="mass") if d["key"].startswith(prefix)
    )
    with box.platform.lock:
        per_minute = [
            n
            for (path, _), n in box.platform.minute_calls.items()
            if path.startswith("/cgi-bin/message/mass/")
        ]
    return counts, max(per_minute, default=0)


def _wecom_record(box, campaign) -> tuple[Counter[str], int]:
    """Customers (as person keys) named by the mass tasks of ``campaign`` in the WeCom
    sandbox, and the mass tasks created."""
    from fencun.campaigns.models import OutboxItem
    from fencun.channels.wecom.people import PREFIX

    ours = set(OutboxItem.objects.filter(campaign=campaign).values_list("task_id", flat=True))
    with box.platform.lock:
        tasks = [t for msgid, t in box.platform.mass.items() if msgid in ours]
        counts = Counter(PREFIX + ext for t in tasks for ids in t.targets.values() for ext in ids)
    return counts, len(tasks)


def _run(
    box, account, workers: int, env: dict[str, str], name: str, channel: str
) -> dict[str, Any]:
    from fencun.campaigns import delivery, planning, services
    from fencun.campaigns.models import Campaign
    from fencun.catalog.models import Category

    campaign = services.create_campaign(
        account,
        name=name,
        category=Category.objects.get(account=account, key="sofa"),
        body="新款布艺沙发到店，欢迎来看看。",
        title=name,
        channel="wecom" if channel == "wecom" else "mass",
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
            [
                sys.executable,
                "-m",
                "fencun.cli.main",
                "campaign",
                "work",
                "--role",
                "sender",
                "--until-idle",
                "--poll",
                "0.2",
            ],
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
    wecom = channel == "wecom"
    counts, calls = (_wecom_record if wecom else _wechat_record)(box, campaign)
    planned = services.recipients_of(campaign, sent_only=False)
    campaign.refresh_from_db()
    return {
        "workers": workers,
        "recipients": len(planned),
        "outbox_rows": rows,
        "plan_s": round(t1 - t0, 3),
        "enqueue_s": round(t2 - t1, 3),
        "deliver_s": round(t3 - t2, 3),
        "sends_per_s": round(len(planned) / (t3 - t2), 1) if t3 > t2 else None,
        ("wecom_mass_tasks" if wecom else "max_mass_calls_per_minute"): calls,
        "duplicates": sum(v - 1 for v in counts.values() if v > 1),
        "losses": len(set(planned) - set(counts)),
        "status": campaign.status,
        "done": campaign.status == Campaign.Status.DONE,
    }


def _seed_contacts(account, wbox) -> None:
    """The WeCom sandbox's corp and its customers in the database, as a finished contact
    sync leaves them (the sync itself is measured by ``fencun bench sync``)."""
    from fencun.channels.models import ExternalContact, WecomCorp

    cfg = wbox.config
    corp = WecomCorp.objects.create(
        account=account,
        corp_id=cfg.corp_id,
        secret=cfg.secret,
        token=cfg.token,
        aes_key=cfg.aes_key,
    )
    with wbox.platform.lock:
        described = [
            (c.external_userid, c.unionid, sorted(c.follows))
            for c in wbox.platform.contacts.values()
        ]
    ExternalContact.objects.bulk_create(
        [
            ExternalContact(
                corp=corp,
                external_userid=ext,
                unionid=unionid,
                follow_users=[{"userid": u} for u in follows],
            )
            for ext, unionid, follows in described
        ],
        batch_size=5000,
    )


def _a_day_later(account) -> None:
    """Move the previous runs' WeCom sends back a day: WeCom lets a customer receive one
    mass message a day, so the next run would (rightly) be held back entirely."""
    from datetime import timedelta

    from django.db.models import F

    from fencun.campaigns.models import OutboxItem
    from fencun.channels.models import WecomDispatch

    day = timedelta(days=1)
    OutboxItem.objects.filter(campaign__account=account).update(sent_at=F("sent_at") - day)
    WecomDispatch.objects.filter(corp__account=account).update(
        day=F("day") - day, created_at=F("created_at") - day
    )


def command(
    followers: int = typer.Option(
        1_000_000, "--followers", help=gettext("Followers of the service account.")
    ),
    workers: str = typer.Option(
        "1,3", "--workers", help=gettext("Worker process counts, comma-separated.")
    ),
    latency_ms: float = typer.Option(
        20.0, "--latency-ms", help=gettext("Sandbox latency per API call.")
    ),
    channel: str = typer.Option(
        "wechat",
        "--channel",
        help=gettext(
            "wechat (a service account's openid lists) or wecom (mass messages to customers)."
        ),
    ),
    as_json: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Delivery: plan, enqueue and deliver a campaign to the sandbox; sends/s, duplicates, losses."""
    counts = [int(w) for w in workers.split(",") if w.strip()]
    if not counts or min(counts) < 1 or followers < 2:
        raise typer.BadParameter(gettext("--workers: positive counts; --followers: at least 2"))
    if channel not in ("wechat", "wecom"):
        raise typer.BadParameter(gettext("--channel: wechat or wecom"))
    data_dir = Path(tempfile.mkdtemp(prefix="fencun-bench-delivery-"))
    os.environ["FENCUN_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)  # never the configured database
    os.environ.pop("FENCUN_QUEUE_URL", None)
    from fencun.datadir import setup_django

    setup_django()
    from django.core.management import call_command

    from fencun.campaigns.seeding import seed_account
    from fencun.sandbox.server import Sandbox
    from fencun.sandbox.wecom import WeComSandbox

    call_command("migrate", verbosity=0)
    wecom = channel == "wecom"
    # On WeCom the account has two followers (its audience is the corp's customers).
    box = Sandbox(
        account_type="service",
        followers=2 if wecom else followers,
        latency_ms=latency_ms,
        retry_too_fast_seconds=0,
    ).start()
    wbox = WeComSandbox(contacts=followers).start() if wecom else None
    try:
        t = time.perf_counter()
        account = seed_account(box)
        env = dict(os.environ, WECHAT_API_BASE=box.api_base)
        if wbox is not None:
            _seed_contacts(account, wbox)
            env["WECOM_API_BASE"] = wbox.api_base
        seed_s = time.perf_counter() - t
        runs = []
        for i, w in enumerate(counts):
            if wecom and i:
                _a_day_later(account)
            runs.append(_run(wbox or box, account, w, env, f"bench-{i}", channel))
    finally:
        box.stop()
        if wbox is not None:
            wbox.stop()
    from fencun.engine.limits import load_platform_limits

    result = {
        "benchmark": "delivery",
        "channel": channel,
        ("customers" if wecom else "followers"): followers,
        "sandbox_latency_ms": latency_ms,
        "seed_s": round(seed_s, 2),
        **(
            {}
            if wecom
            else {
                "platform_mass_calls_per_minute": load_platform_limits(
                    "service"
                ).mass_api_requests_per_minute
            }
        ),
        "runs": runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "db": "sqlite"},
    }
    typer.echo(json.dumps(result, ensure_ascii=False, indent=None if as_json else 2))
