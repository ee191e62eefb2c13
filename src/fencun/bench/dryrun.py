"""``fencun bench dry-run``: a campaign's dry run end to end over a long event log.

Builds, once, an account with ``--followers`` followers, ``--events`` events in the log
over a year (subscriptions, texts, menu clicks, page views, locations, reads, link
clicks, orders, unsubscriptions) and a few campaigns sent during that year, all bulk
inserted; then brings the follower-state snapshot up to date the way the first plan
after an upgrade does (``rebuild_seconds``). Then it times a dry run as ``fencun campaign
plan ID`` does one, in a fresh process, from the command to the stored plan (Django
set-up, the state from the snapshot, the plan with its dial table, the summary):
``seconds``. It adds a day of new events and times the next dry run the same way:
``seconds_next``. ``peak_rss_mb`` is the larger of the two dry-run processes' peaks.

The database is a new SQLite file in a temporary data directory unless ``DATABASE_URL``
is set (then a new account in that database); the snapshot files go to the temporary
data directory either way.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import typer

from fencun.language import gettext

# The Django apps are imported inside the functions: the benchmark sets Django up first,
# on a data dir and settings of its own.

HISTORY_DAYS = 365
CATEGORIES = [
    ("sofa", "沙发", ["布艺", "皮沙发"]),
    ("bed", "床", ["床架"]),
    ("mattress", "床垫", ["乳胶"]),
    ("dining", "餐桌", ["餐椅"]),
    ("wardrobe", "衣柜", ["柜子"]),
    ("decor", "软装", ["窗帘", "地毯"]),
]
STORES = [(23.111, 114.416), (23.085, 114.380), (23.020, 114.470)]
TEXTS = [
    "布艺沙发多少钱",
    "床垫有现货吗",
    "餐桌尺寸",
    "衣柜能定制吗",
    "窗帘颜色",
    "你好",
    "地址在哪",
    "营业时间",
]
KEYS = ["sofa", "bed", "mattress", "dining", "wardrobe", "decor", "menu_about", "menu_store"]
# Kinds of the events after each follower's subscription, and their shares.
KINDS = ["text", "click", "view", "location", "read", "link_click", "order", "scan", "unsubscribe"]
SHARES = [0.18, 0.24, 0.16, 0.10, 0.16, 0.05, 0.05, 0.05, 0.01]
HISTORY_CAMPAIGNS = 3  # sent during the year, to a fifth of the followers each
ROWS_PER_STATEMENT = 20_000


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def _db_time(ts: np.ndarray, vendor: str) -> list[str]:
    """Epoch seconds as the database's datetime text (SQLite: Django's naive UTC text)."""
    text = np.datetime_as_string((ts * 1e6).astype("datetime64[us]"), unit="us")
    if vendor == "sqlite":
        return [t.replace("T", " ") for t in text.tolist()]
    return [t + "+00" for t in text.tolist()]


def _insert(vendor: str, table: str, columns: list[str], rows: list[tuple]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            names = ", ".join(columns)
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            # Table and column names are the models' own, never input.
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(sql, rows)


class History:
    """The synthetic account and its log; ``rng`` drives every draw."""

    def __init__(self, followers: int, events: int, seed: int) -> None:
        from django.db import connection

        self.n, self.m = followers, events
        self.rng = np.random.default_rng(seed)
        self.vendor = connection.vendor
        self.now = datetime.now(UTC).replace(microsecond=0)
        # The year ends a day ago; the new day's events are the last 24 hours.
        self.start = self.now.timestamp() - (HISTORY_DAYS + 1) * 86400
        self.seq = 0  # dedup keys

    def build(self, progress: Any) -> None:
        from fencun.accounts.models import Account
        from fencun.audience.models import Store
        from fencun.bench.planner import synthetic_openids
        from fencun.catalog.models import Category, Product

        tag = f"{int(time.time())}{self.rng.integers(1 << 30)}"
        self.account = Account.objects.create(
            name="bench dry-run",
            app_id=f"wxbench{tag}"[:32],
            app_secret="bench",  # noqa: S106 - a benchmark account, never used against WeChat
            token="bench",  # noqa: S106
            account_type="service",
        )
        self.categories = {
            key: Category.objects.create(account=self.account, key=key, name=name, keywords=kw)
            for key, name, kw in CATEGORIES
        }
        self.products = []
        for key, category in self.categories.items():
            for k in range(3):
                self.products.append(
                    Product.objects.create(
                        account=self.account,
                        category=category,
                        sku=f"{key}-{k}",
                        name=f"{category.name}{k}",
                        price=float(self.rng.choice([299, 999, 2999, 6999])),
                    )
                )
        for k, (lat, lng) in enumerate(STORES):
            Store.objects.create(account=self.account, name=f"门店{k}", lat=lat, lng=lng)
        self.openids = synthetic_openids(self.n, self.rng)
        # Each follower subscribes on a day of the year's first 300; followers are
        # numbered by that day, so "followers by day d" is a prefix.
        self.sub_day = np.sort(self.rng.integers(0, 300, self.n))
        self.by_day = np.searchsorted(self.sub_day, np.arange(HISTORY_DAYS + 1), side="right")
        task = progress.add_task("followers", total=self.n)
        self._followers(progress, task)
        self.sends = self._campaign_days()
        task = progress.add_task("events", total=self.m)
        per_day = max((self.m - self.n) // HISTORY_DAYS, 0)
        for day in range(HISTORY_DAYS):
            extra = self.m - self.n - per_day * HISTORY_DAYS if day == HISTORY_DAYS - 1 else 0
            written = self._day(day, per_day + max(extra, 0))
            progress.advance(task, written)
        self._project_subscriptions()
        task = progress.add_task("sent campaigns", total=len(self.sends))
        for day, campaign in self.sends:
            self._send(campaign, day)
            progress.advance(task)

    def _followers(self, progress: Any, task: Any) -> None:
        from fencun.audience.models import Follower

        now = _db_time(np.array([self.now.timestamp()]), self.vendor)[0]
        cols = [
            "account_id",
            "openid",
            "unionid",
            "subscribed",
            "subscribed_at",
            "subscription_changed_at",
            "subscribe_scene",
            "subscribe_scene_value",
            "tags",
            "language",
            "remark",
            "personalised",
            "first_seen_at",
            "updated_at",
        ]
        for lo in range(0, self.n, ROWS_PER_STATEMENT):
            hi = min(lo + ROWS_PER_STATEMENT, self.n)
            at = _db_time(self.start + self.sub_day[lo:hi] * 86400.0 + 36000.0, self.vendor)
            rows = [
                (
                    self.account.pk,
                    self.openids[i],
                    "",
                    True,
                    at[i - lo],
                    at[i - lo],
                    "ADD_SCENE_QR_CODE",
                    "",
                    "[]",
                    "zh_CN",
                    "",
                    True,
                    now,
                    now,
                )
                for i in range(lo, hi)
            ]
            _insert(self.vendor, Follower._meta.db_table, cols, rows)
            progress.advance(task, hi - lo)
        self.gone = np.zeros(
            self.n, dtype=np.bool_
        )  # whose last subscription event is an unsubscribe
        self.follower_pk = dict(
            Follower.objects.filter(account=self.account)
            .values_list("openid", "pk")
            .iterator(chunk_size=50_000)
        )

    def _campaign_days(self) -> list[tuple[int, Any]]:
        from fencun.campaigns.models import Campaign

        out = []
        for k in range(HISTORY_CAMPAIGNS):
            key = CATEGORIES[k % len(CATEGORIES)][0]
            campaign = Campaign.objects.create(
                account=self.account,
                name=f"历史活动{k}",
                category=self.categories[key],
                title=f"历史活动{k}",
                body="到店有礼。",
                status=Campaign.Status.DONE,
            )
            campaign.products.set(
                [p for p in self.products if p.category_id == self.categories[key].pk]
            )
            out.append((100 + k * 90, campaign))
        return out

    def _day(self, day: int, count: int, base: float | None = None) -> int:
        """Write day ``day``'s events: its new followers' subscriptions and ``count`` others."""
        from fencun.audience.models import Event

        rng = self.rng
        start = self.start + day * 86400.0 if base is None else base
        new = (
            np.arange(self.by_day[day - 1] if day > 0 else 0, self.by_day[day])
            if base is None
            else np.arange(0)
        )
        known = int(self.by_day[min(day, HISTORY_DAYS)]) or self.n
        who = rng.integers(0, known, count)
        kinds = rng.choice(len(KINDS), count, p=SHARES)
        at = np.concatenate(
            [start + 36000.0 + rng.uniform(0, 600, len(new)), start + rng.uniform(0, 86400, count)]
        )
        order = np.argsort(at, kind="stable")
        people = np.concatenate([new, who])[order]
        kind_of = np.concatenate([np.full(len(new), -1), kinds])[order]
        times = _db_time(at[order], self.vendor)
        # History arrived as it happened; the new day's events arrive now (on PostgreSQL
        # they are then folded into the plan but not yet into the saved snapshot).
        received = (
            times if base is None else _db_time(np.full(len(times), time.time()), self.vendor)
        )
        sent_before = (
            [c.pk for d, c in self.sends if d < day]
            if base is None
            else [c.pk for _, c in self.sends]
        )
        rows = []
        for i, k, t, r in zip(people.tolist(), kind_of.tolist(), times, received, strict=True):
            openid = self.openids[i]
            kind = "subscribe" if k < 0 else KINDS[k]
            if kind in ("subscribe", "unsubscribe"):
                self.gone[i] = kind == "unsubscribe"
            self.seq += 1
            rows.append(
                (
                    self.account.pk,
                    self.follower_pk[openid],
                    openid,
                    kind,
                    t,
                    r,
                    self._payload(kind, sent_before),
                    "bench",
                    f"b{self.seq}",
                )
            )
        cols = [
            "account_id",
            "follower_id",
            "openid",
            "kind",
            "occurred_at",
            "received_at",
            "payload",
            "source",
            "dedup_key",
        ]
        for lo in range(0, len(rows), ROWS_PER_STATEMENT):
            _insert(self.vendor, Event._meta.db_table, cols, rows[lo : lo + ROWS_PER_STATEMENT])
        return len(rows)

    def _project_subscriptions(self) -> None:
        """What the projection would hold: followers who unsubscribed last are not
        subscribed (the events were inserted in bulk, past the projection)."""
        from fencun.audience.models import Follower

        gone = [self.openids[i] for i in np.flatnonzero(self.gone).tolist()]
        for lo in range(0, len(gone), 5_000):
            Follower.objects.filter(account=self.account, openid__in=gone[lo : lo + 5_000]).update(
                subscribed=False
            )

    def _payload(self, kind: str, sent: list[int]) -> str:
        rng = self.rng
        if kind == "subscribe":
            return '{"scene": "ADD_SCENE_QR_CODE"}'
        if kind == "text":
            return json.dumps({"content": TEXTS[rng.integers(len(TEXTS))]}, ensure_ascii=False)
        if kind in ("click", "view"):
            return json.dumps({"key": KEYS[rng.integers(len(KEYS))]})
        if kind == "location":
            return json.dumps(
                {
                    "lat": round(23.1 + rng.normal(0, 0.2), 5),
                    "lng": round(114.4 + rng.normal(0, 0.2), 5),
                }
            )
        if kind in ("read", "link_click"):
            campaign = int(sent[rng.integers(len(sent))]) if sent else None
            sku = self.products[rng.integers(len(self.products))].sku
            return json.dumps(
                {"campaign": campaign} if kind == "read" else {"campaign": campaign, "product": sku}
            )
        if kind == "order":
            product = self.products[rng.integers(len(self.products))]
            return json.dumps(
                {"amount": float(product.price), "product": product.sku, "campaign": None}
            )
        return "{}"

    def _send(self, campaign: Any, day: int) -> None:
        """What the delivery worker and the approval leave: outbox rows sent on ``day``
        to a fifth of the followers then, and the approved plan's controls."""
        from fencun.campaigns.models import OutboxItem, PlanSnapshot

        known = int(self.by_day[day])
        chosen = np.flatnonzero(self.rng.random(known) < 0.2)
        controls = np.flatnonzero(self.rng.random(known) < 0.01)
        at = datetime.fromtimestamp(self.start + day * 86400.0 + 7200.0, UTC)
        ids = [self.openids[i] for i in chosen.tolist()]
        OutboxItem.objects.bulk_create(
            [
                OutboxItem(
                    campaign=campaign,
                    key=f"b{k:05d}",
                    openids=ids[lo : lo + 10_000],
                    clientmsgid=f"bench{campaign.pk}-{k}",
                    status=OutboxItem.Status.SENT,
                    sent_at=at,
                )
                for k, lo in enumerate(range(0, len(ids), 10_000))
            ]
        )
        PlanSnapshot.objects.create(
            campaign=campaign,
            planned_for=at,
            approved_at=at,
            reach=len(ids),
            controls=[self.openids[i] for i in controls.tolist()],
            holdout=[],
        )

    def new_day(self, count: int | None = None) -> int:
        """A day of new events (``count``, default a day's share of the log): the last 24
        hours, after the history's year."""
        per_day = count if count is not None else max((self.m - self.n) // HISTORY_DAYS, 1)
        written = self._day(HISTORY_DAYS, per_day, base=self.start + HISTORY_DAYS * 86400.0)
        self._project_subscriptions()
        return written

    def campaign_to_plan(self) -> int:
        from fencun.campaigns.services import create_campaign, lint_campaign

        sofa = self.categories["sofa"]
        campaign = create_campaign(
            self.account,
            name="新品沙发",
            category=sofa,
            title="新品布艺沙发到店",
            body="新款布艺沙发到店，欢迎试坐。",
            products=[p for p in self.products if p.category_id == sofa.pk],
        )
        lint_campaign(campaign, acknowledge_warnings=True)
        return int(campaign.pk)


def _dry_run_process(campaign_pk: int, env: dict[str, str]) -> dict[str, Any]:
    """``fencun campaign plan`` in a fresh process; its wall time measured from here."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "fencun.bench.dryrun", str(campaign_pk)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - started
    figures: dict[str, Any] = json.loads(proc.stdout)
    figures["seconds"] = seconds
    figures["load_average_before"] = round(load, 2)
    return figures


def measure_one(campaign_pk: int) -> dict[str, Any]:
    """In the child: Django set-up, the state, the plan; the parts' times and the peak."""
    t0 = time.perf_counter()
    from fencun.datadir import setup_django

    setup_django()
    from fencun.campaigns.models import Campaign
    from fencun.campaigns.planning import build_state, dry_run

    t1 = time.perf_counter()
    campaign = Campaign.objects.select_related("account").get(pk=campaign_pk)
    at = datetime.now(UTC)
    state = build_state(campaign.account, at)
    t2 = time.perf_counter()
    snapshot = dry_run(campaign, at, state=state)
    t3 = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "setup_seconds": round(t1 - t0, 3),
        "state_seconds": round(t2 - t1, 3),
        "plan_seconds": round(t3 - t2, 3),
        "reach": snapshot.reach,
        "audience": snapshot.audience,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        # CPU time of the whole process (interpreter start included): on a shared machine
        # the wall time above also holds the time other work took the cores.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
    }


def run(
    followers: int,
    events: int,
    seed: int = 0,
    *,
    new_events: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Build the history, then time the two dry runs (see the module docstring)."""
    # A data dir of its own: the SQLite database (unless DATABASE_URL is set), the
    # snapshot files and the secret key the dry-run processes share.
    os.environ["FENCUN_DATA_DIR"] = tempfile.mkdtemp(prefix="fencun-bench-dryrun-")
    from fencun.datadir import setup_django

    setup_django()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from fencun.campaigns import followerstate

    progress = _progress()
    progress.disable = quiet
    t0 = time.perf_counter()
    with progress:
        history = History(followers, events, seed)
        with transaction.atomic():
            history.build(progress)
        build = time.perf_counter() - t0
        task = progress.add_task("snapshot (rebuild from the log)", total=1)
        t1 = time.perf_counter()
        followerstate.rebuild(history.account)
        rebuild = time.perf_counter() - t1
        progress.advance(task)
        campaign = history.campaign_to_plan()
    connection.close()
    env = dict(os.environ)
    first = _dry_run_process(campaign, env)
    with transaction.atomic():
        new = history.new_day(new_events)
    connection.close()
    nxt = _dry_run_process(campaign, env)
    return {
        "bench": "dry-run",
        "followers": followers,
        "events": events,
        "database": connection.vendor,
        "seconds": round(first["seconds"], 3),
        "seconds_next": round(nxt["seconds"], 3),
        "peak_rss_mb": max(first["peak_rss_mb"], nxt["peak_rss_mb"]),
        "new_events": new,
        "first": first,
        "next": nxt,
        "build_seconds": round(build, 3),
        "rebuild_seconds": round(rebuild, 3),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def command(
    followers: int = typer.Option(
        1_000_000, "--followers", help=gettext("Followers of the account.")
    ),
    events: int = typer.Option(
        30_000_000, "--events", help=gettext("Events in the log (a year of them).")
    ),
    new_events: int = typer.Option(
        0,
        "--new-events",
        help=gettext(
            "Events of the new day before the next dry run (0: a day's share of the log)."
        ),
    ),
    seed: int = typer.Option(0),
    json_: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Time a dry run end to end over a long log, and the next after a day of events."""
    if followers < 1:
        raise typer.BadParameter(gettext("at least 1"), param_hint="--followers")
    if events < followers:
        raise typer.BadParameter(
            gettext("at least one event (the subscription) per follower"), param_hint="--events"
        )
    # The build's progress goes to stderr; stdout holds only the figures.
    figures = run(followers, events, seed, new_events=new_events or None)
    if json_:
        typer.echo(json.dumps(figures))
    else:
        for key, value in figures.items():
            typer.echo(f"{key:>16}: {value}")


if __name__ == "__main__":
    print(json.dumps(measure_one(int(sys.argv[1]))))
